"""The gateway accepts an OpenID Connect provider's tokens, checked as the provider publishes them: a real
Keycloak over HTTP (discovery document, JWKS, RS256 and ES256 keys, a key rotation), no patched verifier."""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import jwt
import pytest
from fastapi import FastAPI

from services.gateway.app import create_app
from tests.integration.test_gateway_authorization import gateway_settings, kafka_topics, read_model_database
from tests.support.kafka import eventually
from tests.support.keycloak import PASSWORD, Realm, keycloak, realm  # noqa: F401  # fixtures
from tests.support.stack import Stack

pytestmark = pytest.mark.integration

AUDIENCE = "pulse-gateway"
# What the bank's directory says of Nia, mapped into her tokens by the provider (PULSE_OIDC_CLAIMS names them).
NIA = {"pulse_role": "team_leader", "pulse_branch_id": "B1"}
KEYS_MAX_AGE = 1.0
GATEWAY = "http://gateway"


@dataclass
class World:
    realm: Realm
    http: httpx.AsyncClient
    client: str  # the internal id of the client whose tokens are for the gateway
    app: FastAPI

    def browser(self) -> httpx.AsyncClient:
        """A browser of its own on the gateway (its own cookies)."""
        return httpx.AsyncClient(transport=httpx.ASGITransport(self.app), base_url=GATEWAY)


@pytest.fixture(scope="module")
async def world(stack: Stack, realm: Realm) -> AsyncIterator[World]:  # noqa: F811
    client = await realm.add_client(
        "pulse-dashboard", audience=AUDIENCE, claims=NIA, redirect_uri=f"{GATEWAY}/signin/oidc/callback"
    )
    await realm.add_client("another-app", audience=None, claims=NIA)
    await realm.add_user("nia")
    async with read_model_database(stack) as url, kafka_topics(stack) as prefix:
        settings = gateway_settings(url, stack, prefix).model_copy(
            update={
                "jwt_secret": None,  # the provider's tokens only
                "oidc_issuer": realm.issuer,
                "oidc_audience": AUDIENCE,
                "oidc_keys_max_age_seconds": KEYS_MAX_AGE,
                "oidc_client_id": "pulse-dashboard",  # the pages' sign-in with the provider
            }
        )
        app = create_app(settings)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url=GATEWAY) as http,
        ):
            yield World(realm, http, client, app)


async def whoami(world: World, token: str) -> httpx.Response:
    return await world.http.get("/v1/whoami", headers={"Authorization": f"Bearer {token}"})


async def test_a_providers_token_is_accepted_with_the_person_and_scope_it_names(world: World) -> None:
    token = await world.realm.token("pulse-dashboard", "nia")
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    response = await whoami(world, token)
    assert response.status_code == 200, response.text
    me = response.json()
    assert (me["sub"], me["role"]) == ("nia", "team_leader")  # preferred_username: a person, not a UUID
    assert me["branch_id"] == "B1"
    bearer = {"Authorization": f"Bearer {token}"}
    assert (await world.http.get("/v1/loans/summary", params={"scope": "branch:B1"}, headers=bearer)).status_code == 200
    assert (await world.http.get("/v1/loans/summary", params={"scope": "branch:B2"}, headers=bearer)).status_code == 403


async def test_a_token_for_another_audience_is_refused(world: World) -> None:
    token = await world.realm.token("another-app", "nia")  # same provider, same person, not for Pulse
    response = await whoami(world, token)
    assert response.status_code == 401
    assert "wrong audience" in response.json()["error"]["message"]


async def test_a_token_signed_with_a_shared_secret_in_the_providers_name_is_refused(world: World) -> None:
    genuine = jwt.decode(await world.realm.token("pulse-dashboard", "nia"), options={"verify_signature": False})
    forged = jwt.encode({**genuine, "pulse_role": "admin"}, "guessed-secret-0123456789abcdef0123", algorithm="HS256")
    response = await whoami(world, forged)
    assert response.status_code == 401
    assert "algorithm not allowed" in response.json()["error"]["message"]


async def test_a_key_rotation_at_the_provider(world: World) -> None:
    before = await world.realm.token("pulse-dashboard", "nia")
    assert (await whoami(world, before)).status_code == 200
    old_kid = jwt.get_unverified_header(before)["kid"]
    old_keys = await world.realm.key_components("rsa-generated")

    # A new key, preferred to the old one: the provider signs with it at once.
    await world.realm.add_key("rsa-generated", 200, keySize="2048")
    after = await world.realm.token("pulse-dashboard", "nia")
    assert jwt.get_unverified_header(after)["kid"] != old_kid
    assert (await whoami(world, after)).status_code == 200  # a key not seen yet: the JWKS is read again at once
    assert (await whoami(world, before)).status_code == 200  # the old key is still published

    # The old key retired: once the keys are read again, its tokens are refused.
    for component in old_keys:
        await world.realm.remove_component(component)
    await asyncio.sleep(KEYS_MAX_AGE + 0.5)

    async def refused() -> bool:
        return (await whoami(world, before)).status_code == 401

    await eventually(refused, timeout=15)
    assert "unknown signing key" in (await whoami(world, before)).json()["error"]["message"]
    assert (await whoami(world, after)).status_code == 200


async def test_an_es256_key(world: World) -> None:
    await world.realm.add_key("ecdsa-generated", 300, ecdsaEllipticCurveKey="P-256")
    await world.realm.set_client_attribute(world.client, "access.token.signed.response.alg", "ES256")
    token = await world.realm.token("pulse-dashboard", "nia")
    assert jwt.get_unverified_header(token)["alg"] == "ES256"
    response = await whoami(world, token)
    assert response.status_code == 200, response.text
    assert response.json()["sub"] == "nia"


# --- the pages: signing in with the provider (authorization code flow, PKCE) ---------------------------------


async def at_the_provider(authorization_url: str, username: str) -> str:
    """What a person does at the provider's sign-in page (a browser of their own there): enter their
    password. Where the provider then sends the browser: the gateway's callback, with a code."""
    async with httpx.AsyncClient(timeout=30) as browser:
        page = await browser.get(authorization_url)
        assert page.status_code == 200, page.text[:500]
        form = re.search(r'<form[^>]*id="kc-form-login"[^>]*>', page.text)
        assert form is not None, page.text[:2000]
        action = re.search(r'action="([^"]+)"', form.group(0))
        assert action is not None
        # Keycloak marks its cookies Secure even over http on 127.0.0.1 (a browser still sends them to a
        # loopback address, httpx does not): sent back as a browser would.
        cookies = "; ".join(c.split(";", 1)[0] for c in page.headers.get_list("set-cookie"))
        answer = await browser.post(
            html.unescape(action.group(1)),
            data={"username": username, "password": PASSWORD},
            headers={"Cookie": cookies},
        )
    assert answer.status_code == 302, re.findall(r"(?:error|alert|feedback)[^<]{0,40}<[^>]*>([^<]{5,200})", answer.text)
    return str(answer.headers["location"])


async def test_a_person_signs_in_to_the_pages_at_the_provider(world: World) -> None:
    form = await world.http.get("/signin", params={"next": "/loans?scope=branch:B1"})
    assert 'href="/signin/oidc?next=%2Floans%3Fscope%3Dbranch%3AB1"' in form.text  # offered first
    async with world.browser() as browser:
        started = await browser.get("/signin/oidc", params={"next": "/loans?scope=branch:B1"})
        assert started.status_code == 303
        to_provider = httpx.URL(started.headers["location"])
        assert str(to_provider).startswith(f"{world.realm.issuer}/protocol/openid-connect/auth?")
        query = dict(to_provider.params)
        assert (query["client_id"], query["code_challenge_method"]) == ("pulse-dashboard", "S256")
        assert query["redirect_uri"] == f"{GATEWAY}/signin/oidc/callback"

        back = httpx.URL(await at_the_provider(str(to_provider), "nia"))
        assert str(back).startswith(f"{GATEWAY}/signin/oidc/callback?")
        signed_in = await browser.get(back.raw_path.decode())
        assert signed_in.status_code == 303, signed_in.text
        assert signed_in.headers["location"] == "/loans?scope=branch:B1"
        me = await browser.get("/v1/whoami")  # the session cookie now: the provider's token for Nia
        assert me.status_code == 200, me.text
        assert (me.json()["sub"], me.json()["role"], me.json()["branch_id"]) == ("nia", "team_leader", "B1")
        assert (await browser.get("/loans", params={"scope": "branch:B1"})).status_code == 200

        # The same code again (a replayed callback URL): no second session.
        async with world.browser() as other:
            replayed = await other.get(back.raw_path.decode())
        assert replayed.status_code == 303
        assert "reason=oidc_failed" in replayed.headers["location"]


async def test_a_callback_not_started_by_this_browser_signs_nobody_in(world: World) -> None:
    async with world.browser() as victim, world.browser() as attacker:
        # The attacker starts a sign-in and completes it at the provider as themselves...
        started = await attacker.get("/signin/oidc", params={"next": "/"})
        back = httpx.URL(await at_the_provider(started.headers["location"], "nia"))
        # ...and gets the victim's browser to open the callback (login CSRF): it has no flow of its own.
        response = await victim.get(back.raw_path.decode())
        assert response.status_code == 303
        assert "reason=oidc_failed" in response.headers["location"]
        assert (await victim.get("/v1/whoami")).status_code == 401
        # A flow of the victim's own, but another state: refused too.
        await victim.get("/signin/oidc", params={"next": "/"})
        for guess in ("guessed", "é"):  # not ASCII: still a refusal, not an error
            forged = await victim.get("/signin/oidc/callback", params={"code": back.params["code"], "state": guess})
            assert "reason=oidc_failed" in forged.headers["location"]
        assert (await victim.get("/v1/whoami")).status_code == 401
    page = await world.http.get("/signin", params={"reason": "oidc_failed"})
    assert "Signing in with your organisation" in page.text


async def test_an_expired_session_goes_back_to_the_provider_at_once(world: World) -> None:
    async with world.browser() as browser:
        # No session at all: the sign-in form, which offers the provider.
        fresh = await browser.get("/alerts?status=all")
        assert fresh.status_code == 303
        assert fresh.headers["location"] == "/signin?next=%2Falerts%3Fstatus%3Dall"
        # A session that has expired (or was revoked): straight to the provider, to come back to the page.
        stale = {"Cookie": "pulse_session=an-expired-token"}
        expired = await browser.get("/alerts?status=all", headers=stale)
        assert expired.status_code == 303
        assert expired.headers["location"] == "/signin/oidc?next=%2Falerts%3Fstatus%3Dall"
        live = await browser.get("/alerts?status=all", headers={**stale, "HX-Request": "true"})  # a live region
        assert (live.status_code, live.headers["HX-Redirect"]) == (401, "/signin/oidc?next=%2Falerts%3Fstatus%3Dall")
