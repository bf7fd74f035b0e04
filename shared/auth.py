"""Tokens, roles and loans scopes (CONTRACT §4), shared by the gateway and the `pulse` CLI.

No web framework here: the gateway turns `InvalidToken` into a 401 and decides who may read what with
its access policy (`services/gateway/access.py`); the CLI only issues tokens.

The tokens Pulse signs itself (`pulse token`, the gateway's sessions) are HS256 JWTs carrying `iss` (`pulse`),
`aud`, `sub` (a person), `role`, `iat`, `exp`, `jti` and the scope claim of the role: `branch_id`
(team_leader), `officer_id` (loan_officer) or `client_id` (client). Their header names the key (`kid`) of
`SigningKeys`: the first key signs, every key verifies, so a key is rotated by putting the new one first and
dropping the old one once its tokens have expired. Tokens of an OpenID Connect provider are verified by the
gateway (`services/gateway/identity.py`) under the same `TokenRules`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal, Self

import jwt
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from shared.events.types import IDENTIFIER_PATTERN, Identifier

ALGORITHM = "HS256"
ISSUER = "pulse"
# The audience of a token for the API (and of a session), and of a one-time sign-in link: a link is never
# accepted as a bearer token, nor a bearer token as a link.
API_AUDIENCE = "pulse-gateway"
SIGNIN_AUDIENCE = "pulse-signin"
DEFAULT_TTL = dt.timedelta(hours=12)

# Every token's; an identity provider's carry the person and the role under names of their own (mapped).
REGISTERED_CLAIMS = ("iss", "aud", "iat", "exp", "jti")
_REQUIRED_CLAIMS = (*REGISTERED_CLAIMS, "sub", "role")
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
    """The verified claims of a caller. Unknown claims (`nbf`, `azp`, …) are ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    sub: str = Field(min_length=1)
    role: Role
    exp: dt.datetime
    iat: dt.datetime | None = None
    jti: str | None = None
    branch_id: Identifier | None = None
    officer_id: Identifier | None = None
    client_id: Identifier | None = None

    @model_validator(mode="after")
    def _role_has_its_scope(self) -> Self:
        claim = SCOPE_CLAIM.get(self.role)
        if claim is not None and getattr(self, claim) is None:
            raise ValueError(f"role {self.role.value} requires claim {claim}")
        return self


@dataclass(frozen=True, slots=True)
class TokenRules:
    """What every token must satisfy beyond its signature."""

    # Clocks differ: a token is accepted this long before its `iat` and after its `exp`.
    leeway: dt.timedelta = dt.timedelta(seconds=60)
    # `exp - iat` at most: a token cannot be made to live for years.
    max_lifetime: dt.timedelta = dt.timedelta(hours=24)


class SigningKeys:
    """HS256 secrets: the first signs, every one verifies (rotation). A key is named in the token's header by
    its `kid`, a digest that reveals nothing of it."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("no signing key")
        self._by_kid = {self.kid_of(k): k for k in keys}
        self.signing = keys[0]

    @staticmethod
    def kid_of(key: str) -> str:
        return hashlib.sha256(b"pulse-jwt-kid:" + key.encode()).hexdigest()[:16]

    def find(self, kid: object) -> str | None:
        return self._by_kid.get(kid) if isinstance(kid, str) else None


def _keys(keys: SigningKeys | str) -> SigningKeys:
    return keys if isinstance(keys, SigningKeys) else SigningKeys([keys])


def issue_token(
    role: Role | str,
    *,
    sub: str,
    branch_id: str | None = None,
    officer_id: str | None = None,
    client_id: str | None = None,
    ttl: dt.timedelta = DEFAULT_TTL,
    secret: SigningKeys | str,
    audience: str = API_AUDIENCE,
    now: dt.datetime | None = None,
) -> str:
    """Sign an HS256 token for person `sub`. Raises `ValueError` (a pydantic `ValidationError`) if the role
    lacks its scope id."""
    keys = _keys(secret)
    issued_at = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    claims = Claims(
        sub=sub,
        role=Role(role),
        exp=issued_at + ttl,
        iat=issued_at,
        jti=secrets.token_urlsafe(16),
        branch_id=branch_id,
        officer_id=officer_id,
        client_id=client_id,
    )
    return sign(claims, keys, audience=audience)


def sign(claims: Claims, keys: SigningKeys, *, audience: str = API_AUDIENCE) -> str:
    """`claims` as an HS256 token of `audience`, signed with the signing key."""
    if claims.iat is None or claims.jti is None:
        raise ValueError("claims to sign need iat and jti")
    payload: dict[str, Any] = {
        "iss": ISSUER,
        "aud": audience,
        "sub": claims.sub,
        "role": claims.role.value,
        "iat": int(claims.iat.timestamp()),
        "exp": int(claims.exp.timestamp()),
        "jti": claims.jti,
    }
    for name in SCOPE_CLAIM.values():
        value = getattr(claims, name)
        if value is not None:
            payload[name] = value
    return jwt.encode(payload, keys.signing, algorithm=ALGORITHM, headers={"kid": SigningKeys.kid_of(keys.signing)})


def verify_token(
    token: str,
    secret: SigningKeys | str,
    *,
    rules: TokenRules | None = None,
    audience: str = API_AUDIENCE,
) -> Claims:
    """Verify a token Pulse signed: signature (HS256 only, by its `kid`), issuer, audience, times and claims.
    Any failure raises `InvalidToken`."""
    keys = _keys(secret)
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise InvalidToken("malformed token") from exc
    if header.get("alg") != ALGORITHM:
        raise InvalidToken("algorithm not allowed")
    key = keys.find(header.get("kid"))
    if key is None:
        raise InvalidToken("unknown signing key")
    payload = decode(token, key, algorithms=[ALGORITHM], issuer=ISSUER, audience=audience, rules=rules)
    return claims_of(payload, rules)


def decode(
    token: str,
    key: Any,
    *,
    algorithms: list[str],
    issuer: str,
    audience: str,
    rules: TokenRules | None = None,
    required: Sequence[str] = _REQUIRED_CLAIMS,
) -> dict[str, Any]:
    """The payload of `token` once its signature, `iss`, `aud`, `exp` and `iat` hold (with the leeway) and the
    `required` claims are there."""
    rules = rules or TokenRules()
    try:
        payload: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=algorithms,
            issuer=issuer,
            audience=audience,
            leeway=rules.leeway,
            options={"require": list(required)},
        )
    except jwt.ExpiredSignatureError as exc:
        raise InvalidToken("token expired") from exc
    except jwt.InvalidSignatureError as exc:
        raise InvalidToken("bad signature") from exc
    except jwt.InvalidAlgorithmError as exc:
        raise InvalidToken("algorithm not allowed") from exc
    except jwt.MissingRequiredClaimError as exc:
        raise InvalidToken(f"missing claim {exc.claim}") from exc
    except jwt.InvalidIssuerError as exc:
        raise InvalidToken("wrong issuer") from exc
    except jwt.InvalidAudienceError as exc:
        raise InvalidToken("wrong audience") from exc
    except jwt.ImmatureSignatureError as exc:
        raise InvalidToken("token not valid yet") from exc
    except jwt.DecodeError as exc:
        raise InvalidToken("malformed token") from exc
    except jwt.PyJWTError as exc:
        raise InvalidToken(f"invalid token: {exc}") from exc
    except (ValueError, TypeError) as exc:  # defensive: odd input must never escape as a 500
        raise InvalidToken("malformed token") from exc
    return payload


def claims_of(payload: Mapping[str, Any], rules: TokenRules | None = None) -> Claims:
    """The `Claims` of a verified payload, once its lifetime is within the rules."""
    rules = rules or TokenRules()
    try:
        claims = Claims.model_validate(payload)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'claims'}: {err['msg']}" for err in exc.errors()
        )
        raise InvalidToken(f"invalid claims: {problems}") from exc
    if claims.iat is None or claims.jti is None:
        raise InvalidToken("missing claim iat or jti")
    if claims.iat > dt.datetime.now(dt.UTC) + rules.leeway:
        raise InvalidToken("token issued in the future")
    if claims.exp - claims.iat > rules.max_lifetime:
        raise InvalidToken("token lives longer than allowed")
    return claims


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
