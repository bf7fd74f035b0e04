"""The webhook signature: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<delivery id>.<raw body>">`, one `v1`
per secret of the URL."""

from __future__ import annotations

import pytest

from services.alerter.notify.signing import signature, verify

pytestmark = pytest.mark.unit

BODY = b'{"a":1}'
SECRET = "whsec_0123456789abcdef0123456789abcdef"
ROTATED = "whsec_rotated-fedcba9876543210fedcba987654"
T = 1_700_000_000
# Worked out with another implementation:
#   echo -n '1700000000.dl-1.{"a":1}' | openssl dgst -sha256 -hmac '<secret>'
V1_SECRET = "06e3b33359eb1310f773738f7d59df184bd852de8261c326dec36e38810e3ef1"
V1_ROTATED = "499a6f5830bdce7f05d3d902885fbd482a600c6e9e4b7647cabe8a9f2f928701"


def test_the_header_is_the_time_and_a_v1_per_secret() -> None:
    assert signature([SECRET], T, "dl-1", BODY) == f"t={T},v1={V1_SECRET}"
    assert signature([SECRET, ROTATED], T, "dl-1", BODY) == f"t={T},v1={V1_SECRET},v1={V1_ROTATED}"
    with pytest.raises(ValueError, match="at least one secret"):
        signature([], T, "dl-1", BODY)


def test_verify_accepts_the_same_bytes_delivery_and_a_known_secret_only() -> None:
    header = signature([SECRET], T, "dl-1", BODY)
    assert verify([SECRET], header, "dl-1", BODY, now=T)
    assert verify([ROTATED, SECRET], header, "dl-1", BODY, now=T)  # the receiver knows both while rotating
    assert not verify([ROTATED], header, "dl-1", BODY, now=T)
    assert not verify([SECRET], header, "dl-2", BODY, now=T)  # the same body passed off as another delivery
    assert not verify([SECRET], header, "dl-1", BODY + b" ", now=T)  # re-serialised or tampered
    assert not verify([SECRET], header.replace(f"t={T}", f"t={T + 1}"), "dl-1", BODY, now=T)  # time changed
    assert not verify([SECRET], f"t={T},v1={'0' * 64}", "dl-1", BODY, now=T)
    assert not verify([SECRET], f"v1={V1_SECRET}", "dl-1", BODY, now=T)  # no time
    assert not verify([SECRET], "", "dl-1", BODY, now=T)
    assert not verify([SECRET], None, "dl-1", BODY, now=T)


def test_a_receiver_knowing_only_the_new_secret_accepts_a_request_signed_during_the_rotation() -> None:
    header = signature([SECRET, ROTATED], T, "dl-1", BODY)
    assert verify([ROTATED], header, "dl-1", BODY, now=T)
    assert verify([SECRET], header, "dl-1", BODY, now=T)


def test_a_request_older_or_later_than_five_minutes_is_refused() -> None:
    header = signature([SECRET], T, "dl-1", BODY)
    assert verify([SECRET], header, "dl-1", BODY, now=T + 300)
    assert not verify([SECRET], header, "dl-1", BODY, now=T + 301)  # a replay
    assert verify([SECRET], header, "dl-1", BODY, now=T - 300)
    assert not verify([SECRET], header, "dl-1", BODY, now=T - 301)
    assert verify([SECRET], header, "dl-1", BODY, now=T + 3600, tolerance=3600)
