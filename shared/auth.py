"""Tokens, roles and loans scopes (CONTRACT §4), shared by the gateway and the `pulse` CLI.

No web framework here: the gateway turns `InvalidToken` into a 401 and decides who may read what with
its access policy (`services/gateway/access.py`); the CLI only issues tokens.

Tokens are HS256 JWTs carrying `sub`, `role`, `exp` and the scope claim of the role:
`branch_id` (team_leader), `officer_id` (loan_officer) or `client_id` (client).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal, Self

import jwt
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from shared.events.types import IDENTIFIER_PATTERN, Identifier

ALGORITHM = "HS256"
DEFAULT_TTL = dt.timedelta(hours=12)

_REQUIRED_CLAIMS = ["exp", "sub", "role"]
_IDENTIFIER_RE = re.compile(IDENTIFIER_PATTERN)


class Role(StrEnum):
    ADMIN = "admin"
    TEAM_LEADER = "team_leader"
    LOAN_OFFICER = "loan_officer"
    CLIENT = "client"


# The scope claim each role must carry (admin needs none).
SCOPE_CLAIM: dict[Role, str] = {
    Role.TEAM_LEADER: "branch_id",
    Role.LOAN_OFFICER: "officer_id",
    Role.CLIENT: "client_id",
}


class InvalidToken(Exception):  # noqa: N818 - the name the contract of this module promises
    """Any reason a bearer token is not accepted: expired, forged, malformed, wrong algorithm, bad claims."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Claims(BaseModel):
    """The verified claims of a caller. Unknown claims (`iat`, `nbf`, …) are ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    sub: str = Field(min_length=1)
    role: Role
    exp: dt.datetime
    branch_id: Identifier | None = None
    officer_id: Identifier | None = None
    client_id: Identifier | None = None

    @model_validator(mode="after")
    def _role_has_its_scope(self) -> Self:
        claim = SCOPE_CLAIM.get(self.role)
        if claim is not None and getattr(self, claim) is None:
            raise ValueError(f"role {self.role.value} requires claim {claim}")
        return self


def issue_token(
    role: Role | str,
    *,
    sub: str | None = None,
    branch_id: str | None = None,
    officer_id: str | None = None,
    client_id: str | None = None,
    ttl: dt.timedelta = DEFAULT_TTL,
    secret: str,
    now: dt.datetime | None = None,
) -> str:
    """Sign an HS256 token. Raises `ValueError` (a pydantic `ValidationError`) if the role lacks its scope id.

    `sub` defaults to `<role>` for admin and `<role>:<scope id>` otherwise.
    """
    role = Role(role)
    issued_at = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    if sub is None:
        claim = SCOPE_CLAIM.get(role)
        scope_id = {
            "branch_id": branch_id,
            "officer_id": officer_id,
            "client_id": client_id,
        }.get(claim or "")
        sub = f"{role.value}:{scope_id}" if scope_id else role.value
    claims = Claims(
        sub=sub,
        role=role,
        exp=issued_at + ttl,
        branch_id=branch_id,
        officer_id=officer_id,
        client_id=client_id,
    )
    payload: dict[str, Any] = {
        "sub": claims.sub,
        "role": claims.role.value,
        "iat": int(issued_at.timestamp()),
        "exp": int(claims.exp.timestamp()),
    }
    for name in ("branch_id", "officer_id", "client_id"):
        value = getattr(claims, name)
        if value is not None:
            payload[name] = value
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


def verify_token(token: str, secret: str) -> Claims:
    """Verify signature (HS256 only), expiry and claims. Any failure raises `InvalidToken`."""
    try:
        payload = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={"require": _REQUIRED_CLAIMS},
        )
    except jwt.ExpiredSignatureError as exc:
        raise InvalidToken("token expired") from exc
    except jwt.InvalidSignatureError as exc:
        raise InvalidToken("bad signature") from exc
    except jwt.InvalidAlgorithmError as exc:
        raise InvalidToken("algorithm not allowed") from exc
    except jwt.MissingRequiredClaimError as exc:
        raise InvalidToken(f"missing claim {exc.claim}") from exc
    except jwt.DecodeError as exc:
        raise InvalidToken("malformed token") from exc
    except jwt.PyJWTError as exc:
        raise InvalidToken(f"invalid token: {exc}") from exc
    except (
        ValueError,
        TypeError,
    ) as exc:  # defensive: odd input must never escape as a 500
        raise InvalidToken("malformed token") from exc
    try:
        return Claims.model_validate(payload)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'claims'}: {err['msg']}" for err in exc.errors()
        )
        raise InvalidToken(f"invalid claims: {problems}") from exc


# --- scopes -------------------------------------------------------------------------------------------

LoansScopeKind = Literal["all", "branch", "officer"]


@dataclass(frozen=True, slots=True)
class LoansScope:
    """A loans (and alerts) scope: `all`, `branch:<id>` or `officer:<id>`."""

    kind: LoansScopeKind
    id: str | None = None

    def __str__(self) -> str:
        return self.kind if self.id is None else f"{self.kind}:{self.id}"


def parse_loans_scope(text: str) -> LoansScope:
    """Parse `all`, `branch:<id>` or `officer:<id>`; anything else raises `ValueError`."""
    if text == "all":
        return LoansScope("all")
    kind, sep, ident = text.partition(":")
    if not sep or kind not in ("branch", "officer"):
        raise ValueError(f"invalid scope {text!r}: expected all, branch:<id> or officer:<id>")
    if not _IDENTIFIER_RE.fullmatch(ident):
        raise ValueError(f"invalid scope {text!r}: bad {kind} id")
    return LoansScope("branch" if kind == "branch" else "officer", ident)
