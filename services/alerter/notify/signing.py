"""The webhook signature: `X-Pulse-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>...]`.

Each `v1` is HMAC-SHA256, under one of the URL's secrets, of `<t>.<X-Pulse-Delivery>.<raw body>`: the time
and the delivery id are signed with the body, so a captured request cannot be replayed later (a receiver
refuses a `t` older than its tolerance, five minutes here) nor passed off as another delivery. While a secret
is rotated, the URL has two and the request carries a `v1` for each; the receiver accepts any one it knows.
Every attempt is signed anew, at its own time.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

TOLERANCE_SECONDS = 300


def _mac(secret: str, timestamp: int, delivery_id: str, body: bytes) -> str:
    signed = f"{timestamp}.{delivery_id}.".encode() + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature(secrets: Sequence[str], timestamp: int, delivery_id: str, body: bytes) -> str:
    """The `X-Pulse-Signature` header value of `body`, sent at `timestamp` as delivery `delivery_id`."""
    if not secrets:
        raise ValueError("a webhook needs at least one secret")
    return ",".join([f"t={timestamp}", *(f"v1={_mac(s, timestamp, delivery_id, body)}" for s in secrets)])


def verify(
    secrets: Sequence[str],
    header: str | None,
    delivery_id: str,
    body: bytes,
    *,
    now: float,
    tolerance: float = TOLERANCE_SECONDS,
) -> bool:
    """True if `header` holds a `v1` of `body` and `delivery_id` under one of `secrets`, at a `t` within
    `tolerance` seconds of `now` (constant-time comparisons)."""
    if not header:
        return False
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit() and timestamp is None:
            timestamp = int(value)
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or abs(now - timestamp) > tolerance:
        return False
    expected = [_mac(s, timestamp, delivery_id, body).encode() for s in secrets]
    return any(hmac.compare_digest(e, c.encode()) for e in expected for c in candidates)
