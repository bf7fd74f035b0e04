"""The verifier when what it reads is away: an identity provider that does not answer, a database that does
not answer. Tokens are refused (or the last revocations stand); nothing escapes as a 500."""

from __future__ import annotations

import datetime as dt

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from services.gateway.db import Database
from services.gateway.identity import Authenticator, OidcKeys, Revocations, VerifiedTokens
from shared.auth import Claims, InvalidToken, Role, SigningKeys, TokenRules, issue_token

pytestmark = pytest.mark.unit

DOWN = "http://127.0.0.1:1/realms/pulse"  # nothing listens on port 1
CLOSED_DB = "postgresql://x:y@127.0.0.1:1/z"


def provider_token(issuer: str) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(dt.datetime.now(dt.UTC).timestamp())
    claims = {"iss": issuer, "aud": "pulse-gateway", "sub": "u1", "preferred_username": "nia",
              "pulse_role": "admin", "iat": now, "exp": now + 300, "jti": "j1"}  # fmt: skip
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})


async def test_an_unreachable_provider_gives_no_key() -> None:
    keys = OidcKeys(DOWN, min_interval=0.0)
    assert await keys.key("k1") is None
    assert await keys.key("k1") is None  # asked again, read again, still nothing


async def test_a_token_of_an_unreachable_provider_is_refused_not_an_error() -> None:
    db = Database(CLOSED_DB, connect_timeout=0.5)
    authenticator = Authenticator(
        keys=None,
        rules=TokenRules(),
        revocations=Revocations(db, refresh=5.0),
        oidc=OidcKeys(DOWN, min_interval=0.0),
        oidc_audience="pulse-gateway",
        oidc_claims={"sub": "preferred_username", "role": "pulse_role"},
    )
    with pytest.raises(InvalidToken, match="unknown signing key"):
        await authenticator.verify(provider_token(DOWN))
    await db.close()


async def test_revocations_of_an_unreachable_database_are_the_last_ones_read() -> None:
    db = Database(CLOSED_DB, connect_timeout=0.5)
    revocations = Revocations(db, refresh=0.0)
    assert not await revocations.is_revoked("j1")  # nothing read yet: nothing revoked, and no exception
    await db.close()


# --- verified tokens, kept a few seconds ----------------------------------------------------------------------

SECRET = "a-unit-test-secret-of-at-least-32-chars"
OTHER_SECRET = "another-unit-test-secret-of-32-chars-x"
T0 = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self, at: dt.datetime) -> None:
        self.now = at.timestamp()

    def __call__(self) -> float:
        return self.now


def claims(exp: dt.datetime) -> Claims:
    return Claims(sub="ops@bank.test", role=Role.ADMIN, exp=exp, iat=T0, jti="j1")


def test_a_verified_token_is_kept_for_the_ttl_only() -> None:
    clock = Clock(T0)
    verified = VerifiedTokens(10, leeway=60, clock=clock)
    verified.put("tok", "pulse-gateway", claims(T0 + dt.timedelta(hours=1)))
    clock.now += 9.9
    assert verified.get("tok", "pulse-gateway") is not None
    assert verified.get("tok", "pulse-signin") is None  # kept for the audience it was verified for only
    clock.now += 0.1
    assert verified.get("tok", "pulse-gateway") is None


def test_a_verified_token_is_never_kept_past_its_expiry_and_leeway() -> None:
    clock = Clock(T0)
    verified = VerifiedTokens(10, leeway=60, clock=clock)
    verified.put("tok", "pulse-gateway", claims(T0 - dt.timedelta(seconds=55)))  # 5 s of leeway left
    clock.now += 4.9
    assert verified.get("tok", "pulse-gateway") is not None
    clock.now += 0.1
    assert verified.get("tok", "pulse-gateway") is None


def test_the_oldest_verified_tokens_go_first_and_a_ttl_of_zero_keeps_none() -> None:
    verified = VerifiedTokens(10, max_entries=2, clock=Clock(T0))
    for token in ("a", "b", "c"):
        verified.put(token, "pulse-gateway", claims(T0 + dt.timedelta(hours=1)))
    assert [verified.get(t, "pulse-gateway") is not None for t in ("a", "b", "c")] == [False, True, True]
    never = VerifiedTokens(0, clock=Clock(T0))
    never.put("a", "pulse-gateway", claims(T0 + dt.timedelta(hours=1)))
    assert never.get("a", "pulse-gateway") is None


class DenyList(Revocations):
    def __init__(self) -> None:
        self.ids: set[str] = set()

    async def is_revoked(self, jti: str) -> bool:
        return jti in self.ids


async def test_a_kept_token_is_still_refused_as_soon_as_it_is_revoked() -> None:
    clock = Clock(dt.datetime.now(dt.UTC))
    revocations = DenyList()
    authenticator = Authenticator(
        keys=SigningKeys([SECRET]),
        rules=TokenRules(),
        revocations=revocations,
        verified=VerifiedTokens(10, clock=clock),
    )
    token = issue_token(Role.ADMIN, sub="ops@bank.test", secret=SECRET)
    first = await authenticator.verify(token)
    # Kept: the key changes (a restart with a new secret would empty the cache), the token still passes...
    authenticator.keys = SigningKeys([OTHER_SECRET])
    assert await authenticator.verify(token) == first
    revocations.ids.add(str(first.jti))  # ...but not once revoked,
    with pytest.raises(InvalidToken, match="revoked"):
        await authenticator.verify(token)
    revocations.ids.clear()
    clock.now += 10  # and not past the TTL: verified again, against the keys of the moment.
    with pytest.raises(InvalidToken):
        await authenticator.verify(token)


async def test_an_unreachable_provider_names_no_endpoint_and_says_so() -> None:
    # The pages' sign-in at the provider then ends on the sign-in form (pages/oidc.py), never a 500.
    with pytest.raises(InvalidToken, match="does not answer"):
        await OidcKeys(DOWN, min_interval=0.0).endpoint("authorization_endpoint")
