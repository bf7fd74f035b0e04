"""One-time sign-in links: `pulse token --url` prints `<gateway>/?token=<link>`, a token of audience
`pulse-signin` that lives minutes (PULSE_SIGNIN_LINK_MINUTES). The gateway redeems it once for a session of
its own (PULSE_SESSION_HOURS): a link seen in a browser's history, a proxy's log or over someone's
shoulder is worth nothing once used or expired."""

from __future__ import annotations

import datetime as dt
import secrets

import asyncpg

from services.gateway.db import Database
from services.gateway.errors import unavailable
from shared.auth import Claims, InvalidToken, SigningKeys, TokenRules, sign

_REDEEM = """
INSERT INTO gateway.signin_links (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING RETURNING true
"""
# Used links are kept until no clock could take them for valid any more (their expiry plus the leeway).
_FORGET = "DELETE FROM gateway.signin_links WHERE expires_at < now() - interval '1 hour'"


async def redeem(db: Database, link: Claims) -> None:
    """Record `link` as used, or raise `InvalidToken` if it was used before."""
    assert link.jti is not None
    try:
        async with db.acquire() as conn, conn.transaction():
            # The gateway's transactions are read-only by default (shared.db_roles): this one writes.
            await conn.execute("SET TRANSACTION READ WRITE")
            first = await conn.fetchval(_REDEEM, link.jti, link.exp)
            await conn.execute(_FORGET)
    except (asyncpg.UndefinedTableError, asyncpg.InvalidSchemaNameError) as exc:
        raise unavailable("sign-in links are not available yet: the gateway is creating its tables") from exc
    if not first:
        raise InvalidToken("sign-in link already used")


def session_for(link: Claims, keys: SigningKeys, rules: TokenRules, hours: float) -> tuple[str, Claims]:
    """A session token for the person of `link`: their role and scope, a new id, `hours` long (at most the
    longest a token may live)."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    lifetime = min(dt.timedelta(hours=hours), rules.max_lifetime)
    claims = link.model_copy(update={"iat": now, "exp": now + lifetime, "jti": secrets.token_urlsafe(16)})
    return sign(claims, keys), claims
