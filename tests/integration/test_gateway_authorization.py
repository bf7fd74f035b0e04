"""Who may call what on the gateway: the role × endpoint authorisation matrix (CONTRACT §4), on the real
PostgreSQL and Kafka.

The read model holds data for every scope a case names, so that an allowed request is a 200 (or a 202 for
the two POSTs, which publish on the real broker) and never a 404 that would hide a missing check. Each
row of `MATRIX` is one case of the specification: a role, a request, whether it is inside the role's
scope, and the exact status. Every endpoint also refuses a missing, expired, forged, `alg: none` or
unknown-role token with 401, and the three operational endpoints need no token.

The helpers building the read model (`read_model_database`, `kafka_topics`) are shared with the fuzzing
test (`test_gateway_fuzz.py`).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from services.gateway.app import create_app
from shared.auth import Role, issue_token
from shared.db import Connection, create_pool, migrate
from shared.settings import Settings
from tests.support.kafka import create_topics, delete_topics
from tests.support.stack import Stack, login_url, scratch_database

pytestmark = pytest.mark.integration

SECRET = "gateway-authorization-test-secret-0123456789abcdefghijklmnopqrstuvwxyz"  # ≥ 64 bytes (HS512 case)
OTHER_SECRET = "not-the-gateway-secret-0123456789abcdefghij"
MIGRATIONS = Path(__file__).resolve().parents[2] / "services/aggregator/migrations"

D2, D3 = dt.date(2025, 3, 2), dt.date(2025, 3, 3)
RAISED_AT = dt.datetime(2025, 3, 4, 1, 0, tzinfo=dt.UTC)
D = Decimal

# --- the read model: every scope a case names has data ------------------------------------------------
# Branch B1 holds officers O1 and O2, branch B2 officer O3. Wealth clients C1 and C2. One alert per scope.

LOAN_SCOPES: list[tuple[str, str | None, str | None]] = [  # (scope, branch_id, officer_id)
    ("all", None, None),
    ("branch:B1", "B1", None),
    ("branch:B2", "B2", None),
    ("officer:O1", "B1", "O1"),
    ("officer:O2", "B1", "O2"),
    ("officer:O3", "B2", "O3"),
]
WEALTH_CLIENTS = ("C1", "C2")
ALERTS: list[tuple[str, str, str | None, str | None]] = [  # (alert_id, scope, branch_id, officer_id)
    ("al-all", "all", None, None),
    ("al-b1", "branch:B1", "B1", None),
    ("al-b2", "branch:B2", "B2", None),
    ("al-o1", "officer:O1", "B1", "O1"),
    ("al-o2", "officer:O2", "B1", "O2"),
    ("al-o3", "officer:O3", "B2", "O3"),
]
ALERT_IDS = tuple(alert_id for alert_id, *_ in ALERTS)
JSONB_COLUMNS = frozenset({"asset_allocation", "custodian_allocation", "bond_maturity", "values"})


def loan_row(scope: str, branch: str | None, officer: str | None, day: dt.date) -> dict[str, Any]:
    """Unrounded figures with half-up ties and long fractions; the latest day's score is just critical."""
    latest = day == D3
    return {
        "scope": scope,
        "business_date": day,
        "revision": 2 if latest else 1,
        "kind": scope.partition(":")[0],
        "branch_id": branch,
        "officer_id": officer,
        "officer_name": f"Officer {officer}" if officer is not None else None,
        "total_clients": 12,
        "active_clients": 10,
        "total_loans": 15,
        "active_loans": 11,
        "total_disbursed": D("2.345"),
        "total_outstanding": D("168000.005"),
        "total_collected": D("1234.5649"),
        "par_30": D("13.392857142857142857"),
        "par_60": D("1.00005"),
        "par_90": D(0),
        "default_rate": D("0.123449999"),
        "collection_rate": D(100),
        "portfolio_yield": D("25.55555"),
        "growth_rate": D("-2.00005"),
        "new_clients_30d": 2,
        "exited_clients_30d": 1,
        "health_score": D("49.995") if latest else D("61.225"),
        "health_category": "critical" if latest else "warning",
    }


def wealth_row(client: str, day: dt.date) -> dict[str, Any]:
    return {
        "client_id": client,
        "as_of": day,
        "revision": 1,
        "total_value": D("1234.565"),
        "estimated_annual_income": D("10.004"),
        "net_external_flows": D(20),
        "period_return_dollar": D("-0.005"),
        "period_return_percent": D("4.878048780487804878"),
        "monthly_return_dollar": D("12.5"),
        "monthly_return_percent": None,  # not computable
        "ytd_return_dollar": D(0),
        "ytd_return_percent": D(0),
        "inception_dollar_performance": D("234.565"),
        "inception_return_pct": D("23.45645"),
        "asset_allocation": [
            {"name": "Equity", "value": "1000.005"},
            {"name": "Bonds", "value": 234.56},
            {"name": "Cash", "value": 0},
        ],
        "custodian_allocation": [{"name": "BankA", "value": "1234.565"}],
        "bond_maturity": [{"year": 2031, "value": "34.56"}],
    }


def wealth_totals(day: dt.date) -> dict[str, Any]:
    figures = {
        "period": (D("-0.01"), D(-2000), D(410), 2),
        "monthly": (D(25), D(0), D(0), 2),  # windows, but none computable: null
        "ytd": (D(0), D(0), D(0), 0),
        "inception": (D("469.13"), D(1), D(20000), 2),
    }
    row: dict[str, Any] = {
        "as_of": day,
        "client_count": len(WEALTH_CLIENTS),
        "total_aum": D("2469.13"),
        "estimated_annual_income": D("20.008"),
        "net_external_flows": D(40),
    }
    for figure, (dollar, weighted, capital, windows) in figures.items():
        row |= {
            f"{figure}_dollar": dollar,
            f"{figure}_weighted": weighted,
            f"{figure}_capital": capital,
            f"{figure}_windows": windows,
        }
    return row


def allocation_row(day: dt.date, dimension: str, name: str, value: Decimal) -> dict[str, Any]:
    return {"as_of": day, "dimension": dimension, "name": name, "value": value}


def alert_row(n: int, alert_id: str, scope: str, branch: str | None, officer: str | None) -> dict[str, Any]:
    return {
        "alert_id": alert_id,
        "alert_type": "high_par",
        "severity": "warning",
        "scope": scope,
        "kind": scope.partition(":")[0],
        "branch_id": branch,
        "officer_id": officer,
        "officer_name": f"Officer {officer}" if officer is not None else None,
        "business_date": D3,
        "last_business_date": D3,
        "status": "open",
        "raised_at": RAISED_AT - dt.timedelta(minutes=n),
        "revision": 1,
        "values": {"par_30": "13.392857142857142857", "health_score": "49.995"},
    }


async def insert(conn: Connection, table: str, rows: list[dict[str, Any]]) -> None:
    columns = list(rows[0])
    values = ", ".join(
        f"${i}::text::jsonb" if column in JSONB_COLUMNS else f"${i}" for i, column in enumerate(columns, start=1)
    )
    await conn.executemany(
        f"INSERT INTO aggregator.{table} ({', '.join(columns)}) VALUES ({values})",
        [tuple(_jsonb(row[c]) if c in JSONB_COLUMNS else row[c] for c in columns) for row in rows],
    )


def _jsonb(value: Any) -> str:
    """JSON text whose numbers keep their digits: numbers written as strings become JSON numbers."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in value.items()) + "}"
    return json.dumps(value)


async def seed_read_model(conn: Connection) -> None:
    """The aggregator's read model: every scope, client and alert above, on two days."""
    await insert(conn, "loan_summaries", [loan_row(*scope, day) for scope in LOAN_SCOPES for day in (D2, D3)])
    await insert(conn, "wealth_client_days", [wealth_row(client, day) for client in WEALTH_CLIENTS for day in (D2, D3)])
    await insert(conn, "wealth_date_totals", [wealth_totals(day) for day in (D2, D3)])
    await insert(
        conn,
        "wealth_date_allocations",
        [
            allocation_row(day, dimension, name, value)
            for day in (D2, D3)
            for dimension, name, value in (
                ("asset_class", "Equity", D("2000.01")),
                ("asset_class", "Bonds", D("469.12")),
                ("custodian", "BankA", D("2469.13")),
                ("bond_year", "2031", D("69.12")),
            )
        ],
    )
    await insert(conn, "alerts", [alert_row(n, *alert) for n, alert in enumerate(ALERTS)])


@asynccontextmanager
async def read_model_database(stack: Stack) -> AsyncIterator[str]:
    """A new database holding the aggregator's schema and `seed_read_model`'s rows: its URL."""
    async with scratch_database(stack.database_url, "pulse_tgz") as url:
        pool = await create_pool(url, retry=False)
        try:
            await migrate(pool, "aggregator", MIGRATIONS)
            async with pool.acquire() as conn:
                await seed_read_model(conn)
        finally:
            await pool.close()
        yield url


@asynccontextmanager
async def kafka_topics(stack: Stack) -> AsyncIterator[str]:
    """Every topic under a fresh prefix on the real broker: the prefix."""
    prefix = f"t{uuid.uuid4().hex[:10]}-"
    await create_topics(stack.kafka_bootstrap, prefix)
    try:
        yield prefix
    finally:
        await delete_topics(stack.kafka_bootstrap, prefix)


def gateway_settings(database_url: str, stack: Stack, prefix: str) -> Settings:
    return Settings(
        database_url=login_url(database_url, "gateway"),
        migration_database_url=login_url(database_url, "owner"),
        kafka_bootstrap_servers=stack.kafka_bootstrap,
        topic_prefix=prefix,
        jwt_secret=SECRET,
    )


# --- callers ------------------------------------------------------------------------------------------

TOKENS: dict[str, str] = {
    "admin": issue_token(Role.ADMIN, sub="ops@bank.test", secret=SECRET),
    "team_leader": issue_token(
        Role.TEAM_LEADER, branch_id="B1", sub="nia@bank.test", secret=SECRET
    ),  # branch B1: O1, O2
    "loan_officer": issue_token(
        Role.LOAN_OFFICER, officer_id="O1", sub="tester@bank.test", secret=SECRET
    ),  # in branch B1
    "client": issue_token(Role.CLIENT, client_id="C1", sub="tester@bank.test", secret=SECRET),
}


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _in(hours: float) -> int:
    return int((dt.datetime.now(dt.UTC) + dt.timedelta(hours=hours)).timestamp())


# Tokens that must all be refused with 401, whatever the endpoint.
BAD_TOKENS: dict[str, str | None] = {
    "no token": None,
    "expired": issue_token(Role.ADMIN, sub="ops@bank.test", secret=SECRET, ttl=dt.timedelta(minutes=-1)),
    "forged (signed with another secret)": issue_token(Role.ADMIN, sub="ops@bank.test", secret=OTHER_SECRET),
    "alg none": ".".join(
        [_b64({"alg": "none", "typ": "JWT"}), _b64({"sub": "admin", "role": "admin", "exp": _in(1)}), ""]
    ),
    "unknown role": jwt.encode({"sub": "root", "role": "superuser", "exp": _in(1)}, SECRET, algorithm="HS256"),
    "HS512 instead of HS256": jwt.encode({"sub": "admin", "role": "admin", "exp": _in(1)}, SECRET, algorithm="HS512"),
    "role without its scope claim": jwt.encode({"sub": "tl", "role": "team_leader", "exp": _in(1)}, SECRET, "HS256"),
    "no expiry": jwt.encode({"sub": "admin", "role": "admin"}, SECRET, algorithm="HS256"),
    "not a JWT": "not-a-jwt",
}


# --- the specification --------------------------------------------------------------------------------

SNAPSHOT_BODY = {"business_date": "2025-03-03", "officer_id": "O1", "force": False}


@dataclass(frozen=True)
class Case:
    role: str
    method: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    in_scope: bool = True
    status: int = 200

    @property
    def id(self) -> str:
        query = "&".join(f"{k}={v}" for k, v in self.params.items())
        where = "in" if self.in_scope else "out"
        return f"{self.role}-{self.method} {self.path}{'?' + query if query else ''}-{where}-{self.status}"


def ok(role: str, method: str, path: str, **params: str) -> Case:
    return Case(role, method, path, params, in_scope=True, status=202 if method == "POST" else 200)


def refused(role: str, method: str, path: str, **params: str) -> Case:
    return Case(role, method, path, params, in_scope=False, status=403)


GET, POST = "GET", "POST"
SUMMARY, OFFICERS, HISTORY = "/v1/loans/summary", "/v1/loans/officers", "/v1/loans/history"
EXPORT, WEALTH, ALERTS_PATH, SNAPSHOTS = (
    "/v1/loans/export.csv",
    "/v1/wealth/summary",
    "/v1/alerts",
    "/v1/snapshots/requests",
)


def wealth_history(client: str) -> str:
    return f"/v1/wealth/clients/{client}/history"


def ack(alert_id: str) -> str:
    return f"/v1/alerts/{alert_id}/ack"


# One row per case: (role, request) → in scope or not → the exact status.
MATRIX: list[Case] = [
    # GET /v1/loans/summary, /history, /export.csv: admin everything; a team leader their branch and its
    # officers; a loan officer themselves; a client nothing.
    *(
        case
        for path in (SUMMARY, HISTORY, EXPORT)
        for case in (
            ok("admin", GET, path),
            ok("admin", GET, path, scope="all"),
            ok("admin", GET, path, scope="branch:B2"),
            ok("admin", GET, path, scope="officer:O3"),
            ok("team_leader", GET, path),
            ok("team_leader", GET, path, scope="branch:B1"),
            ok("team_leader", GET, path, scope="officer:O1"),
            ok("team_leader", GET, path, scope="officer:O2"),
            refused("team_leader", GET, path, scope="all"),
            refused("team_leader", GET, path, scope="branch:B2"),
            refused("team_leader", GET, path, scope="officer:O3"),
            ok("loan_officer", GET, path),
            ok("loan_officer", GET, path, scope="officer:O1"),
            refused("loan_officer", GET, path, scope="officer:O2"),
            refused("loan_officer", GET, path, scope="branch:B1"),
            refused("loan_officer", GET, path, scope="all"),
            refused("client", GET, path),
            refused("client", GET, path, scope="officer:O1"),
            refused("client", GET, path, scope="all"),
        )
    ),
    # GET /v1/loans/officers
    ok("admin", GET, OFFICERS),
    ok("admin", GET, OFFICERS, branch="B2"),
    ok("team_leader", GET, OFFICERS),
    ok("team_leader", GET, OFFICERS, branch="B1"),
    refused("team_leader", GET, OFFICERS, branch="B2"),
    ok("loan_officer", GET, OFFICERS),
    ok("loan_officer", GET, OFFICERS, branch="B1"),
    refused("loan_officer", GET, OFFICERS, branch="B2"),
    refused("client", GET, OFFICERS),
    refused("client", GET, OFFICERS, branch="B1"),
    # GET /v1/wealth/summary: admin every client and ALL; a client only itself; loans roles nothing.
    ok("admin", GET, WEALTH),
    ok("admin", GET, WEALTH, client="ALL"),
    ok("admin", GET, WEALTH, client="C2"),
    refused("team_leader", GET, WEALTH),
    refused("team_leader", GET, WEALTH, client="C1"),
    refused("loan_officer", GET, WEALTH),
    refused("loan_officer", GET, WEALTH, client="C1"),
    ok("client", GET, WEALTH),
    ok("client", GET, WEALTH, client="C1"),
    refused("client", GET, WEALTH, client="C2"),
    refused("client", GET, WEALTH, client="ALL"),
    # GET /v1/wealth/clients/{id}/history
    ok("admin", GET, wealth_history("C1")),
    ok("admin", GET, wealth_history("C2")),
    refused("team_leader", GET, wealth_history("C1")),
    refused("loan_officer", GET, wealth_history("C1")),
    ok("client", GET, wealth_history("C1")),
    refused("client", GET, wealth_history("C2")),
    # GET /v1/alerts: admin all; a team leader their branch's (branch and officer scopes, never `all`);
    # a loan officer their own; a client none.
    ok("admin", GET, ALERTS_PATH),
    ok("admin", GET, ALERTS_PATH, scope="all"),
    ok("admin", GET, ALERTS_PATH, scope="branch:B2"),
    ok("admin", GET, ALERTS_PATH, scope="officer:O3"),
    ok("team_leader", GET, ALERTS_PATH),
    ok("team_leader", GET, ALERTS_PATH, scope="branch:B1"),
    ok("team_leader", GET, ALERTS_PATH, scope="officer:O1"),
    refused("team_leader", GET, ALERTS_PATH, scope="all"),
    refused("team_leader", GET, ALERTS_PATH, scope="branch:B2"),
    refused("team_leader", GET, ALERTS_PATH, scope="officer:O3"),
    ok("loan_officer", GET, ALERTS_PATH),
    ok("loan_officer", GET, ALERTS_PATH, scope="officer:O1"),
    refused("loan_officer", GET, ALERTS_PATH, scope="officer:O2"),
    refused("loan_officer", GET, ALERTS_PATH, scope="branch:B1"),
    refused("loan_officer", GET, ALERTS_PATH, scope="all"),
    refused("client", GET, ALERTS_PATH),
    refused("client", GET, ALERTS_PATH, scope="officer:O1"),
    # POST /v1/alerts/{id}/ack: the alerts the caller may see.
    ok("admin", POST, ack("al-all")),
    ok("admin", POST, ack("al-o3")),
    ok("team_leader", POST, ack("al-b1")),
    ok("team_leader", POST, ack("al-o1")),
    refused("team_leader", POST, ack("al-all")),
    refused("team_leader", POST, ack("al-b2")),
    refused("team_leader", POST, ack("al-o3")),
    ok("loan_officer", POST, ack("al-o1")),
    refused("loan_officer", POST, ack("al-o2")),
    refused("loan_officer", POST, ack("al-b1")),
    refused("loan_officer", POST, ack("al-all")),
    refused("client", POST, ack("al-o1")),
    refused("client", POST, ack("al-all")),
    # POST /v1/snapshots/requests: admins only.
    ok("admin", POST, SNAPSHOTS),
    refused("team_leader", POST, SNAPSHOTS),
    refused("loan_officer", POST, SNAPSHOTS),
    refused("client", POST, SNAPSHOTS),
]

ENDPOINTS: list[tuple[str, str]] = [
    (GET, SUMMARY),
    (GET, OFFICERS),
    (GET, HISTORY),
    (GET, EXPORT),
    (GET, WEALTH),
    (GET, wealth_history("C1")),
    (GET, ALERTS_PATH),
    (POST, ack("al-o1")),
    (POST, SNAPSHOTS),
    (GET, "/v1/whoami"),
]
OPERATIONAL = ["/healthz", "/readyz", "/metrics"]


def endpoint_of(method: str, path: str) -> tuple[str, str]:
    """The endpoint (method and path template) a request goes to."""
    if path.startswith("/v1/wealth/clients/"):
        return method, "/v1/wealth/clients/{client_id}/history"
    if path.startswith("/v1/alerts/"):
        return method, "/v1/alerts/{alert_id}/ack"
    return method, path


def test_the_matrix_covers_every_role_and_endpoint_in_and_out_of_scope() -> None:
    """Every role meets every scoped endpoint, and every role but admin is refused something on each."""
    endpoints = {endpoint_of(method, path) for method, path in ENDPOINTS} - {(GET, "/v1/whoami")}
    assert len(endpoints) == 9
    for role in TOKENS:
        for endpoint in endpoints:
            cases = [c for c in MATRIX if c.role == role and endpoint_of(c.method, c.path) == endpoint]
            assert cases, (role, endpoint)
            if role != "admin":
                assert any(not c.in_scope for c in cases), (role, endpoint)
    assert len({c.id for c in MATRIX}) == len(MATRIX)


# --- the gateway --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def gateway(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with read_model_database(stack) as url, kafka_topics(stack) as prefix:
        app = create_app(gateway_settings(url, stack, prefix))
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://gateway") as http,
        ):
            yield http


async def call(http: httpx.AsyncClient, method: str, path: str, token: str | None, **params: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    if method == POST:
        body = SNAPSHOT_BODY if path == SNAPSHOTS else None
        return await http.post(path, json=body, headers=headers)
    return await http.get(path, params=params, headers=headers)


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message"}, body
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]


@pytest.mark.parametrize("case", MATRIX, ids=lambda case: case.id)
async def test_role_and_scope(gateway: httpx.AsyncClient, case: Case) -> None:
    response = await call(gateway, case.method, case.path, TOKENS[case.role], **case.params)
    if case.status == 403:
        assert_error(response, 403, "forbidden")
        return
    assert response.status_code == case.status, response.text
    if case.path == EXPORT:
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
        assert response.text.startswith("scope,as_of,")
    elif case.method == POST:
        assert set(response.json()) == {"event_id"}
    else:
        assert response.headers["content-type"] == "application/json"
        assert response.json()  # some data: an allowed scope is never answered with an empty result here


@pytest.mark.parametrize(("method", "path"), ENDPOINTS, ids=[f"{m} {p}" for m, p in ENDPOINTS])
@pytest.mark.parametrize("token", list(BAD_TOKENS.values()), ids=list(BAD_TOKENS))
async def test_a_bad_token_is_401(gateway: httpx.AsyncClient, method: str, path: str, token: str | None) -> None:
    response = await call(gateway, method, path, token)
    assert_error(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(("method", "path"), ENDPOINTS, ids=[f"{m} {p}" for m, p in ENDPOINTS])
@pytest.mark.parametrize(
    "authorization",
    ["Basic YWRtaW46YWRtaW4=", "Bearer", "Bearer ", "bearer-" + TOKENS["admin"], TOKENS["admin"]],
    ids=["basic scheme", "bearer without token", "bearer with blank token", "no scheme separator", "no scheme"],
)
async def test_a_malformed_authorization_header_is_401(
    gateway: httpx.AsyncClient, method: str, path: str, authorization: str
) -> None:
    if method == POST:
        response = await gateway.post(path, json=SNAPSHOT_BODY, headers={"Authorization": authorization})
    else:
        response = await gateway.get(path, headers={"Authorization": authorization})
    assert_error(response, 401, "unauthorized")


async def test_401_comes_before_403_and_422(gateway: httpx.AsyncClient) -> None:
    """A caller without a valid token learns nothing about scopes or parameters."""
    forged = BAD_TOKENS["forged (signed with another secret)"]
    for params in ({"scope": "branch:B2"}, {"scope": "not a scope"}, {"date": "2025-13-01"}):
        assert_error(await call(gateway, GET, SUMMARY, forged, **params), 401, "unauthorized")
    bad_body = await gateway.post(SNAPSHOTS, content=b"{not json", headers={"Authorization": f"Bearer {forged}"})
    assert_error(bad_body, 401, "unauthorized")
    assert_error(await call(gateway, POST, ack("no-such-alert"), None), 401, "unauthorized")


async def test_403_comes_before_404_and_422(gateway: httpx.AsyncClient) -> None:
    """Outside the caller's scope is a 403 whether or not the scope has data or the body is valid."""
    leader, officer, client = TOKENS["team_leader"], TOKENS["loan_officer"], TOKENS["client"]
    assert_error(await call(gateway, GET, SUMMARY, leader, scope="branch:NOPE"), 403, "forbidden")
    assert_error(await call(gateway, GET, HISTORY, officer, scope="officer:NOBODY"), 403, "forbidden")
    assert_error(await call(gateway, GET, WEALTH, client, client="C9"), 403, "forbidden")
    assert_error(await call(gateway, GET, wealth_history("C9"), client), 403, "forbidden")
    bad_body = await gateway.post(SNAPSHOTS, content=b"{not json", headers={"Authorization": f"Bearer {leader}"})
    assert_error(bad_body, 403, "forbidden")
    # Inside the scope, no data is a 404.
    assert_error(await call(gateway, GET, SUMMARY, TOKENS["admin"], scope="branch:NOPE"), 404, "not_found")
    assert_error(await call(gateway, POST, ack("no-such-alert"), TOKENS["admin"]), 404, "not_found")


@pytest.mark.parametrize("path", OPERATIONAL)
@pytest.mark.parametrize("token", [None, "not-a-jwt", TOKENS["client"]], ids=["no token", "bad token", "client"])
async def test_operational_endpoints_need_no_token(gateway: httpx.AsyncClient, path: str, token: str | None) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    response = await gateway.get(path, headers=headers)
    assert response.status_code == 200, response.text
    if path == "/metrics":
        assert response.headers["content-type"].startswith("text/plain")
    else:
        assert response.json()["status"] in ("ok", "ready")


async def test_an_unknown_route_is_404_and_a_wrong_method_405_even_without_a_token(gateway: httpx.AsyncClient) -> None:
    assert_error(await gateway.get("/v1/nothing-here"), 404, "not_found")
    wrong_method = await gateway.delete(SUMMARY)
    assert_error(wrong_method, 405, "method_not_allowed")
