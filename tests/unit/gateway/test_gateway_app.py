"""Gateway plumbing without a database: health, readiness, metrics, OpenAPI, error bodies (CONTRACT §4)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.testclient import TestClient

from services.gateway import __version__
from services.gateway.app import create_app
from services.gateway.errors import not_found
from services.gateway.pages.oidc import Flow
from services.gateway.security import BEARER_SCHEME_NAME, current_claims
from shared.auth import Role, issue_token
from shared.settings import Settings

pytestmark = pytest.mark.unit

SECRET = "gateway-app-test-secret-0123456789abcdef"
CLOSED_DB = "postgresql://x:y@127.0.0.1:1/z"  # nothing listens on port 1
LEAKY_DETAIL = "password=hunter2 at db.internal:5432"

extra_router = APIRouter(prefix="/v1/test", tags=["test"])


@extra_router.get("/items/{item_id}")
async def get_item(item_id: int) -> dict[str, int]:
    if item_id == 404:
        raise not_found(f"no item {item_id}")
    return {"item_id": item_id}


@extra_router.get("/boom")
async def boom() -> dict[str, str]:
    raise RuntimeError(LEAKY_DETAIL)


def _app() -> FastAPI:
    app = create_app(Settings(database_url=CLOSED_DB, jwt_secret=SECRET))
    app.include_router(extra_router, dependencies=[Depends(current_claims)])
    return app


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(_app()) as test_client:  # runs the lifespan: the app starts although the DB is down
        yield test_client


@pytest.fixture
def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(Role.ADMIN, sub='tester@bank.test', secret=SECRET)}"}


def _error(response: Any, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body == {"error": {"code": code, "message": body["error"]["message"]}}
    message = body["error"]["message"]
    assert isinstance(message, str)
    return message


def test_healthz(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_503_while_the_database_is_down(client: TestClient) -> None:
    for _ in range(2):  # each call retries the connection
        _error(client.get("/readyz"), 503, "unavailable")
    assert client.app.state.db.last_error is not None  # type: ignore[attr-defined]


def test_readyz_is_200_once_select_1_works(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    async def ping() -> bool:
        return True

    monkeypatch.setattr(client.app.state.db, "ping", ping)  # type: ignore[attr-defined]
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


def test_app_starts_without_running_the_lifespan() -> None:
    test_client = TestClient(_app())  # no `with`: no lifespan, the pool is opened on demand
    assert test_client.get("/healthz").status_code == 200
    _error(test_client.get("/readyz"), 503, "unavailable")


def test_unknown_route_gives_our_404(client: TestClient, auth: dict[str, str]) -> None:
    message = _error(client.get("/nope"), 404, "not_found")
    assert "/nope" in message
    _error(client.get("/v1/nothing/here", headers=auth), 404, "not_found")
    _error(client.get("/v1/nothing/here"), 404, "not_found")


def test_api_error_404_keeps_its_message(client: TestClient, auth: dict[str, str]) -> None:
    assert _error(client.get("/v1/test/items/404", headers=auth), 404, "not_found") == "no item 404"


def test_path_parameter_validation_gives_422(client: TestClient, auth: dict[str, str]) -> None:
    message = _error(client.get("/v1/test/items/abc", headers=auth), 422, "invalid_parameters")
    assert "item_id" in message


def test_wrong_method_gives_our_405(client: TestClient) -> None:
    _error(client.post("/healthz"), 405, "method_not_allowed")


def test_unexpected_error_gives_500_without_details(
    client: TestClient, auth: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        response = client.get("/v1/test/boom", headers=auth)
    message = _error(response, 500, "internal_error")
    assert "hunter2" not in response.text
    assert message == "internal error"
    logged = [r for r in caplog.records if r.exc_info and isinstance(r.exc_info[1], RuntimeError)]
    assert len(logged) == 1  # logged once, with its traceback


def test_metrics_use_route_templates(client: TestClient, auth: dict[str, str]) -> None:
    client.get("/healthz")
    client.get("/v1/whoami", headers=auth)
    client.get("/v1/whoami")
    client.get("/v1/test/items/42", headers=auth)
    client.get("/v1/test/items/43", headers=auth)
    client.get("/v1/test/boom", headers=auth)
    client.get("/no/such/route/123")

    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'pulse_http_requests_total{method="GET",route="/healthz",status="200"} 1.0' in text
    assert 'pulse_http_requests_total{method="GET",route="/v1/whoami",status="200"} 1.0' in text
    assert 'pulse_http_requests_total{method="GET",route="/v1/whoami",status="401"} 1.0' in text
    assert 'pulse_http_requests_total{method="GET",route="/v1/test/items/{item_id}",status="200"} 2.0' in text
    assert 'pulse_http_requests_total{method="GET",route="/v1/test/boom",status="500"} 1.0' in text
    assert 'pulse_http_requests_total{method="GET",route="<unmatched>",status="404"} 1.0' in text
    assert "/v1/test/items/42" not in text
    assert "/no/such/route" not in text
    assert 'pulse_http_request_duration_seconds_count{method="GET",route="/v1/test/items/{item_id}"} 2.0' in text
    assert 'pulse_db_pool_size{service="gateway"} 0.0' in text
    assert 'pulse_db_pool_in_use{service="gateway"} 0.0' in text


def test_each_app_has_its_own_registry() -> None:
    first, second = TestClient(_app()), TestClient(_app())
    first.get("/healthz")
    assert 'route="/healthz"' in first.get("/metrics").text
    assert 'route="/healthz"' not in second.get("/metrics").text


def test_openapi_declares_the_bearer_scheme(client: TestClient) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    assert spec["info"]["title"] == "Pulse gateway"
    assert spec["info"]["version"] == __version__
    scheme = spec["components"]["securitySchemes"][BEARER_SCHEME_NAME]
    assert scheme["type"] == "http"
    assert scheme["scheme"].lower() == "bearer"
    assert scheme["bearerFormat"] == "JWT"

    whoami = spec["paths"]["/v1/whoami"]["get"]
    assert whoami["security"] == [{BEARER_SCHEME_NAME: []}]
    for status in ("401", "403", "422"):
        schema_ref = whoami["responses"][status]["content"]["application/json"]["schema"]["$ref"]
        assert schema_ref.endswith("/ErrorBody")
    for open_path in ("/healthz", "/readyz", "/metrics"):
        assert "security" not in spec["paths"][open_path]["get"]


def test_the_providers_sign_in_without_a_provider_configured_is_the_sign_in_form(client: TestClient) -> None:
    flow = Flow.start("/alerts")
    client.cookies.set("pulse_oidc", flow.cookie())  # even with a flow cookie planted
    started = client.get("/signin/oidc", params={"next": "/alerts"}, follow_redirects=False)
    assert (started.status_code, started.headers["location"]) == (303, "/signin?next=%2Falerts")
    back = client.get("/signin/oidc/callback", params={"code": "c", "state": flow.state}, follow_redirects=False)
    assert back.status_code == 303
    assert back.headers["location"] == "/signin?next=%2Falerts&reason=oidc_failed"
