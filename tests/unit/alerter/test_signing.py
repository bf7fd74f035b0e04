"""The webhook signature: HMAC-SHA256 over the raw body, `sha256=<hex>`."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from services.alerter.notify.signing import signature, verify

pytestmark = pytest.mark.unit

BODY = b'{"event_id":"alert.raised:al-1:1","event_type":"alert.raised","data":{"name":"Ad\xc3\xa1"}}'
SECRET = "whsec-0123456789"


def test_signature_is_hmac_sha256_hex_of_the_raw_body() -> None:
    expected = hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    assert signature(SECRET, BODY) == f"sha256={expected}"
    assert len(expected) == 64


def test_published_vector() -> None:
    # HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog"), as published (e.g. Wikipedia).
    assert signature("key", b"The quick brown fox jumps over the lazy dog") == (
        "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
    )


def test_verify_accepts_the_signature_of_the_same_bytes_only() -> None:
    header = signature(SECRET, BODY)
    assert verify(SECRET, BODY, header)
    assert verify(SECRET, BODY, f" {header} ")  # surrounding whitespace of a header value
    assert not verify(SECRET, BODY + b" ", header)  # re-serialized or tampered body
    assert not verify(SECRET, BODY.replace(b"al-1", b"al-2"), header)
    assert not verify("another-secret", BODY, header)
    assert not verify(SECRET, BODY, header.removeprefix("sha256="))
    assert not verify(SECRET, BODY, "sha256=" + "0" * 64)
    assert not verify(SECRET, BODY, "")
    assert not verify(SECRET, BODY, None)
