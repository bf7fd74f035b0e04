"""The verifier when what it reads is away: an identity provider that does not answer, a database that does
not answer. Tokens are refused (or the last revocations stand); nothing escapes as a 500."""

from __future__ import annotations

import datetime as dt

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from services.gateway.db import Database
from services.gateway.identity import Authenticator, OidcKeys, Revocations
from shared.auth import InvalidToken, TokenRules

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
