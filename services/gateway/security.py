"""Bearer authentication of the gateway (CONTRACT §4).

`current_claims` is the dependency every authenticated route uses (directly, or through the router-level
dependency `app.py` adds to every `/v1` router). A missing token and a token that fails verification both
give our 401 body (`HTTPBearer(auto_error=False)`), while OpenAPI still declares the bearer scheme.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.gateway.errors import forbidden, unauthorized
from shared.auth import Claims, InvalidToken, Role, verify_token
from shared.settings import Settings

BEARER_SCHEME_NAME = "bearerAuth"

bearer = HTTPBearer(
    auto_error=False,
    scheme_name=BEARER_SCHEME_NAME,
    bearerFormat="JWT",
    description="HS256 JWT, e.g. from `pulse token --role admin`.",
)


async def current_claims(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Claims:
    """The verified claims of the caller, or 401."""
    if credentials is None:
        raise unauthorized("missing bearer token")
    settings = request.app.state.settings
    assert isinstance(settings, Settings)
    try:
        return verify_token(credentials.credentials, settings.jwt_secret)
    except InvalidToken as exc:
        raise unauthorized(f"invalid token: {exc.reason}") from exc


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
