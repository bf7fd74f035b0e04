"""Failpoints: a process kills itself at a named point when `PULSE_FAILPOINT` names it. Tests use them to
crash a service at an exact moment (e.g. after the database commit, before the offset commit); unset in
production, they cost one dictionary look-up."""

from __future__ import annotations

import os
import signal


def hit(point: str) -> None:
    if os.environ.get("PULSE_FAILPOINT") == point:
        os.kill(os.getpid(), signal.SIGKILL)
