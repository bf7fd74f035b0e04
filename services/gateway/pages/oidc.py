"""Signing in to the pages with the bank's OpenID Connect provider: the authorization code flow with PKCE
(RFC 7636, S256), for a gateway configured with PULSE_OIDC_CLIENT_ID.

- `GET /signin/oidc?next=<page>` sends the browser to the provider's authorization endpoint with a fresh
  `state` and code challenge; the state, the code verifier and the page to return to wait in a short-lived
  cookie of this path only (`pulse_oidc`, HttpOnly, SameSite=Lax).
- `GET /signin/oidc/callback?code&state` takes the code only with the state it was sent with, from the
  browser that asked, exchanges it (with the verifier) at the token endpoint, and verifies the access token
  exactly as the API verifies a provider's token (`identity.Authenticator`: keys, issuer, audience, claims).
  That token is the session, as a pasted one is; when it expires, signing in again is one redirect away
  while the person's session at the provider lasts.
Anything else (no cookie, another state, the provider's `error`, a refused token) ends on the sign-in form
saying that signing in with the provider did not work; the provider's own words never reach the page.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from services.gateway.pages.session import (
    PAGE_TAG,
    PROVIDER_SIGNIN_PATH,
    Provider,
    provider_of,
    safe_next,
    signin_url,
)
from services.gateway.security import authenticator_of, over_https, own_origin, start_session
from shared.auth import InvalidToken
from shared.logging import get_logger

log = get_logger(__name__)

CALLBACK_PATH = f"{PROVIDER_SIGNIN_PATH}/callback"
FLOW_COOKIE = "pulse_oidc"
FLOW_SECONDS = 600  # the time a person has to sign in at the provider
FAILED = "oidc_failed"  # the sign-in form's reason code (session.SIGNIN_REASONS)


@dataclass(frozen=True, slots=True)
class Flow:
    """One sign-in under way: what the callback must be sent with, and where to go afterwards."""

    state: str
    verifier: str
    next_url: str

    @classmethod
    def start(cls, next_url: str) -> Flow:
        return cls(secrets.token_urlsafe(24), secrets.token_urlsafe(48), safe_next(next_url))

    @property
    def challenge(self) -> str:
        digest = hashlib.sha256(self.verifier.encode("ascii")).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    def cookie(self) -> str:
        body = json.dumps({"state": self.state, "verifier": self.verifier, "next": self.next_url})
        return base64.urlsafe_b64encode(body.encode()).decode("ascii")

    @classmethod
    def from_cookie(cls, value: str | None) -> Flow | None:
        if not value:
            return None
        try:
            body = json.loads(base64.urlsafe_b64decode(value.encode("ascii")))
            return cls(str(body["state"]), str(body["verifier"]), safe_next(str(body["next"])))
        except (ValueError, KeyError, TypeError):
            return None


def authorization_url(endpoint: str, client_id: str, redirect_uri: str, scope: str, flow: Flow) -> str:
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": flow.state,
        "code_challenge": flow.challenge,
        "code_challenge_method": "S256",
    }
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(query)}"


def redirect_uri(request: Request) -> str:
    return own_origin(request) + CALLBACK_PATH


router = APIRouter(include_in_schema=False, tags=[PAGE_TAG])


@router.get(PROVIDER_SIGNIN_PATH)
async def start(request: Request, next: str | None = None) -> Response:
    provider = provider_of(request)
    if provider is None:
        return RedirectResponse(signin_url(safe_next(next)), 303)
    flow = Flow.start(next or "/")
    try:
        endpoint = await provider.keys.endpoint("authorization_endpoint")
    except InvalidToken:
        return _failed(request, flow.next_url)
    target = authorization_url(endpoint, provider.client_id, redirect_uri(request), provider.scope, flow)
    response = RedirectResponse(target, 303)
    response.set_cookie(
        FLOW_COOKIE,
        flow.cookie(),
        max_age=FLOW_SECONDS,
        path=PROVIDER_SIGNIN_PATH,
        httponly=True,
        samesite="lax",  # it must come back with the provider's top-level redirect
        secure=over_https(request),
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get(CALLBACK_PATH)
async def callback(request: Request, code: str | None = None, state: str | None = None) -> Response:
    provider = provider_of(request)
    flow = Flow.from_cookie(request.cookies.get(FLOW_COOKIE))
    if (
        provider is None
        or flow is None
        or state is None
        or code is None
        or not secrets.compare_digest(state.encode(), flow.state.encode())  # str: ASCII only, else TypeError
    ):
        # No sign-in of this browser under way, or not this one: a forged or replayed callback.
        log.info("oidc sign-in refused", reason="state", provider_error=request.query_params.get("error"))
        return _failed(request, flow.next_url if flow else "/")
    try:
        token = await _exchange(request, provider, code, flow)
        claims = await authenticator_of(request).verify(token)
    except InvalidToken as exc:
        log.info("oidc sign-in refused", reason=exc.reason)
        return _failed(request, flow.next_url)
    response = RedirectResponse(flow.next_url, 303)
    start_session(request, response, token, claims)
    _forget_flow(request, response)
    response.headers["Cache-Control"] = "no-store"
    return response


async def _exchange(request: Request, provider: Provider, code: str, flow: Flow) -> str:
    """The access token the provider gives for `code` (with the verifier only this browser's flow holds)."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri(request),
        "client_id": provider.client_id,
        "code_verifier": flow.verifier,
    }
    if provider.client_secret:
        form["client_secret"] = provider.client_secret
    endpoint = await provider.keys.endpoint("token_endpoint")
    try:
        async with httpx.AsyncClient(timeout=10.0, follow_redirects=False) as client:
            answer = await client.post(endpoint, data=form)
        answer.raise_for_status()
        return str(answer.json()["access_token"])
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        raise InvalidToken("the identity provider gave no token for the code") from exc


def _forget_flow(request: Request, response: Response) -> None:
    response.delete_cookie(
        FLOW_COOKIE,
        path=PROVIDER_SIGNIN_PATH,
        httponly=True,
        samesite="lax",
        secure=over_https(request),
    )


def _failed(request: Request, next_url: str) -> Response:
    response = RedirectResponse(signin_url(next_url, FAILED), 303)
    _forget_flow(request, response)
    response.headers["Cache-Control"] = "no-store"
    return response
