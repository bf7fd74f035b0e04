"""Authentication of the gateway (CONTRACT §4, §6): a bearer token, or the session cookie of the pages.

`current_claims` is the dependency every authenticated API route uses (directly, or through the
router-level dependency `app.py` adds to every `/v1` router). A bearer token wins when both are present.
A missing token and a token that fails verification both give our 401 body (`HTTPBearer(auto_error=False)`),
while OpenAPI still declares the bearer scheme.

The session cookie holds the token itself (`HttpOnly`, `SameSite=Lax`, `Secure` over HTTPS, expiring with
the token), so it is verified exactly as a bearer token is. A browser sends it with any request to the
gateway, including one another site makes it send: a state-changing request authenticated by the cookie
alone is refused with 403 unless its `Origin` (else `Referer`, else `Sec-Fetch-Site`) says it comes from the
gateway's own origin (CSRF). A bearer token is never sent by the browser on its own, so it needs no check.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.gateway.access_log import CLAIMS_STATE
from services.gateway.errors import forbidden, unauthorized
from services.gateway.identity import Authenticator
from shared.auth import Claims, InvalidToken, Role
from shared.settings import Settings

BEARER_SCHEME_NAME = "bearerAuth"
SESSION_COOKIE = "pulse_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

bearer = HTTPBearer(
    auto_error=False,
    scheme_name=BEARER_SCHEME_NAME,
    bearerFormat="JWT",
    description="A JWT: Pulse's own (HS256, from `pulse token --role admin`) or the identity provider's.",
)


def settings_of(request: Request) -> Settings:
    settings = request.app.state.settings
    assert isinstance(settings, Settings)
    return settings


def authenticator_of(request: Request) -> Authenticator:
    authenticator = request.app.state.authenticator
    assert isinstance(authenticator, Authenticator)
    return authenticator


async def verify(request: Request, token: str) -> Claims:
    """The token's claims, verified as the API verifies them; `InvalidToken` otherwise."""
    return await authenticator_of(request).verify(token)


# --- same origin (CSRF) ---------------------------------------------------------------------------------


def _origin_of(url: str) -> str | None:
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def own_origin(request: Request) -> str:
    """The gateway's origin: `PULSE_GATEWAY_PUBLIC_URL`'s if set (behind a proxy), else the request's."""
    public = settings_of(request).gateway_public_url
    origin = _origin_of(public) if public else None
    return origin or f"{request.url.scheme}://{request.url.netloc}".lower()


def over_https(request: Request) -> bool:
    """Is the gateway reached over HTTPS? Its cookies are `Secure` then."""
    return own_origin(request).startswith("https:")


def is_same_origin(request: Request) -> bool:
    """Did a page of the gateway itself make this request? Browsers send `Origin` with every POST; `Referer`
    and `Sec-Fetch-Site` are fallbacks. A request carrying none of them is not known to be ours."""
    origin = request.headers.get("origin")
    if origin is None and (referer := request.headers.get("referer")) is not None:
        origin = _origin_of(referer) or "null"
    if origin is None:
        return request.headers.get("sec-fetch-site") == "same-origin"
    return origin.lower() == own_origin(request)


def require_same_origin(request: Request) -> None:
    if not is_same_origin(request):
        raise forbidden("cross-origin request refused: a session may only change state from the gateway's own pages")


# --- the caller -------------------------------------------------------------------------------------------


async def session_claims(request: Request) -> Claims | None:
    """The claims of a valid session cookie, if any (what the pages check)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        return await verify(request, token)
    except InvalidToken:
        return None


async def current_claims(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Claims:
    """The verified claims of the caller (bearer token, else session cookie), or 401; a state change made
    with the cookie from another origin is a 403."""
    if credentials is not None:
        try:
            claims = await verify(request, credentials.credentials)
        except InvalidToken as exc:
            raise unauthorized(f"invalid token: {exc.reason}") from exc
    else:
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            raise unauthorized("missing bearer token")
        try:
            claims = await verify(request, token)
        except InvalidToken as exc:
            raise unauthorized(f"invalid session: {exc.reason}") from exc
    setattr(request.state, CLAIMS_STATE, claims)  # for the access log, even if what follows refuses
    if credentials is None and request.method not in SAFE_METHODS:
        require_same_origin(request)
    return claims


CurrentClaims = Annotated[Claims, Depends(current_claims)]
"""Use as a parameter type: `async def endpoint(claims: CurrentClaims) -> ...`."""


def require_roles(*roles: Role) -> Callable[[Claims], Awaitable[Claims]]:
    """A dependency admitting only these roles (others get 403)."""
    allowed = frozenset(roles)

    async def dependency(claims: CurrentClaims) -> Claims:
        if claims.role not in allowed:
            raise forbidden(f"role {claims.role.value} may not do this")
        return claims

    return dependency


AdminClaims = Annotated[Claims, Depends(require_roles(Role.ADMIN))]
"""Claims of an admin caller (403 for any other role)."""


# --- the session cookie -------------------------------------------------------------------------------------


def start_session(request: Request, response: Response, token: str, claims: Claims) -> None:
    """Set the session cookie holding `token`, expiring with it."""
    seconds = max(int((claims.exp - dt.datetime.now(dt.UTC)).total_seconds()), 0)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=seconds,
        expires=claims.exp,
        path="/",
        httponly=True,
        samesite="lax",
        secure=over_https(request),
    )


def end_session(request: Request, response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=over_https(request))
