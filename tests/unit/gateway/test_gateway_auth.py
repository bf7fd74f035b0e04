"""Gateway authentication end to end: bearer tokens, 401/403 bodies, /v1/whoami (CONTRACT §4)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from fastapi import APIRouter, Depends
from fastapi.testclient import TestClient

from services.gateway.app import create_app
from services.gateway.security import AdminClaims, current_claims
from shared.auth import Role, SigningKeys, issue_token
from shared.settings import Settings

pytestmark = pytest.mark.unit

SECRET = "gateway-auth-test-secret-0123456789abcdef"
CLOSED_DB = "postgresql://x:y@127.0.0.1:1/z"  # nothing listens on port 1


def _settings() -> Settings:
    return Settings(database_url=CLOSED_DB, jwt_secret=SECRET)


admin_router = APIRouter(prefix="/v1/test")


@admin_router.post("/admin-only", status_code=202)
async def admin_only(claims: AdminClaims) -> dict[str, str]:
    return {"accepted_for": claims.sub}


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    app = create_app(_settings())
    app.include_router(admin_router, dependencies=[Depends(current_claims)])
    with TestClient(app) as test_client:
        yield test_client


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]
    return body


def test_missing_token_gives_our_401(client: TestClient) -> None:
    response = client.get("/v1/whoami")
    body = _assert_error(response, 401, "unauthorized")
    assert "missing" in body["error"]["message"]
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "header",
    [
        "Bearer not-a-jwt",
        "Bearer a.b.c",
        "Bearer ",
        "Basic dXNlcjpwYXNz",  # not a bearer scheme
        "garbage",
    ],
)
def test_garbage_authorization_gives_401(client: TestClient, header: str) -> None:
    _assert_error(client.get("/v1/whoami", headers={"Authorization": header}), 401, "unauthorized")


def test_expired_token_gives_401(client: TestClient) -> None:
    token = issue_token(Role.ADMIN, ttl=dt.timedelta(seconds=-61), sub="tester@bank.test", secret=SECRET)
    body = _assert_error(client.get("/v1/whoami", headers=_auth(token)), 401, "unauthorized")
    assert "expired" in body["error"]["message"]


def test_token_signed_with_another_secret_gives_401(client: TestClient) -> None:
    token = issue_token(Role.ADMIN, sub="tester@bank.test", secret="some-other-secret-0123456789abcdef-xyz")
    _assert_error(client.get("/v1/whoami", headers=_auth(token)), 401, "unauthorized")


def test_unsigned_and_wrong_alg_tokens_give_401(client: TestClient) -> None:
    payload = {"sub": "x", "role": "admin", "exp": int(dt.datetime.now(dt.UTC).timestamp()) + 600}
    for token in (
        jwt.encode(payload, "", algorithm="none"),
        jwt.encode(payload, SECRET * 2, algorithm="HS512"),
    ):
        _assert_error(client.get("/v1/whoami", headers=_auth(token)), 401, "unauthorized")


def test_token_with_bad_claims_gives_401(client: TestClient) -> None:
    now = int(dt.datetime.now(dt.UTC).timestamp())
    payload = {"iss": "pulse", "aud": "pulse-gateway", "sub": "x", "role": "loan_officer", "iat": now,
               "exp": now + 600, "jti": "j"}  # fmt: skip
    token = jwt.encode(payload, SECRET, algorithm="HS256", headers={"kid": SigningKeys.kid_of(SECRET)})
    body = _assert_error(client.get("/v1/whoami", headers=_auth(token)), 401, "unauthorized")
    assert "officer_id" in body["error"]["message"]


@pytest.mark.parametrize(
    ("role", "scope", "loans_scope", "wealth_client", "snapshots"),
    [
        (Role.ADMIN, {}, "all", "ALL", True),
        (Role.TEAM_LEADER, {"branch_id": "B1"}, "branch:B1", None, False),
        (Role.LOAN_OFFICER, {"officer_id": "O1"}, "officer:O1", None, False),
        (Role.CLIENT, {"client_id": "C1"}, None, "C1", False),
    ],
)
def test_whoami_for_each_role(
    client: TestClient,
    role: Role,
    scope: dict[str, str],
    loans_scope: str | None,
    wealth_client: str | None,
    snapshots: bool,
) -> None:
    token = issue_token(
        role,
        sub="tester@bank.test",
        secret=SECRET,
        branch_id=scope.get("branch_id"),
        officer_id=scope.get("officer_id"),
        client_id=scope.get("client_id"),
    )
    response = client.get("/v1/whoami", headers=_auth(token))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["role"] == role.value
    assert body["sub"]
    for name in ("branch_id", "officer_id", "client_id"):
        assert body[name] == scope.get(name)
    assert dt.datetime.fromisoformat(body["expires_at"]) > dt.datetime.now(dt.UTC)
    assert body["permissions"] is None

    verbose = client.get("/v1/whoami", params={"verbose": "true"}, headers=_auth(token)).json()
    assert verbose["permissions"] == {
        "loans_scope": loans_scope,
        "wealth_client": wealth_client,
        "request_snapshots": snapshots,
    }


def test_whoami_bad_query_parameter_gives_422(client: TestClient) -> None:
    token = issue_token(Role.ADMIN, sub="tester@bank.test", secret=SECRET)
    response = client.get("/v1/whoami", params={"verbose": "maybe"}, headers=_auth(token))
    body = _assert_error(response, 422, "invalid_parameters")
    assert "verbose" in body["error"]["message"]


def test_bad_query_parameter_without_token_is_still_401(client: TestClient) -> None:
    _assert_error(client.get("/v1/whoami", params={"verbose": "maybe"}), 401, "unauthorized")


def test_admin_only_route_forbids_other_roles(client: TestClient) -> None:
    officer = issue_token(Role.LOAN_OFFICER, officer_id="O1", sub="tester@bank.test", secret=SECRET)
    _assert_error(client.post("/v1/test/admin-only", headers=_auth(officer)), 403, "forbidden")
    admin = issue_token(Role.ADMIN, sub="tester@bank.test", secret=SECRET)
    response = client.post("/v1/test/admin-only", headers=_auth(admin))
    assert response.status_code == 202
    assert response.json() == {"accepted_for": "tester@bank.test"}
    _assert_error(client.post("/v1/test/admin-only"), 401, "unauthorized")


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics", "/openapi.json"])
def test_open_endpoints_need_no_token(client: TestClient, path: str) -> None:
    assert client.get(path).status_code in (200, 503)
