"""Signing in to the pages (CONTRACT §6), the way Jupyter's printed URLs work.

- Any page URL may carry `?token=<JWT>`: `TokenSignInMiddleware` sets the session cookie
  (`security.start_session`) and answers 303 to the same URL without the token, before any route or log sees
  the query. A one-time sign-in link (`pulse token --url`, `services/gateway/signin.py`) is redeemed for a
  session of the gateway's own; any other token is verified exactly as the API does and is the session. An
  invalid, expired or used link goes to the sign-in form, which says why.
- A page without a valid session answers 303 to `/signin?next=<the page>`; `POST /signin` takes a pasted
  token (form field `token`), `POST /signout` ends the session. Both are refused from another origin.
- `/` sends each role to its home page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import parse_qsl, urlencode

import jwt
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from services.gateway.access import AccessPolicy
from services.gateway.errors import ApiError, error_response
from services.gateway.identity import OidcKeys
from services.gateway.pages.templating import render
from services.gateway.security import (
    SAFE_METHODS,
    SESSION_COOKIE,
    authenticator_of,
    end_session,
    require_same_origin,
    session_claims,
    settings_of,
    start_session,
    verify,
)
from services.gateway.signin import redeem, session_for
from shared.auth import SIGNIN_AUDIENCE, Claims, InvalidToken, Role

PAGE_TAG = "pages"
"""The tag of every page route: their errors are answered with pages (`pages/errors.py`)."""
TOKEN_PARAMETER = "token"  # noqa: S105 - the name of the query parameter, not a secret
NOT_PAGES = ("/v1/", "/static/", "/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/redoc")


class SignInRequired(Exception):  # noqa: N818 - a signal, answered with a redirect (app.py)
    """The page needs a session: answered with 303 to the sign-in form, which returns to `next_url`."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


def is_page(path: str) -> bool:
    return not path.startswith(NOT_PAGES)


def safe_next(url: str | None) -> str:
    """Where to go after signing in: a path of this site only (never `//host` or `https://elsewhere`)."""
    if not url or not url.startswith("/") or url.startswith("//") or "\\" in url:
        return "/"
    return url


SIGNIN_REASONS = {
    "expired": "That sign-in link has expired. Ask for a new one, or paste a token.",
    "invalid": "That sign-in link is not valid. Ask for a new one, or paste a token.",
    "used": "That sign-in link has been used already: each works once. Ask for a new one, or paste a token.",
    "signed_out": "You are signed out.",
    "oidc_failed": "Signing in with your organisation's account did not work. Try again, or ask for a sign-in link.",
}
"""Why the sign-in form is shown, by code: a query parameter never puts its own words on the page."""


def reason_of(exc: InvalidToken) -> str:
    if "already used" in exc.reason:
        return "used"
    return "expired" if "expired" in exc.reason else "invalid"


def signin_url(next_url: str, reason: str | None = None) -> str:
    query = {"next": next_url} | ({"reason": reason} if reason else {})
    return f"/signin?{urlencode(query)}"


PROVIDER_SIGNIN_PATH = "/signin/oidc"  # signing in at the OpenID Connect provider (pages/oidc.py)


@dataclass(frozen=True, slots=True)
class Provider:
    """The OpenID Connect provider the pages offer to sign in at, and the dashboard's client there."""

    keys: OidcKeys
    client_id: str
    client_secret: str | None
    scope: str


def provider_of(request: Request) -> Provider | None:
    """The provider's sign-in, when PULSE_OIDC_CLIENT_ID configures it (its issuer is then configured too)."""
    settings = settings_of(request)
    keys = authenticator_of(request).oidc
    if settings.oidc_client_id is None or keys is None:
        return None
    return Provider(keys, settings.oidc_client_id, settings.oidc_client_secret, settings.oidc_scope)


def provider_signin_url(next_url: str) -> str:
    return f"{PROVIDER_SIGNIN_PATH}?{urlencode({'next': safe_next(next_url)})}"


def signin_target(request: Request, next_url: str) -> str:
    """Where a page without a valid session sends the browser: the sign-in form, or, when the session has
    just expired and the provider's sign-in is configured, the provider straight away (while the person's
    session there lasts they are back at once, without a click)."""
    expired = SESSION_COOKIE in request.cookies
    if expired and provider_of(request) is not None:
        return provider_signin_url(next_url)
    return signin_url(next_url, "expired" if expired else None)


def _url_of(request: Request) -> str:
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


async def page_access(request: Request) -> AccessPolicy:
    """FastAPI dependency of every page: the session's caller, or a redirect to sign in. A page that
    changes state (a POST) must come from the gateway's own pages."""
    claims = await session_claims(request)
    if claims is None:
        raise SignInRequired(_url_of(request))
    if request.method not in SAFE_METHODS:
        require_same_origin(request)
    return AccessPolicy(claims)


PageAccess = Annotated[AccessPolicy, Depends(page_access)]


def split_token(query: str) -> tuple[str | None, str]:
    """The `token` of a query string (the last, if several) and the rest of the query exactly as written."""
    token, rest = None, []
    for part in query.split("&"):
        pairs = parse_qsl(part, keep_blank_values=True)
        if pairs and pairs[0][0] == TOKEN_PARAMETER:
            token = pairs[0][1]
        elif part:
            rest.append(part)
    return token, "&".join(rest)


async def open_session(request: Request, token: str) -> tuple[str, Claims]:
    """The session a `?token=` opens: a one-time sign-in link is redeemed for a session token of the gateway's
    own; any other token the API accepts is the session itself."""
    if audience_of(token) != SIGNIN_AUDIENCE:
        return token, await verify(request, token)
    authenticator = authenticator_of(request)
    link = await authenticator.verify(token, audience=SIGNIN_AUDIENCE)
    assert authenticator.keys is not None  # a link verified, so Pulse has keys of its own
    await redeem(request.app.state.db, link)
    settings = settings_of(request)
    return session_for(link, authenticator.keys, authenticator.rules, settings.session_hours)


def audience_of(token: str) -> object:
    try:
        return jwt.decode(token, options={"verify_signature": False}).get("aud")
    except (jwt.PyJWTError, ValueError, TypeError, AttributeError):
        return None  # verification says what is wrong with it


class TokenSignInMiddleware:
    """`GET <page>?token=<JWT>`: start a session and answer 303 to the page without the token."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD") or not is_page(scope["path"]):
            await self.app(scope, receive, send)
            return
        token, rest = split_token(scope.get("query_string", b"").decode("latin-1"))
        if token is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        clean = path + (f"?{rest}" if rest else "")
        response: Response
        try:
            session, claims = await open_session(request, token)
        except InvalidToken as exc:
            response = RedirectResponse(signin_url(clean, reason_of(exc)), 303)
        except ApiError as exc:
            response = error_response(exc.status_code, exc.code, exc.message)
        else:
            response = RedirectResponse(clean, 303)
            start_session(request, response, session, claims)
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"  # the URL we came from holds the token
        await response(scope, receive, send)


router = APIRouter(include_in_schema=False, tags=[PAGE_TAG])


def home_of(access: AccessPolicy) -> str:
    claims = access.claims
    match claims.role:
        case Role.ADMIN:
            return "/loans"
        case Role.TEAM_LEADER:
            return f"/loans?scope=branch:{claims.branch_id}"
        case Role.LOAN_OFFICER:
            return f"/loans?scope=officer:{claims.officer_id}"
        case _:
            return f"/wealth?client={claims.client_id}"


@router.get("/")
async def home(access: PageAccess) -> RedirectResponse:
    return RedirectResponse(home_of(access), 303)


@router.get("/signin")
async def signin_form(request: Request, next: str | None = None, reason: str | None = None) -> HTMLResponse:
    message = SIGNIN_REASONS.get(reason or "")
    return render(request, "signin.html", _form(request, safe_next(next), message))


@router.post("/signin", response_model=None)
async def signin(
    request: Request, token: Annotated[str, Form(max_length=8192)] = "", next: Annotated[str, Form()] = "/"
) -> Response:
    require_same_origin(request)
    target = safe_next(next)
    try:
        claims = await verify(request, token.strip())
    except InvalidToken as exc:
        error = "Paste a token to sign in." if not token.strip() else f"That token is not valid: {exc.reason}."
        return render(request, "signin.html", _form(request, target, error), status_code=401)
    response = RedirectResponse(target, 303)
    start_session(request, response, token.strip(), claims)
    return response


def _form(request: Request, next_url: str, error: str | None) -> dict[str, object]:
    """The sign-in form's context: with an OpenID Connect client configured, it offers the provider first."""
    offer = provider_of(request) is not None
    return {
        "next": next_url,
        "error": error,
        "oidc_url": provider_signin_url(next_url) if offer else None,
    }


@router.post("/signout")
async def signout(request: Request) -> RedirectResponse:
    require_same_origin(request)
    response = RedirectResponse(signin_url("/", "signed_out"), 303)
    end_session(request, response)
    return response
