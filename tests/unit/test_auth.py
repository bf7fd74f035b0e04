"""shared.auth: tokens, claims validation and scope syntax (CONTRACT §4). Who may read which scope is the
gateway's access policy: tests/unit/gateway/test_access.py."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import jwt
import pytest
from pydantic import ValidationError

from shared.auth import (
    API_AUDIENCE,
    ISSUER,
    SIGNIN_AUDIENCE,
    Claims,
    InvalidToken,
    LoansScope,
    Role,
    SigningKeys,
    TokenRules,
    issue_token,
    parse_loans_scope,
    verify_token,
)

pytestmark = pytest.mark.unit

SECRET = "unit-test-secret-" + "0123456789abcdef" * 4  # >= 64 bytes: HS512 (test) wants that
OTHER_SECRET = "another-secret-0123456789abcdef-0123456789ab"
FUTURE = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
PERSON = "ada@bank.test"


def _b64(obj: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def _payload(**changes: Any) -> dict[str, Any]:
    now = int(dt.datetime.now(dt.UTC).timestamp())
    payload = {
        "iss": ISSUER,
        "aud": API_AUDIENCE,
        "sub": "someone",
        "role": "admin",
        "iat": now,
        "exp": now + 3600,
        "jti": "j-1",
    }
    return {**payload, **changes}


def _signed(payload: dict[str, Any], secret: str = SECRET, algorithm: str = "HS256") -> str:
    """A token signed by hand (not by `issue_token`), named by the key's id as Pulse names it."""
    return jwt.encode(payload, secret, algorithm=algorithm, headers={"kid": SigningKeys.kid_of(secret)})


# --- tokens -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "scope"),
    [
        (Role.ADMIN, {}),
        (Role.TEAM_LEADER, {"branch_id": "B1"}),
        (Role.LOAN_OFFICER, {"officer_id": "O1"}),
        (Role.CLIENT, {"client_id": "C-1"}),
    ],
)
def test_token_round_trip(role: Role, scope: dict[str, str]) -> None:
    token = issue_token(
        role,
        sub=PERSON,
        secret=SECRET,
        branch_id=scope.get("branch_id"),
        officer_id=scope.get("officer_id"),
        client_id=scope.get("client_id"),
    )
    claims = verify_token(token, SECRET)
    assert claims.role is role
    assert claims.sub == PERSON
    for name in ("branch_id", "officer_id", "client_id"):
        assert getattr(claims, name) == scope.get(name)
    assert claims.exp > dt.datetime.now(dt.UTC) + dt.timedelta(hours=11)
    assert claims.exp <= dt.datetime.now(dt.UTC) + dt.timedelta(hours=12, seconds=1)
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "HS256"
    payload = jwt.decode(token, options={"verify_signature": False})
    assert (payload["iss"], payload["aud"]) == ("pulse", "pulse-gateway")
    assert payload["exp"] - payload["iat"] == 12 * 3600
    assert len(payload["jti"]) >= 16


def test_every_token_has_its_own_id() -> None:
    ids = {verify_token(issue_token(Role.ADMIN, sub=PERSON, secret=SECRET), SECRET).jti for _ in range(20)}
    assert len(ids) == 20


def test_custom_ttl() -> None:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    token = issue_token(Role.ADMIN, sub=PERSON, ttl=dt.timedelta(minutes=5), secret=SECRET, now=now)
    assert verify_token(token, SECRET).exp == now + dt.timedelta(minutes=5)


def test_expired_token_is_invalid_after_the_leeway_only() -> None:
    just_expired = issue_token(Role.ADMIN, sub=PERSON, ttl=dt.timedelta(seconds=-30), secret=SECRET)
    assert verify_token(just_expired, SECRET).sub == PERSON  # within a minute of clock difference
    token = issue_token(Role.ADMIN, sub=PERSON, ttl=dt.timedelta(seconds=-61), secret=SECRET)
    with pytest.raises(InvalidToken) as info:
        verify_token(token, SECRET)
    assert info.value.reason == "token expired"
    strict = TokenRules(leeway=dt.timedelta(0))
    with pytest.raises(InvalidToken, match="expired"):
        verify_token(just_expired, SECRET, rules=strict)


def test_a_token_issued_a_little_ahead_is_accepted_but_not_far_ahead() -> None:
    ahead = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5)
    assert verify_token(issue_token(Role.ADMIN, sub=PERSON, secret=SECRET, now=ahead), SECRET).sub == PERSON
    far = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
    with pytest.raises(InvalidToken, match="not valid yet"):
        verify_token(issue_token(Role.ADMIN, sub=PERSON, secret=SECRET, now=far), SECRET)


def test_a_token_living_longer_than_allowed_is_invalid() -> None:
    token = issue_token(Role.ADMIN, sub=PERSON, ttl=dt.timedelta(days=365 * 31), secret=SECRET)
    with pytest.raises(InvalidToken, match="longer than allowed"):
        verify_token(token, SECRET)
    day = issue_token(Role.ADMIN, sub=PERSON, ttl=dt.timedelta(hours=24), secret=SECRET)
    assert verify_token(day, SECRET).role is Role.ADMIN
    with pytest.raises(InvalidToken, match="longer than allowed"):
        verify_token(day, SECRET, rules=TokenRules(max_lifetime=dt.timedelta(hours=12)))


def test_forged_token_is_invalid() -> None:
    token = issue_token(Role.ADMIN, sub=PERSON, secret=OTHER_SECRET)
    with pytest.raises(InvalidToken) as info:
        verify_token(token, SECRET)
    assert info.value.reason == "unknown signing key"
    # Naming the right key does not help a wrong signature.
    forged = _signed(_payload(), OTHER_SECRET)
    header, payload, signature = forged.split(".")
    header = _b64({"alg": "HS256", "typ": "JWT", "kid": SigningKeys.kid_of(SECRET)})
    with pytest.raises(InvalidToken) as info:
        verify_token(".".join([header, payload, signature]), SECRET)
    assert info.value.reason == "bad signature"


def test_keys_rotate_the_first_signs_and_every_one_verifies() -> None:
    old = issue_token(Role.ADMIN, sub=PERSON, secret=OTHER_SECRET)
    rotated = SigningKeys([SECRET, OTHER_SECRET])
    new = issue_token(Role.ADMIN, sub=PERSON, secret=rotated)
    assert jwt.get_unverified_header(new)["kid"] == SigningKeys.kid_of(SECRET)
    assert verify_token(old, rotated).sub == PERSON  # issued before the rotation, still valid
    assert verify_token(new, SECRET).sub == PERSON
    with pytest.raises(InvalidToken, match="unknown signing key"):
        verify_token(old, SECRET)  # the old key dropped


def test_the_key_id_reveals_nothing_of_the_key() -> None:
    kid = SigningKeys.kid_of(SECRET)
    assert len(kid) == 16
    assert kid not in SECRET
    assert kid != SigningKeys.kid_of(OTHER_SECRET)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"iss": "someone-else"}, "wrong issuer"),
        ({"aud": "another-service"}, "wrong audience"),
        ({"aud": SIGNIN_AUDIENCE}, "wrong audience"),  # a sign-in link is not a bearer token
    ],
)
def test_issuer_and_audience_must_be_pulses(changes: dict[str, Any], reason: str) -> None:
    with pytest.raises(InvalidToken) as info:
        verify_token(_signed(_payload(**changes)), SECRET)
    assert info.value.reason == reason


def test_a_sign_in_link_is_verified_for_its_own_audience_only() -> None:
    link = issue_token(Role.ADMIN, sub=PERSON, secret=SECRET, audience=SIGNIN_AUDIENCE)
    assert verify_token(link, SECRET, audience=SIGNIN_AUDIENCE).sub == PERSON
    with pytest.raises(InvalidToken, match="wrong audience"):
        verify_token(link, SECRET)
    with pytest.raises(InvalidToken, match="wrong audience"):
        verify_token(issue_token(Role.ADMIN, sub=PERSON, secret=SECRET), SECRET, audience=SIGNIN_AUDIENCE)


def test_tampered_payload_is_invalid() -> None:
    token = issue_token(Role.LOAN_OFFICER, sub=PERSON, officer_id="O1", secret=SECRET)
    header, _, signature = token.split(".")
    forged = ".".join([header, _b64(_payload(role="admin")), signature])
    with pytest.raises(InvalidToken):
        verify_token(forged, SECRET)


def test_alg_none_token_is_invalid() -> None:
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_payload())}."
    with pytest.raises(InvalidToken):
        verify_token(unsigned, SECRET)
    also_unsigned = jwt.encode(_payload(), "", algorithm="none")
    with pytest.raises(InvalidToken):
        verify_token(also_unsigned, SECRET)


def test_hs512_token_is_invalid_even_with_the_right_secret() -> None:
    token = _signed(_payload(), SECRET, algorithm="HS512")
    with pytest.raises(InvalidToken) as info:
        verify_token(token, SECRET)
    assert info.value.reason == "algorithm not allowed"


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "Bearer xyz", "....", "é.é.é"])
def test_malformed_token_is_invalid(garbage: str) -> None:
    with pytest.raises(InvalidToken):
        verify_token(garbage, SECRET)


@pytest.mark.parametrize("missing", ["iss", "aud", "sub", "role", "iat", "exp", "jti"])
def test_required_claims(missing: str) -> None:
    payload = _payload()
    del payload[missing]
    with pytest.raises(InvalidToken) as info:
        verify_token(_signed(payload), SECRET)
    assert missing in info.value.reason


@pytest.mark.parametrize(
    "payload",
    [
        _payload(role="superuser"),
        _payload(role="loan_officer"),  # no officer_id
        _payload(role="team_leader", officer_id="O1"),  # no branch_id
        _payload(role="client"),  # no client_id
        _payload(role="client", client_id="bad id with spaces"),
        _payload(sub=""),
    ],
)
def test_signed_token_with_bad_claims_is_invalid(payload: dict[str, Any]) -> None:
    with pytest.raises(InvalidToken) as info:
        verify_token(_signed(payload), SECRET)
    assert info.value.reason.startswith("invalid claims") or "sub" in info.value.reason


def test_unknown_claims_are_ignored() -> None:
    token = _signed(_payload(nbf=0, extra="y"))
    assert verify_token(token, SECRET).role is Role.ADMIN


def test_issue_token_rejects_a_role_without_its_scope() -> None:
    with pytest.raises(ValueError, match="branch_id"):
        issue_token(Role.TEAM_LEADER, sub=PERSON, secret=SECRET)
    with pytest.raises(ValueError, match="officer_id"):
        issue_token(Role.LOAN_OFFICER, sub=PERSON, branch_id="B1", secret=SECRET)
    with pytest.raises(ValueError, match="client_id"):
        issue_token(Role.CLIENT, sub=PERSON, secret=SECRET)
    with pytest.raises(ValueError, match="superuser"):
        issue_token("superuser", sub=PERSON, secret=SECRET)


# --- claims -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "good", "bad"),
    [
        (Role.TEAM_LEADER, {"branch_id": "B1"}, {"officer_id": "O1"}),
        (Role.LOAN_OFFICER, {"officer_id": "O1"}, {"branch_id": "B1"}),
        (Role.CLIENT, {"client_id": "C1"}, {"officer_id": "O1"}),
    ],
)
def test_claims_require_the_scope_of_the_role(role: Role, good: dict[str, str], bad: dict[str, str]) -> None:
    assert Claims(sub="x", role=role, exp=FUTURE, **good).role is role
    with pytest.raises(ValidationError):
        Claims(sub="x", role=role, exp=FUTURE, **bad)
    with pytest.raises(ValidationError):
        Claims(sub="x", role=role, exp=FUTURE)


def test_admin_claims_need_no_scope() -> None:
    assert Claims(sub="root", role=Role.ADMIN, exp=FUTURE).branch_id is None


def test_claims_parse_a_numeric_exp() -> None:
    claims = Claims.model_validate({"sub": "x", "role": "admin", "exp": 1_700_000_000})
    assert claims.exp == dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=dt.UTC)


# --- scopes -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("all", LoansScope("all")),
        ("branch:B1", LoansScope("branch", "B1")),
        ("officer:O-1.x", LoansScope("officer", "O-1.x")),
        ("officer:a:b", LoansScope("officer", "a:b")),
    ],
)
def test_parse_loans_scope(text: str, expected: LoansScope) -> None:
    assert parse_loans_scope(text) == expected
    assert str(expected) == text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "ALL",
        "all:",
        "branch",
        "branch:",
        "officer:",
        "client:C1",
        "Branch:B1",
        "branch:a b",
        "branch:x\n",
    ],
)
def test_parse_loans_scope_rejects_bad_syntax(text: str) -> None:
    with pytest.raises(ValueError, match="invalid scope"):
        parse_loans_scope(text)
