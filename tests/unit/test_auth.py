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
    Claims,
    InvalidToken,
    LoansScope,
    Role,
    issue_token,
    parse_loans_scope,
    verify_token,
)

pytestmark = pytest.mark.unit

SECRET = "unit-test-secret-" + "0123456789abcdef" * 4  # >= 64 bytes: HS512 (test) wants that
OTHER_SECRET = "another-secret-0123456789abcdef-0123456789ab"
FUTURE = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)


def _b64(obj: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def _payload(**extra: Any) -> dict[str, Any]:
    return {"sub": "someone", "role": "admin", "exp": int(FUTURE.timestamp()), **extra}


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
        secret=SECRET,
        branch_id=scope.get("branch_id"),
        officer_id=scope.get("officer_id"),
        client_id=scope.get("client_id"),
    )
    claims = verify_token(token, SECRET)
    assert claims.role is role
    for name in ("branch_id", "officer_id", "client_id"):
        assert getattr(claims, name) == scope.get(name)
    assert claims.exp > dt.datetime.now(dt.UTC) + dt.timedelta(hours=11)
    assert claims.exp <= dt.datetime.now(dt.UTC) + dt.timedelta(hours=12, seconds=1)
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "HS256"


def test_default_and_explicit_sub() -> None:
    assert verify_token(issue_token("admin", secret=SECRET), SECRET).sub == "admin"
    token = issue_token("loan_officer", officer_id="O1", secret=SECRET)
    assert verify_token(token, SECRET).sub == "loan_officer:O1"
    token = issue_token(Role.CLIENT, client_id="C1", sub="alice@example.com", secret=SECRET)
    assert verify_token(token, SECRET).sub == "alice@example.com"


def test_custom_ttl() -> None:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    token = issue_token(Role.ADMIN, ttl=dt.timedelta(minutes=5), secret=SECRET, now=now)
    assert verify_token(token, SECRET).exp == now + dt.timedelta(minutes=5)


def test_expired_token_is_invalid() -> None:
    token = issue_token(Role.ADMIN, ttl=dt.timedelta(seconds=-5), secret=SECRET)
    with pytest.raises(InvalidToken) as info:
        verify_token(token, SECRET)
    assert info.value.reason == "token expired"


def test_forged_token_is_invalid() -> None:
    token = issue_token(Role.ADMIN, secret=OTHER_SECRET)
    with pytest.raises(InvalidToken) as info:
        verify_token(token, SECRET)
    assert info.value.reason == "bad signature"


def test_tampered_payload_is_invalid() -> None:
    token = issue_token(Role.LOAN_OFFICER, officer_id="O1", secret=SECRET)
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
    token = jwt.encode(_payload(), SECRET, algorithm="HS512")
    with pytest.raises(InvalidToken) as info:
        verify_token(token, SECRET)
    assert info.value.reason == "algorithm not allowed"


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "Bearer xyz", "....", "é.é.é"])
def test_malformed_token_is_invalid(garbage: str) -> None:
    with pytest.raises(InvalidToken):
        verify_token(garbage, SECRET)


@pytest.mark.parametrize("missing", ["exp", "sub", "role"])
def test_required_claims(missing: str) -> None:
    payload = _payload()
    del payload[missing]
    token = jwt.encode(payload, SECRET, algorithm="HS256")
    with pytest.raises(InvalidToken) as info:
        verify_token(token, SECRET)
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
    token = jwt.encode(payload, SECRET, algorithm="HS256")
    with pytest.raises(InvalidToken) as info:
        verify_token(token, SECRET)
    assert info.value.reason.startswith("invalid claims") or "sub" in info.value.reason


def test_unknown_claims_are_ignored() -> None:
    token = jwt.encode(_payload(iat=0, nbf=0, jti="x", extra="y"), SECRET, algorithm="HS256")
    assert verify_token(token, SECRET).role is Role.ADMIN


def test_issue_token_rejects_a_role_without_its_scope() -> None:
    with pytest.raises(ValueError, match="branch_id"):
        issue_token(Role.TEAM_LEADER, secret=SECRET)
    with pytest.raises(ValueError, match="officer_id"):
        issue_token(Role.LOAN_OFFICER, branch_id="B1", secret=SECRET)
    with pytest.raises(ValueError, match="client_id"):
        issue_token(Role.CLIENT, secret=SECRET)
    with pytest.raises(ValueError, match="superuser"):
        issue_token("superuser", secret=SECRET)


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
