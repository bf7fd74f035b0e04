"""The webhook signature (CONTRACT §2): HMAC-SHA256 over the raw body, sent as `X-Pulse-Signature: sha256=<hex>`.

A receiver verifies it over the bytes it received, before parsing them, with the shared secret.
"""

from __future__ import annotations

import hashlib
import hmac

PREFIX = "sha256="


def signature(secret: str, body: bytes) -> str:
    """The `X-Pulse-Signature` header value of `body`."""
    return PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """True if `header` is the signature of `body` under `secret` (constant-time comparison)."""
    if not header:
        return False
    return hmac.compare_digest(signature(secret, body).encode(), header.strip().encode())
