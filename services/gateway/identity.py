"""Who a token says the caller is: the one verifier of the API, the pages and the sign-in links.

A token is Pulse's own (HS256, `shared.auth`, keys from PULSE_JWT_SECRET and PULSE_JWT_PREVIOUS_SECRETS) or
an OpenID Connect provider's (RS256 or ES256, keys from the provider's JWKS, found through its discovery
document), told apart by the issuer it names; each kind is checked only with its own keys and algorithms,
so a token cannot pass for the other kind. Both meet the same rules (`shared.auth.TokenRules`: issuer,
audience, leeway, maximum lifetime) and the same deny-list of revoked token ids (`jti`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Any

import asyncpg
import httpx
import jwt

from services.gateway.db import Database
from shared.auth import (
    API_AUDIENCE,
    REGISTERED_CLAIMS,
    Claims,
    InvalidToken,
    SigningKeys,
    TokenRules,
    claims_of,
    decode,
    verify_token,
)
from shared.logging import get_logger
from shared.settings import Settings

log = get_logger(__name__)

OIDC_ALGORITHMS = ["RS256", "ES256"]


class OidcKeys:
    """The provider's public keys, read from the `jwks_uri` of its discovery document and kept for `max_age`
    seconds; a token signed by a key not seen yet (a rotation) reads them again at once, at most every
    `min_interval` seconds (a request naming a new key may wait that long; forged `kid`s cannot make us
    hammer the provider)."""

    def __init__(self, issuer: str, *, max_age: float = 300.0, min_interval: float = 1.0) -> None:
        self.issuer = issuer.rstrip("/")
        self.max_age = max_age
        self.min_interval = min_interval
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = float("-inf")
        self._discovery: dict[str, Any] | None = None
        self._lock = asyncio.Lock()

    async def key(self, kid: str) -> jwt.PyJWK | None:
        if kid in self._keys and time.monotonic() - self._fetched_at <= self.max_age:
            return self._keys[kid]
        async with self._lock:  # one reader at a time; the others find what it read
            since = time.monotonic() - self._fetched_at
            if since > self.max_age or kid not in self._keys:
                if since < self.min_interval:
                    await asyncio.sleep(self.min_interval - since)
                await self._fetch()
        return self._keys.get(kid)

    async def endpoint(self, name: str) -> str:
        """An endpoint of the provider's discovery document (`authorization_endpoint`, `token_endpoint`, ...);
        raises `InvalidToken` if the provider cannot be asked or names none."""
        try:
            async with httpx.AsyncClient(timeout=5.0, follow_redirects=False) as client:
                return str((await self._discovered(client))[name])
        except (httpx.HTTPError, KeyError, ValueError) as exc:
            log.warning("cannot read the identity provider's discovery document", issuer=self.issuer, error=repr(exc))
            raise InvalidToken(f"the identity provider does not answer ({name})") from exc

    async def _discovered(self, client: httpx.AsyncClient) -> dict[str, Any]:
        if self._discovery is None:
            discovery = await _json(client, f"{self.issuer}/.well-known/openid-configuration")
            if discovery.get("issuer", "").rstrip("/") != self.issuer:
                raise InvalidToken("the provider's discovery document names another issuer")
            self._discovery = discovery
        return self._discovery

    async def _fetch(self) -> None:
        try:
            async with httpx.AsyncClient(timeout=5.0, follow_redirects=False) as client:
                jwks = await _json(client, str((await self._discovered(client))["jwks_uri"]))
        except (httpx.HTTPError, KeyError, ValueError) as exc:
            # Keys already known stay usable; a new one is looked for again after `min_interval`.
            log.warning("cannot read the identity provider's keys", issuer=self.issuer, error=repr(exc)[:300])
            self._fetched_at = time.monotonic()
            return
        keys: dict[str, jwt.PyJWK] = {}
        for entry in jwks.get("keys", []):
            if entry.get("use", "sig") != "sig" or entry.get("alg") not in (*OIDC_ALGORITHMS, None):
                continue
            try:
                keys[str(entry["kid"])] = jwt.PyJWK(entry)
            except (jwt.PyJWKError, KeyError):
                continue
        self._keys = keys
        self._fetched_at = time.monotonic()
        log.info("identity provider keys read", issuer=self.issuer, kids=sorted(keys))


async def _json(client: httpx.AsyncClient, url: str) -> dict[str, Any]:
    response = await client.get(url)
    response.raise_for_status()
    body = response.json()
    if not isinstance(body, dict):
        raise ValueError(f"{url}: not a JSON object")
    return body


class Revocations:
    """The ids of revoked tokens (`gateway.revoked_tokens`, written by `pulse token revoke`), read again every
    `refresh` seconds. Until the first read succeeds, and while the database is away, the last list read
    stands (the database being away stops the API anyway)."""

    def __init__(self, db: Database, *, refresh: float) -> None:
        self._db = db
        self._refresh = refresh
        self._ids: frozenset[str] = frozenset()
        self._read_at = float("-inf")
        self._lock = asyncio.Lock()

    async def is_revoked(self, jti: str) -> bool:
        if time.monotonic() - self._read_at > self._refresh:
            async with self._lock:
                if time.monotonic() - self._read_at > self._refresh:
                    await self._read()
        return jti in self._ids

    async def _read(self) -> None:
        self._read_at = time.monotonic()
        pool = self._db.pool if await self._db.connect() else None
        if pool is None:
            return
        try:
            async with pool.acquire(timeout=3.0) as conn:
                rows = await conn.fetch("SELECT jti FROM gateway.revoked_tokens WHERE expires_at > now()")
        except (asyncpg.UndefinedTableError, asyncpg.InvalidSchemaNameError):
            rows = []  # the gateway's migrations have not run yet: nothing was revoked
        except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("cannot read the revoked tokens; keeping the last list", error=repr(exc)[:300])
            return
        self._ids = frozenset(r["jti"] for r in rows)


class VerifiedTokens:
    """Tokens verified in the last `ttl` seconds, with their claims. A browser or an API client sends the same
    token with every request, and checking its signature and claims each time is most of the gateway's own
    cost per request. An entry never outlives the token (its `exp` and the leeway) and the oldest entries go
    first beyond `max_entries`; whether it was revoked is still asked on every request (`Authenticator`)."""

    def __init__(
        self,
        ttl: float,
        *,
        leeway: float = 60.0,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.ttl = ttl
        self.leeway = leeway
        self.max_entries = max_entries
        self._clock = clock
        self._entries: dict[tuple[str, str], tuple[Claims, float]] = {}

    def get(self, token: str, audience: str) -> Claims | None:
        entry = self._entries.get((token, audience))
        if entry is None:
            return None
        claims, until = entry
        if self._clock() >= until:
            del self._entries[(token, audience)]
            return None
        return claims

    def put(self, token: str, audience: str, claims: Claims) -> None:
        if self.ttl <= 0:
            return
        until = min(self._clock() + self.ttl, claims.exp.timestamp() + self.leeway)
        while len(self._entries) >= self.max_entries:
            del self._entries[next(iter(self._entries))]
        self._entries[(token, audience)] = (claims, until)


class Authenticator:
    """Verifies a token into `Claims`, or raises `InvalidToken`."""

    def __init__(
        self,
        *,
        keys: SigningKeys | None,
        rules: TokenRules,
        revocations: Revocations,
        oidc: OidcKeys | None = None,
        oidc_audience: str | None = None,
        oidc_claims: Mapping[str, str] | None = None,
        verified: VerifiedTokens | None = None,
    ) -> None:
        self.keys = keys
        self.rules = rules
        self.revocations = revocations
        self.oidc = oidc
        self.oidc_audience = oidc_audience
        self.oidc_claims = dict(oidc_claims or {})
        self.verified = verified or VerifiedTokens(0)

    @classmethod
    def from_settings(cls, settings: Settings, db: Database) -> Authenticator:
        keys = settings.jwt_keys()
        if keys is None and settings.oidc_issuer is None:
            raise RuntimeError(
                "no way to verify a token: set PULSE_JWT_SECRET (Pulse's own tokens) or PULSE_OIDC_ISSUER and "
                "PULSE_OIDC_AUDIENCE (an OpenID Connect provider's), or PULSE_DEV_MODE=true for a local try-out"
            )
        return cls(
            keys=keys,
            rules=settings.token_rules(),
            revocations=Revocations(db, refresh=settings.revocations_refresh_seconds),
            oidc=OidcKeys(settings.oidc_issuer, max_age=settings.oidc_keys_max_age_seconds)
            if settings.oidc_issuer
            else None,
            oidc_audience=settings.oidc_audience,
            oidc_claims=settings.oidc_claims,
            # Never trusted longer than the provider's keys that verified it are kept.
            verified=VerifiedTokens(
                min(settings.verified_tokens_seconds, settings.oidc_keys_max_age_seconds),
                leeway=settings.token_rules().leeway.total_seconds(),
            ),
        )

    async def verify(self, token: str, *, audience: str = API_AUDIENCE) -> Claims:
        """The claims of `token` for `audience` (a link's is `shared.auth.SIGNIN_AUDIENCE`), unless revoked."""
        claims = self.verified.get(token, audience)
        if claims is None:
            claims = await self._verify(token, audience)
            self.verified.put(token, audience, claims)
        assert claims.jti is not None
        if await self.revocations.is_revoked(claims.jti):
            raise InvalidToken("token revoked")
        return claims

    async def _verify(self, token: str, audience: str) -> Claims:
        try:
            issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
        except (jwt.PyJWTError, ValueError, TypeError, AttributeError) as exc:
            raise InvalidToken("malformed token") from exc
        if self.oidc is not None and isinstance(issuer, str) and issuer.rstrip("/") == self.oidc.issuer:
            if audience != API_AUDIENCE:
                raise InvalidToken("wrong audience")  # a provider's token is never a sign-in link
            claims = await self._verify_oidc(token, issuer)
        elif self.keys is not None:
            claims = verify_token(token, self.keys, rules=self.rules, audience=audience)
        else:
            raise InvalidToken("unknown issuer")
        return claims

    async def _verify_oidc(self, token: str, issuer: str) -> Claims:
        assert self.oidc is not None
        assert self.oidc_audience is not None
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken("malformed token") from exc
        if header.get("alg") not in OIDC_ALGORITHMS:
            raise InvalidToken("algorithm not allowed")
        key = await self.oidc.key(str(header.get("kid")))
        if key is None:
            raise InvalidToken("unknown signing key")
        payload = decode(
            token,
            key,
            algorithms=OIDC_ALGORITHMS,
            issuer=issuer,
            audience=self.oidc_audience,
            rules=self.rules,
            required=REGISTERED_CLAIMS,
        )
        mapped = {name: payload.get(claim) for name, claim in self.oidc_claims.items()}
        times = {name: payload.get(name) for name in ("iat", "exp", "jti")}
        return claims_of({k: v for k, v in {**mapped, **times}.items() if v is not None}, self.rules)
