"""The gateway fuzzed with schemathesis against its own OpenAPI document (CONTRACT §4: "never a 500 for
bad input"), in-process over ASGI, on the real PostgreSQL and Kafka.

The read model is seeded (`test_gateway_authorization.seed_read_model`) so that generated requests reach
200 answers as well as 403, 404 and 422: schemathesis dictionaries offer the known scopes, dates (and the
ends of the calendar), branches, clients and alert ids for half of the generated values. The two POSTs
publish on the real broker under a private topic prefix. Each operation is fuzzed as an admin and as a
team leader with positive and negative data (examples, coverage and fuzzing phases), and again with the
database and the broker unreachable. Every response must

- not be a 5xx (`not_a_server_error`; without database and broker, a documented 503 is the one allowed);
- have a documented status code, content type, headers and body (`status_code_conformance`,
  `content_type_conformance`, `response_headers_conformance`, `response_schema_conformance`);
- reject what the document calls invalid with a 4xx (`negative_data_rejection`);
- need the bearer token it was sent with (`ignored_auth`).

Tokens are fuzzed too: arbitrary claims signed with the gateway's secret, and arbitrary header values.
What the fuzzer found stays below as regression tests.

Bounded: at most `MAX_EXAMPLES` generated cases per operation and phase, derandomized with a fixed seed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import jwt
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.types import Receive, Scope, Send

from services.gateway.app import create_app
from services.gateway.publisher import Publisher
from shared.auth import Role, issue_token
from shared.events.types import IDENTIFIER_PATTERN
from shared.settings import Settings
from tests.integration.test_gateway_authorization import (
    ALERT_IDS,
    SECRET,
    gateway_settings,
    kafka_topics,
    read_model_database,
)
from tests.support.stack import Stack

pytestmark = pytest.mark.integration

GeneratedCase = schemathesis.Case[Any]  # one generated request of an OpenAPI operation

MAX_EXAMPLES = 40
SEED = 20250303
UNREACHABLE = "127.0.0.1:1"  # nothing listens on port 1

CALLERS: dict[str, str] = {
    "admin": issue_token(Role.ADMIN, sub="tester@bank.test", secret=SECRET),
    "team_leader": issue_token(Role.TEAM_LEADER, branch_id="B1", sub="tester@bank.test", secret=SECRET),
}

# Values offered for half of the generated values of these parameters: what the read model holds, what
# it does not, and the first and last day of the calendar.
DICTIONARIES: dict[str, list[str]] = {
    "scopes": ["all", "branch:B1", "branch:B2", "officer:O1", "officer:O3", "branch:NOPE"],
    "dates": ["2025-03-02", "2025-03-03", "2025-03-04", "0001-01-01", "9999-12-31"],
    "branches": ["B1", "B2", "NOPE"],
    "officers": ["O1", "O3"],
    "clients": ["ALL", "C1", "C2", "C9"],
    "alerts": [*ALERT_IDS, "al-unknown"],
}
PARAMETERS: dict[str, str] = {
    "query.scope": "scopes",
    "query.date": "dates",
    "query.from": "dates",
    "query.to": "dates",
    "query.branch": "branches",
    "query.client": "clients",
    "path.client_id": "clients",
    "path.alert_id": "alerts",
    "body.business_date": "dates",
    "body.officer_id": "officers",
}
CHECKS: dict[str, dict[str, Any]] = {
    "not_a_server_error": {"enabled": True},
    "status_code_conformance": {"enabled": True},
    "content_type_conformance": {"enabled": True},
    "response_headers_conformance": {"enabled": True},
    "response_schema_conformance": {"enabled": True},
    "negative_data_rejection": {"enabled": True},
    "ignored_auth": {"enabled": True},
    # Valid by the document is not always accepted: `from` after `to`, a range over 3,660 days, a scope
    # without data are 422 or 404 by rules a JSON schema cannot state.
    "positive_data_acceptance": {"enabled": False},
    # Stateful checks (a resource created by one call and used by the next): the gateway creates none.
    "use_after_free": {"enabled": False},
    "ensure_resource_availability": {"enabled": False},
}


def fuzz_config(*, server_errors: list[str] | None = None) -> schemathesis.Config:
    checks = dict(CHECKS)
    if server_errors is not None:
        checks["not_a_server_error"] = {"enabled": True, "expected-statuses": ["2xx", "3xx", "4xx", *server_errors]}
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "generation": {
                "mode": "all",
                "max-examples": MAX_EXAMPLES,
                "deterministic": True,
                "with-security-parameters": False,  # the callers' tokens are sent; bad tokens are fuzzed below
            },
            "dictionaries": {name: {"values": values} for name, values in DICTIONARIES.items()},
            "parameters": {key: {"dictionary": name, "probability": 0.5} for key, name in PARAMETERS.items()},
            "checks": checks,
        }
    )


class CurrentGateway:
    """The ASGI app schemathesis calls: it hands every request (and the lifespan) to the test's gateway.

    Schemathesis runs an app's lifespan from its first request to the end of the test, and a gateway's
    database pool and publisher do not reopen once closed, so each test gets a gateway of its own.
    """

    def __init__(self) -> None:
        self.app: FastAPI | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.app is not None, "no gateway: use the `healthy_gateway` or `degraded_gateway` fixture"
        await self.app(scope, receive, send)


GATEWAY = CurrentGateway()

# The document does not depend on the settings. Schemathesis makes one test per operation when the module
# is collected, so it is read here from an app built for the purpose.
DOCUMENT = create_app(Settings(database_url=f"postgresql://unused@{UNREACHABLE}/unused", jwt_secret=SECRET)).openapi()
schema = schemathesis.openapi.from_dict(DOCUMENT, config=fuzz_config())
schema.app = GATEWAY
# Without a database or a broker, 503 (documented) is the one server error allowed.
degraded_schema = schemathesis.openapi.from_dict(DOCUMENT, config=fuzz_config(server_errors=["503"]))
degraded_schema.app = GATEWAY


@pytest.fixture(scope="module")
async def backend(stack: Stack) -> AsyncIterator[Settings]:
    """The seeded read model and a private set of topics, as the gateway's settings."""
    async with read_model_database(stack) as url, kafka_topics(stack) as prefix:
        yield gateway_settings(url, stack, prefix)


@pytest.fixture
def healthy_gateway(backend: Settings) -> Iterator[FastAPI]:
    GATEWAY.app = create_app(backend)
    yield GATEWAY.app
    GATEWAY.app = None


@pytest.fixture
def degraded_gateway() -> Iterator[FastAPI]:
    """A gateway whose database and broker are unreachable (Kafka-free: nothing is ever published)."""
    app = create_app(
        Settings(
            database_url=f"postgresql://pulse:pulse@{UNREACHABLE}/pulse",
            kafka_bootstrap_servers=UNREACHABLE,
            jwt_secret=SECRET,
        )
    )
    publisher = app.state.publisher
    assert isinstance(publisher, Publisher)
    publisher.start_timeout = 0.05  # each POST tries to start the producer again: keep the wait short
    GATEWAY.app = app
    yield app
    GATEWAY.app = None


def bounded(max_examples: int) -> settings:
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


@pytest.mark.parametrize("caller", list(CALLERS))
@schema.parametrize()
@bounded(MAX_EXAMPLES)
def test_gateway_conforms_to_its_openapi(case: GeneratedCase, healthy_gateway: FastAPI, caller: str) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {CALLERS[caller]}"})


@degraded_schema.parametrize()
@bounded(10)
def test_gateway_without_database_and_broker_conforms_to_its_openapi(
    case: GeneratedCase, degraded_gateway: FastAPI
) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {CALLERS['admin']}"})


# --- tokens -------------------------------------------------------------------------------------------

CLAIM_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**64), max_value=2**64)
    | st.floats()
    | st.text(max_size=80)
    | st.sampled_from(["admin", "team_leader", "loan_officer", "client", "B1", "O1", "C1"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3),
    max_leaves=6,
)
IDENTIFIERS = st.sampled_from(["B1", "B2", "O1", "O3", "C1", "C2"]) | st.from_regex(IDENTIFIER_PATTERN, fullmatch=True)
NOW = int(dt.datetime.now(dt.UTC).timestamp())


def mostly(right: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A claim that is right three times in four, and anything at all otherwise."""
    return st.one_of(right, right, right, CLAIM_VALUES)


# Claims around a valid token (a few verify), with extra claims of any name and value.
CLAIMS = st.fixed_dictionaries(
    {
        "sub": mostly(st.sampled_from(["fuzz", "admin"])),
        "role": mostly(st.sampled_from([role.value for role in Role])),
        "exp": mostly(st.integers(min_value=NOW + 3600, max_value=2**35)),
    },
    optional={
        "branch_id": mostly(IDENTIFIERS),
        "officer_id": mostly(IDENTIFIERS),
        "client_id": mostly(IDENTIFIERS),
        "iat": mostly(st.integers(min_value=0, max_value=NOW)),
        "nbf": mostly(st.integers(min_value=0, max_value=NOW)),
    },
).flatmap(
    lambda claims: st.dictionaries(st.text(max_size=8), CLAIM_VALUES, max_size=2).map(lambda extra: extra | claims)
)
# Signed with the gateway's own secret: only the claims can be wrong.
SIGNED_TOKENS = CLAIMS.map(lambda claims: jwt.encode(claims, SECRET, algorithm="HS256"))
HEADER_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=200)
BEARER_SIGNED = SIGNED_TOKENS.map(lambda token: f"Bearer {token}")
AUTHORIZATION = st.one_of(
    BEARER_SIGNED,
    BEARER_SIGNED,  # twice as likely as each of the others
    HEADER_TEXT.map(lambda text: f"Bearer {text}"),
    HEADER_TEXT,
    st.lists(st.binary(max_size=40), min_size=1, max_size=4).map(
        lambda parts: "Bearer " + ".".join(jwt.utils.base64url_encode(p).decode() for p in parts)
    ),
)


class SyncGateway:
    """A gateway on an event loop of its own, called synchronously (Hypothesis tests are synchronous)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.runner = asyncio.Runner()
        self.lifespan = app.router.lifespan_context(app)
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://gateway")

    def __enter__(self) -> SyncGateway:
        self.runner.run(self.lifespan.__aenter__())
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.runner.run(self.client.aclose())
            self.runner.run(self.lifespan.__aexit__(None, None, None))
        finally:
            self.runner.close()

    def get(self, path: str, authorization: bytes) -> httpx.Response:
        return self.runner.run(self.client.get(path, headers={b"authorization": authorization}))


@pytest.fixture
def token_client(backend: Settings) -> Iterator[SyncGateway]:
    with SyncGateway(create_app(backend)) as gateway:
        yield gateway


@bounded(300)
@given(authorization=AUTHORIZATION, path=st.sampled_from(["/v1/whoami", "/v1/loans/summary", "/v1/wealth/summary"]))
def test_any_token_is_answered_without_a_server_error(token_client: SyncGateway, authorization: str, path: str) -> None:
    response = token_client.get(path, authorization.encode("latin-1"))
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"error"}, body
        assert set(body["error"]) == {"code", "message"}, body
    if response.status_code == 401:
        assert response.json()["error"]["code"] == "unauthorized"


# --- the document, and regressions found by the fuzzer -------------------------------------------------


@pytest.fixture(scope="module")
async def http(backend: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(backend)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://gateway") as client,
    ):
        yield client


async def test_the_fuzzed_document_is_the_one_served(http: httpx.AsyncClient) -> None:
    response = await http.get("/openapi.json")
    assert response.status_code == 200
    assert response.json() == json.loads(json.dumps(DOCUMENT))


def test_the_document_declares_every_error_of_every_operation() -> None:
    """401/403/404/422 (with the error body) on every authenticated operation, 503 wherever the database or
    the broker is used, 202 for the POSTs, and the content of every success (also of the ops endpoints)."""
    error_body = {"$ref": "#/components/schemas/ErrorBody"}
    uses_database = ("/v1/loans/", "/v1/wealth/", "/v1/alerts")
    for path, operations in DOCUMENT["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            success = "202" if method == "post" else "200"
            assert success in responses, (method, path)
            assert responses[success]["content"], (method, path)
            if path.startswith("/v1/"):
                for status in ("401", "403", "404", "422"):
                    assert responses[status]["content"]["application/json"]["schema"] == error_body, (path, status)
                assert responses["401"]["headers"]["WWW-Authenticate"]["required"] is True
                assert operation["security"] == [{"bearerAuth": []}]
            if path.startswith(uses_database) or method == "post" or path == "/readyz":
                assert responses["503"]["content"]["application/json"]["schema"] == error_body, (method, path)


# One bound given, the other defaulted to 3,660 days away from it (clamped to the data): beyond the calendar's
# ends that was an OverflowError, a 500. It stops at the calendar's end instead.
CALENDAR_ENDS: list[tuple[dict[str, str], str, str]] = [  # (parameters, first day read, last day read)
    ({"from": "9999-12-01"}, "9999-12-01", "9999-12-01"),
    ({"from": "9999-12-31"}, "9999-12-31", "9999-12-31"),
    ({"to": "0001-01-02"}, "0001-01-02", "0001-01-02"),
    ({"to": "0001-01-01"}, "0001-01-01", "0001-01-01"),
    ({"from": "0001-01-01", "to": "0001-01-01"}, "0001-01-01", "0001-01-01"),
    ({"from": "0001-01-01"}, "0001-01-01", "0011-01-08"),
    ({"to": "9999-12-31"}, "9989-12-24", "9999-12-31"),
    ({"from": "9989-12-24", "to": "9999-12-31"}, "9989-12-24", "9999-12-31"),
]


@pytest.mark.parametrize("path", ["/v1/loans/history", "/v1/loans/export.csv"])
@pytest.mark.parametrize(
    ("params", "first_day", "last_day"),
    CALENDAR_ENDS,
    ids=["&".join(f"{k}={v}" for k, v in params.items()) for params, _, _ in CALENDAR_ENDS],
)
async def test_history_at_the_ends_of_the_calendar(
    http: httpx.AsyncClient, path: str, params: dict[str, str], first_day: str, last_day: str
) -> None:
    headers = {"Authorization": f"Bearer {CALLERS['admin']}"}
    response = await http.get(path, params={"scope": "all", **params}, headers=headers)
    assert response.status_code == 200, response.text
    if path.endswith(".csv"):
        assert response.headers["content-disposition"] == f'attachment; filename="loans-all-{first_day}-{last_day}.csv"'
        assert response.text.count("\r\n") == 1  # the header only: no data that far away
    else:
        assert json.loads(response.text) == []
    span = (dt.date.fromisoformat(last_day) - dt.date.fromisoformat(first_day)).days + 1
    assert span <= 3660
