"""Failpoints: a process misbehaves at a named point when `PULSE_FAILPOINT` names it. Tests use them to
fail at an exact moment; unset in production, they cost one dictionary look-up.

`PULSE_FAILPOINT=<point>` kills the process there (SIGKILL); `PULSE_FAILPOINT=<point>:raise:<n>` raises
a RuntimeError there the first n times instead.
"""

from __future__ import annotations

import os
import signal

_raised: dict[str, int] = {}


def hit(point: str) -> None:
    spec = os.environ.get("PULSE_FAILPOINT")
    if not spec:
        return
    name, _, action = spec.partition(":")
    if name != point:
        return
    if not action:
        os.kill(os.getpid(), signal.SIGKILL)
    kind, _, times = action.partition(":")
    if kind == "raise" and _raised.get(point, 0) < int(times or "1"):
        _raised[point] = _raised.get(point, 0) + 1
        raise RuntimeError(f"failpoint {point} ({_raised[point]})")
