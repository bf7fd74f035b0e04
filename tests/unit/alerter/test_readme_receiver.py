"""The receiver the README shows verifies what the alerter signs, and refuses what it must: the README's own
code, run here, so that what people copy stays right."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from services.alerter.notify.plan import Delivery
from services.alerter.notify.send import webhook_headers

pytestmark = pytest.mark.unit

README = Path(__file__).resolve().parents[3] / "README.md"
SECRET = "the-receivers-secret-0123456789abcdef"
NEW_SECRET = "the-receivers-next-secret-fedcba987654"
T = 1_796_536_800


def readme_receiver() -> Callable[..., bool]:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
    (code,) = [b for b in blocks if "def pulse_webhook_is_genuine" in b]
    namespace: dict[str, Any] = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102  # our own README, the point of the test
    return namespace["pulse_webhook_is_genuine"]  # type: ignore[no-any-return]


def delivery(payload: bytes = b'{"event_type":"alert.raised"}') -> Delivery:
    return Delivery(
        delivery_id="dl-1",
        alert_id="al-1",
        alert_event="alert.raised",
        channel="webhook",
        recipient="https://hooks.example/pulse",
        subject=None,
        body_text=None,
        body_html=None,
        payload=payload,
        deadline=dt.datetime(2026, 12, 6, tzinfo=dt.UTC),
    )


def sent(secrets: list[str], d: Delivery | None = None) -> tuple[dict[str, str], bytes]:
    d = d or delivery()
    headers = {k.lower(): v for k, v in webhook_headers(d, secrets, now=T).items()}
    assert d.payload is not None
    return headers, d.payload


def test_the_readme_receiver_accepts_what_the_alerter_signs() -> None:
    genuine = readme_receiver()
    headers, body = sent([SECRET])
    assert genuine(headers, body, [SECRET], now=T)
    assert genuine(headers, body, [SECRET], now=T + 299)
    assert genuine(headers, body, [NEW_SECRET, SECRET], now=T)


def test_during_a_rotation_a_receiver_knowing_either_secret_accepts() -> None:
    genuine = readme_receiver()
    headers, body = sent([NEW_SECRET, SECRET])
    assert genuine(headers, body, [SECRET], now=T)
    assert genuine(headers, body, [NEW_SECRET], now=T)


def test_the_readme_receiver_refuses_replays_forgeries_and_tampering() -> None:
    genuine = readme_receiver()
    headers, body = sent([SECRET])
    assert not genuine(headers, body, [SECRET], now=T + 301)  # replayed six minutes later
    assert not genuine(headers, body, [NEW_SECRET], now=T)  # signed by another secret
    assert not genuine(headers, body + b" ", [SECRET], now=T)
    assert not genuine({**headers, "x-pulse-delivery": "dl-2"}, body, [SECRET], now=T)
    assert not genuine({k: v for k, v in headers.items() if k != "x-pulse-signature"}, body, [SECRET], now=T)
    restamped = headers["x-pulse-signature"].replace(f"t={T}", f"t={T + 200}")
    assert not genuine({**headers, "x-pulse-signature": restamped}, body, [SECRET], now=T + 200)
