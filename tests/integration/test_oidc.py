"""The gateway accepts an OpenID Connect provider's tokens, checked as the provider publishes them: a real
Keycloak over HTTP (discovery document, JWKS, RS256 and ES256 keys, a key rotation), no patched verifier."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import jwt
import pytest

from services.gateway.app import create_app
from tests.integration.test_gateway_authorization import gateway_settings, kafka_topics, read_model_database
from tests.support.kafka import eventually
from tests.support.keycloak import Realm, keycloak, realm  # noqa: F401  # fixtures
from tests.support.stack import Stack

pytestmark = pytest.mark.integration

AUDIENCE = "pulse-gateway"
# What the bank's directory says of Nia, mapped into her tokens by the provider (PULSE_OIDC_CLAIMS names them).
NIA = {"pulse_role": "team_leader", "pulse_branch_id": "B1"}
KEYS_MAX_AGE = 1.0


@dataclass
class World:
    realm: Realm
    http: httpx.AsyncClient
    client: str  # the internal id of the client whose tokens are for the gateway


@pytest.fixture(scope="module")
async def world(stack: Stack, realm: Realm) -> AsyncIterator[World]:  # noqa: F811
    client = await realm.add_client("pulse-dashboard", audience=AUDIENCE, claims=NIA)
    await realm.add_client("another-app", audience=None, claims=NIA)
    await realm.add_user("nia")
    async with read_model_database(stack) as url, kafka_topics(stack) as prefix:
        settings = gateway_settings(url, stack, prefix).model_copy(
            update={
                "jwt_secret": None,  # the provider's tokens only
                "oidc_issuer": realm.issuer,
                "oidc_audience": AUDIENCE,
                "oidc_keys_max_age_seconds": KEYS_MAX_AGE,
            }
        )
        app = create_app(settings)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://gateway") as http,
        ):
            yield World(realm, http, client)


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
