"""A real OpenID Connect provider for tests: Keycloak (deploy/local/keycloak.sh), driven through its admin
REST API. Each test module gets a realm of its own."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.support.stack import ROOT

KEYCLOAK = "http://127.0.0.1:8180"
SCRIPT = ROOT / "deploy/local/keycloak.sh"
PASSWORD = "a-test-users-password-0123"


@pytest.fixture(scope="session")
def keycloak() -> Iterator[str]:
    """Keycloak's base URL: started if it is not running (and stopped again afterwards)."""
    was_running = subprocess.run([str(SCRIPT), "status"], capture_output=True).returncode == 0
    subprocess.run([str(SCRIPT), "start"], check=True, cwd=ROOT, capture_output=True, timeout=600)
    try:
        yield KEYCLOAK
    finally:
        if not was_running:
            subprocess.run([str(SCRIPT), "stop"], cwd=ROOT, capture_output=True, timeout=120)


@dataclass
class Realm:
    """A realm, administered through the REST API."""

    name: str

    @property
    def issuer(self) -> str:
        return f"{KEYCLOAK}/realms/{self.name}"

    async def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return await admin_call(method, f"/admin/realms/{self.name}{path}", **kwargs)

    async def add_client(
        self, client_id: str, *, audience: str | None, claims: dict[str, str], redirect_uri: str | None = None
    ) -> str:
        """A public client allowed the password grant whose access tokens carry `claims` (hard-coded mappers,
        as an administrator would map them from a directory) and, if given, `audience`; its internal id.
        With `redirect_uri`, also the authorization code flow to it, PKCE (S256) required."""
        mappers: list[dict[str, Any]] = [
            {
                "name": name,
                "protocol": "openid-connect",
                "protocolMapper": "oidc-hardcoded-claim-mapper",
                "config": {
                    "claim.name": name,
                    "claim.value": value,
                    "jsonType.label": "String",
                    "access.token.claim": "true",
                },
            }
            for name, value in claims.items()
        ]
        if audience is not None:
            mappers.append(
                {
                    "name": "audience",
                    "protocol": "openid-connect",
                    "protocolMapper": "oidc-audience-mapper",
                    "config": {"included.custom.audience": audience, "access.token.claim": "true"},
                }
            )
        body = {
            "clientId": client_id,
            "publicClient": True,
            "directAccessGrantsEnabled": True,
            "standardFlowEnabled": redirect_uri is not None,
            "redirectUris": [redirect_uri] if redirect_uri else [],
            "attributes": {"pkce.code.challenge.method": "S256"},
            "protocolMappers": mappers,
        }
        created = await self.call("POST", "/clients", json=body)
        return created.headers["location"].rsplit("/", 1)[1]

    async def add_service_client(self, client_id: str, *, audience: str) -> str:
        """A confidential client of its own service account (the client credentials grant, as a service signs
        in to Kafka with OAUTHBEARER), whose tokens are for `audience`; its secret."""
        secret = uuid.uuid4().hex
        body = {
            "clientId": client_id,
            "publicClient": False,
            "secret": secret,
            "serviceAccountsEnabled": True,
            "standardFlowEnabled": False,
            "directAccessGrantsEnabled": False,
            "protocolMappers": [
                {
                    "name": "audience",
                    "protocol": "openid-connect",
                    "protocolMapper": "oidc-audience-mapper",
                    "config": {"included.custom.audience": audience, "access.token.claim": "true"},
                }
            ],
        }
        await self.call("POST", "/clients", json=body)
        return secret

    @property
    def token_url(self) -> str:
        return f"{self.issuer}/protocol/openid-connect/token"

    @property
    def jwks_url(self) -> str:
        return f"{self.issuer}/protocol/openid-connect/certs"

    async def add_user(self, username: str) -> None:
        body = {
            "username": username,
            "enabled": True,
            "email": f"{username}@bank.test",
            "emailVerified": True,
            "firstName": username.title(),
            "lastName": "Tester",
            "credentials": [{"type": "password", "value": PASSWORD, "temporary": False}],
        }
        await self.call("POST", "/users", json=body)

    async def token(self, client_id: str, username: str) -> str:
        """An access token of `username` from `client_id`, as an application obtains it."""
        async with httpx.AsyncClient(base_url=KEYCLOAK, timeout=30) as http:
            response = await http.post(
                f"/realms/{self.name}/protocol/openid-connect/token",
                data={"grant_type": "password", "client_id": client_id, "username": username, "password": PASSWORD},
            )
        response.raise_for_status()
        return str(response.json()["access_token"])

    async def add_key(self, provider: str, priority: int, **config: str) -> str:
        """A new signing key (`rsa-generated`, `ecdsa-generated`); its component id."""
        body = {
            "name": f"{provider}-{priority}",
            "providerId": provider,
            "providerType": "org.keycloak.keys.KeyProvider",
            "parentId": self.name,
            "config": {"priority": [str(priority)], **{k: [v] for k, v in config.items()}},
        }
        created = await self.call("POST", "/components", json=body)
        return created.headers["location"].rsplit("/", 1)[1]

    async def key_components(self, provider: str) -> list[str]:
        found = await self.call("GET", "/components", params={"type": "org.keycloak.keys.KeyProvider"})
        return [c["id"] for c in found.json() if c["providerId"] == provider]

    async def remove_component(self, component_id: str) -> None:
        await self.call("DELETE", f"/components/{component_id}")

    async def set_client_attribute(self, internal_id: str, name: str, value: str) -> None:
        client = (await self.call("GET", f"/clients/{internal_id}")).json()
        client.setdefault("attributes", {})[name] = value
        await self.call("PUT", f"/clients/{internal_id}", json=client)


async def admin_call(method: str, path: str, **kwargs: Any) -> httpx.Response:
    """One call of the admin REST API, with a token of its own (the master realm's last a minute)."""
    async with httpx.AsyncClient(base_url=KEYCLOAK, timeout=30) as http:
        signed_in = await http.post(
            "/realms/master/protocol/openid-connect/token",
            data={"grant_type": "password", "client_id": "admin-cli", "username": "admin", "password": "admin"},
        )
        signed_in.raise_for_status()
        headers = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
        response = await http.request(method, path, headers=headers, **kwargs)
    response.raise_for_status()
    return response


@pytest.fixture(scope="module")
async def realm(keycloak: str) -> AsyncIterator[Realm]:
    name = f"pulse-{uuid.uuid4().hex[:8]}"
    await admin_call("POST", "/admin/realms", json={"id": name, "realm": name, "enabled": True})
    try:
        yield Realm(name)
    finally:
        await admin_call("DELETE", f"/admin/realms/{name}")
