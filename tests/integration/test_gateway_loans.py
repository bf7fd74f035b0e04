"""The loans read API and snapshot requests against the real PostgreSQL and Kafka (CONTRACT §2, §4).

The aggregator's read model is created with its own migrations and filled with known, unrounded rows;
responses are compared with the exact JSON numbers (and CSV cells) the contract's rounding gives.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog

from services.gateway.app import create_app
from services.gateway.presenters.loans import SUMMARY_FIELDS
from services.gateway.publisher import Publisher
from shared.auth import Role, issue_token
from shared.db import Connection, create_pool, migrate
from shared.events.envelope import make_envelope, parse_envelope
from shared.settings import Settings
from shared.topics import Topic
from tests.conftest import World
from tests.support.stack import Stack, login_url, scratch_database

pytestmark = pytest.mark.integration

SECRET = "gateway-loans-test-secret-0123456789abcdef"
MIGRATIONS = Path(__file__).resolve().parents[2] / "services/aggregator/migrations"
CLOSED = "127.0.0.1:1"  # nothing listens on port 1

D1, D2, D3 = dt.date(2025, 3, 1), dt.date(2025, 3, 2), dt.date(2025, 3, 3)
D = Decimal

# --- tokens -------------------------------------------------------------------------------------------

ADMIN = issue_token(Role.ADMIN, sub="ops@bank.test", secret=SECRET)
LEADER_B1 = issue_token(Role.TEAM_LEADER, branch_id="B1", sub="nia@bank.test", secret=SECRET)
LEADER_B9 = issue_token(Role.TEAM_LEADER, branch_id="B9", sub="nia@bank.test", secret=SECRET)  # a branch without data
OFFICER_O1 = issue_token(Role.LOAN_OFFICER, officer_id="O1", sub="tester@bank.test", secret=SECRET)
OFFICER_O5 = issue_token(Role.LOAN_OFFICER, officer_id="O5", sub="tester@bank.test", secret=SECRET)  # data on D1 only
OFFICER_O9 = issue_token(Role.LOAN_OFFICER, officer_id="O9", sub="tester@bank.test", secret=SECRET)  # no data
CLIENT = issue_token(Role.CLIENT, client_id="C1", sub="tester@bank.test", secret=SECRET)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- the read model -----------------------------------------------------------------------------------

COLUMNS = (
    "scope",
    "business_date",
    "revision",
    "kind",
    "branch_id",
    "officer_id",
    "officer_name",
    "total_clients",
    "active_clients",
    "total_loans",
    "active_loans",
    "total_disbursed",
    "total_outstanding",
    "total_collected",
    "par_30",
    "par_60",
    "par_90",
    "default_rate",
    "collection_rate",
    "portfolio_yield",
    "growth_rate",
    "new_clients_30d",
    "exited_clients_30d",
    "health_score",
    "health_category",
)


def row(scope: str, day: dt.date, **values: Any) -> dict[str, Any]:
    kind, _, ident = scope.partition(":")
    base: dict[str, Any] = {
        "scope": scope,
        "business_date": day,
        "revision": 1,
        "kind": kind,
        "branch_id": ident if kind == "branch" else None,
        "officer_id": ident if kind == "officer" else None,
        "officer_name": None,
        "total_clients": 10,
        "active_clients": 9,
        "total_loans": 11,
        "active_loans": 9,
        "total_disbursed": D("1000"),
        "total_outstanding": D("500"),
        "total_collected": D("600"),
        "par_30": D("0"),
        "par_60": D("0"),
        "par_90": D("0"),
        "default_rate": D("0"),
        "collection_rate": D("100"),
        "portfolio_yield": D("20"),
        "growth_rate": D("0"),
        "new_clients_30d": 1,
        "exited_clients_30d": 0,
        "health_score": D("85"),
        "health_category": "excellent",
    }
    base.update(values)
    return base


def officer(officer_id: str, branch: str, day: dt.date, name: str, **values: Any) -> dict[str, Any]:
    return row(f"officer:{officer_id}", day, branch_id=branch, officer_name=name, **values)


# The showcase: every kind of rounding, half-up ties, a score whose category comes from the unrounded value.
O1_D3 = officer(
    "O1",
    "B1",
    D3,
    "Ada Obi",
    revision=3,
    total_clients=12,
    active_clients=10,
    total_loans=15,
    active_loans=11,
    total_disbursed=D("2.345"),
    total_outstanding=D("168000.005"),
    total_collected=D("1234.5649"),
    par_30=D("13.392857142857142857"),
    par_60=D("1.00005"),
    par_90=D("0"),
    default_rate=D("0.123449999"),
    collection_rate=D("100"),
    portfolio_yield=D("25.55555"),
    growth_rate=D("-2.00005"),
    new_clients_30d=2,
    exited_clients_30d=1,
    health_score=D("49.995"),
    health_category="critical",
)
O1_D3_JSON = (
    '{"scope":"officer:O1","as_of":"2025-03-03","revision":3,"total_clients":12,"active_clients":10,'
    '"total_loans":15,"active_loans":11,"total_disbursed":2.35,"total_outstanding":168000.01,'
    '"total_collected":1234.56,"par_30":13.3929,"par_60":1.0001,"par_90":0.0000,"default_rate":0.1234,'
    '"collection_rate":100.0000,"portfolio_yield":25.5556,"growth_rate":-2.0001,"new_clients_30d":2,'
    '"exited_clients_30d":1,"health_score":50.00,"health_category":"critical"}'
)
O1_D3_CSV = (
    "officer:O1,2025-03-03,3,12,10,15,11,2.35,168000.01,1234.56,13.3929,1.0001,0.0000,0.1234,"
    "100.0000,25.5556,-2.0001,2,1,50.00,critical"
)
O1_D2_CSV = (
    "officer:O1,2025-03-02,2,10,9,11,9,1000.00,500.00,600.00,0.0000,0.0000,0.0000,0.0000,"
    "100.0000,20.0000,0.0000,1,0,61.23,warning"
)

ROWS = [
    row("all", D1, total_outstanding=D("1000.004")),
    row("all", D2, total_outstanding=D("1000.005")),
    row("all", D3, total_outstanding=D("2000.015"), revision=2),
    row("branch:B1", D1),
    row("branch:B1", D2),
    row("branch:B1", D3, total_collected=D("0.005")),
    row("branch:B2", D3),
    # One branch with more history than a request may cover (3,660 days).
    row("branch:OLD", dt.date(2010, 1, 1)),
    row("branch:OLD", D3),
    officer("O1", "B1", D1, "Ada Obi", health_score=D("70")),
    officer("O1", "B1", D2, "Ada Obi", revision=2, health_score=D("61.225"), health_category="warning"),
    O1_D3,
    officer("O2", "B1", D3, "Bea Cruz", health_score=D("40"), health_category="critical"),
    officer("O4", "B1", D2, "Dan Eze", health_score=D("90")),
    officer("O4", "B1", D3, "Dan Eze", health_score=D("40"), health_category="critical"),
    officer("O3", "B2", D3, "Cy Dee", health_score=D("30"), health_category="critical"),
    officer("O5", "B1", D1, "Eve Fox", health_score=D("55.5"), health_category="warning"),
]


async def seed(conn: Connection, rows: list[dict[str, Any]]) -> None:
    placeholders = ", ".join(f"${i}" for i in range(1, len(COLUMNS) + 1))
    await conn.executemany(
        f"INSERT INTO aggregator.loan_summaries ({', '.join(COLUMNS)}) VALUES ({placeholders})",
        [tuple(r[c] for c in COLUMNS) for r in rows],
    )


def settings_for(database_url: str, *, kafka: Mapping[str, Any] | None = None, prefix: str = "") -> Settings:
    """The gateway's settings; `kafka`: its Kafka settings fields (`World.kafka_settings`), a closed port if none."""
    return Settings(
        database_url=login_url(database_url, "gateway"),
        migration_database_url=login_url(database_url, "owner"),
        topic_prefix=prefix,
        jwt_secret=SECRET,
        **(kafka or {"kafka_bootstrap_servers": CLOSED}),
    )


@pytest.fixture(scope="module")
async def client(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """A gateway over a database holding the aggregator's schema and `ROWS` (shared by the read tests)."""
    async with scratch_database(stack.database_url, "pulse_tgw") as url:
        pool = await create_pool(url, retry=False)
        try:
            await migrate(pool, "aggregator", MIGRATIONS)
            async with pool.acquire() as conn:
                await seed(conn, ROWS)
        finally:
            await pool.close()
        app = create_app(settings_for(url))
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://gateway") as http,
        ):
            yield http


def exact(response: httpx.Response) -> Any:
    """The body with every JSON number with a fraction as a Decimal (no float rounding in the test)."""
    return json.loads(response.text, parse_float=Decimal)


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]


# --- GET /v1/loans/summary ----------------------------------------------------------------------------


async def test_summary_rounds_every_figure_half_up_as_exact_json_numbers(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/loans/summary", params={"scope": "officer:O1"}, headers=auth(ADMIN))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.text == O1_D3_JSON  # the latest day by default, every number exactly as rounded
    body = exact(response)
    assert list(body) == list(SUMMARY_FIELDS)
    assert body["par_30"] == D("13.3929")
    assert body["total_outstanding"] == D("168000.01")
    assert body["health_score"] == D("50.00")
    assert body["health_category"] == "critical"  # from the unrounded 49.995, not the rounded 50.00
    assert response.json()["par_60"] == 1.0001  # and an ordinary client reads plain numbers


async def test_summary_for_a_date_and_by_default_the_latest(client: httpx.AsyncClient) -> None:
    latest = exact(await client.get("/v1/loans/summary", params={"scope": "all"}, headers=auth(ADMIN)))
    assert (latest["as_of"], latest["revision"], latest["total_outstanding"]) == ("2025-03-03", 2, D("2000.02"))
    on_d2 = await client.get("/v1/loans/summary", params={"scope": "all", "date": "2025-03-02"}, headers=auth(ADMIN))
    assert on_d2.status_code == 200
    assert '"total_outstanding":1000.01,' in on_d2.text  # 1000.005 half-up
    on_d1 = exact(await client.get("/v1/loans/summary?scope=all&date=2025-03-01", headers=auth(ADMIN)))
    assert (on_d1["as_of"], on_d1["total_outstanding"]) == ("2025-03-01", D("1000.00"))
    branch = await client.get("/v1/loans/summary", params={"scope": "branch:B1"}, headers=auth(ADMIN))
    assert '"total_collected":0.01,' in branch.text
    # O5's latest day is D1, although other scopes go on to D3.
    o5 = exact(await client.get("/v1/loans/summary?scope=officer:O5", headers=auth(ADMIN)))
    assert o5["as_of"] == "2025-03-01"


async def test_summary_defaults_to_the_callers_widest_scope(client: httpx.AsyncClient) -> None:
    cases = {ADMIN: "all", LEADER_B1: "branch:B1", OFFICER_O1: "officer:O1"}
    for token, scope in cases.items():
        body = exact(await client.get("/v1/loans/summary", headers=auth(token)))
        assert body["scope"] == scope
        assert body["as_of"] == "2025-03-03"
    assert_error(await client.get("/v1/loans/summary", headers=auth(CLIENT)), 403, "forbidden")


@pytest.mark.parametrize(
    ("token", "scope", "status"),
    [
        (ADMIN, "all", 200),
        (ADMIN, "branch:B2", 200),
        (ADMIN, "officer:O3", 200),
        (LEADER_B1, "branch:B1", 200),
        (LEADER_B1, "officer:O1", 200),
        (LEADER_B1, "officer:O5", 200),
        (LEADER_B1, "all", 403),
        (LEADER_B1, "branch:B2", 403),
        (LEADER_B1, "officer:O3", 403),  # an officer of another branch
        (LEADER_B1, "officer:NOBODY", 403),  # unknown officer: its branch cannot be its own
        (LEADER_B1, "branch:NOPE", 403),  # out of scope, data or not
        (LEADER_B9, "branch:B9", 404),  # its own branch, no data
        (OFFICER_O1, "officer:O1", 200),
        (OFFICER_O1, "officer:O2", 403),
        (OFFICER_O1, "branch:B1", 403),
        (OFFICER_O1, "all", 403),
        (OFFICER_O9, "officer:O9", 404),  # its own scope, no data
        (CLIENT, "all", 403),
        (CLIENT, "officer:O1", 403),
        (CLIENT, "branch:B1", 403),
    ],
)
async def test_summary_role_rules(client: httpx.AsyncClient, token: str, scope: str, status: int) -> None:
    response = await client.get("/v1/loans/summary", params={"scope": scope}, headers=auth(token))
    assert response.status_code == status, response.text
    if status == 200:
        assert exact(response)["scope"] == scope
    else:
        assert_error(response, status, "forbidden" if status == 403 else "not_found")


@pytest.mark.parametrize(
    "params",
    [
        {"scope": "officer:NOBODY"},
        {"scope": "branch:NOPE"},
        {"scope": "all", "date": "2024-01-01"},
        {"scope": "officer:O5", "date": "2025-03-03"},
    ],
)
async def test_summary_without_data_is_404(client: httpx.AsyncClient, params: dict[str, str]) -> None:
    assert_error(await client.get("/v1/loans/summary", params=params, headers=auth(ADMIN)), 404, "not_found")


@pytest.mark.parametrize(
    "params",
    [
        {"scope": "everything"},
        {"scope": "branch:"},
        {"scope": "branch:a b"},
        {"scope": "officer"},
        {"scope": "team:B1"},
        {"scope": ""},
        {"scope": "all", "date": "2025-3-1"},
        {"scope": "all", "date": "2025-02-30"},
        {"scope": "all", "date": "yesterday"},
        {"scope": "all", "date": "1740787200"},
        {"scope": "all", "date": "2025-03-01T00:00:00Z"},
    ],
)
async def test_summary_bad_parameters_are_422(client: httpx.AsyncClient, params: dict[str, str]) -> None:
    response = await client.get("/v1/loans/summary", params=params, headers=auth(ADMIN))
    assert_error(response, 422, "invalid_parameters")


async def test_loans_need_a_token(client: httpx.AsyncClient) -> None:
    for path in ("/v1/loans/summary", "/v1/loans/officers", "/v1/loans/history", "/v1/loans/export.csv"):
        assert_error(await client.get(path, params={"scope": "all"}), 401, "unauthorized")


# --- GET /v1/loans/officers ---------------------------------------------------------------------------


def officer_ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [o["officer_id"] for o in exact(response)]


async def test_officers_worst_health_first_on_the_latest_day(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/loans/officers", headers=auth(ADMIN))
    # O3 30 < O2 40 = O4 40 (by officer_id) < O1 49.995; O5 has no row on the latest day.
    assert officer_ids(response) == ["O3", "O2", "O4", "O1"]
    first, *_, last = exact(response)
    assert list(first) == ["officer_id", "name", "branch_id", *SUMMARY_FIELDS]
    assert (first["officer_id"], first["name"], first["branch_id"], first["scope"]) == (
        "O3",
        "Cy Dee",
        "B2",
        "officer:O3",
    )
    assert {o["as_of"] for o in exact(response)} == {"2025-03-03"}
    # Each entry is the officer's summary, rounded the same way.
    assert response.text.endswith('{"officer_id":"O1","name":"Ada Obi","branch_id":"B1",' + O1_D3_JSON[1:] + "]")
    assert last["health_score"] == D("50.00")


async def test_officers_by_branch_and_date(client: httpx.AsyncClient) -> None:
    b1 = await client.get("/v1/loans/officers", params={"branch": "B1"}, headers=auth(ADMIN))
    assert officer_ids(b1) == ["O2", "O4", "O1"]
    b2 = await client.get("/v1/loans/officers", params={"branch": "B2"}, headers=auth(ADMIN))
    assert officer_ids(b2) == ["O3"]
    d1 = await client.get("/v1/loans/officers", params={"date": "2025-03-01"}, headers=auth(ADMIN))
    assert officer_ids(d1) == ["O5", "O1"]  # 55.5 before 70
    d2 = await client.get("/v1/loans/officers", params={"branch": "B1", "date": "2025-03-02"}, headers=auth(ADMIN))
    assert officer_ids(d2) == ["O1", "O4"]
    assert '"health_score":61.23,' in d2.text  # 61.225 half-up
    for params in ({"branch": "NOPE"}, {"date": "2024-01-01"}, {"branch": "B2", "date": "2025-03-01"}):
        assert_error(await client.get("/v1/loans/officers", params=params, headers=auth(ADMIN)), 404, "not_found")


async def test_officers_for_a_team_leader_are_their_branch(client: httpx.AsyncClient) -> None:
    own = await client.get("/v1/loans/officers", headers=auth(LEADER_B1))
    assert officer_ids(own) == ["O2", "O4", "O1"]
    explicit = await client.get("/v1/loans/officers", params={"branch": "B1"}, headers=auth(LEADER_B1))
    assert officer_ids(explicit) == ["O2", "O4", "O1"]
    on_d1 = await client.get("/v1/loans/officers", params={"date": "2025-03-01"}, headers=auth(LEADER_B1))
    assert officer_ids(on_d1) == ["O5", "O1"]
    other = await client.get("/v1/loans/officers", params={"branch": "B2"}, headers=auth(LEADER_B1))
    assert_error(other, 403, "forbidden")
    assert_error(await client.get("/v1/loans/officers", headers=auth(LEADER_B9)), 404, "not_found")


async def test_officers_for_a_loan_officer_are_only_themselves(client: httpx.AsyncClient) -> None:
    own = await client.get("/v1/loans/officers", headers=auth(OFFICER_O1))
    assert officer_ids(own) == ["O1"]
    assert exact(own)[0]["as_of"] == "2025-03-03"
    with_branch = await client.get("/v1/loans/officers", params={"branch": "B1"}, headers=auth(OFFICER_O1))
    assert officer_ids(with_branch) == ["O1"]
    d2 = await client.get("/v1/loans/officers", params={"date": "2025-03-02"}, headers=auth(OFFICER_O1))
    assert officer_ids(d2) == ["O1"]
    # O5's own latest day is D1.
    o5 = await client.get("/v1/loans/officers", headers=auth(OFFICER_O5))
    assert officer_ids(o5) == ["O5"]
    assert exact(o5)[0]["as_of"] == "2025-03-01"
    other = await client.get("/v1/loans/officers", params={"branch": "B2"}, headers=auth(OFFICER_O1))
    assert_error(other, 403, "forbidden")
    assert_error(await client.get("/v1/loans/officers", headers=auth(OFFICER_O9)), 404, "not_found")


async def test_officers_refuse_clients_and_bad_parameters(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/v1/loans/officers", headers=auth(CLIENT)), 403, "forbidden")
    for params in ({"branch": "a b"}, {"branch": ""}, {"date": "2025-13-01"}, {"date": "03/03/2025"}):
        response = await client.get("/v1/loans/officers", params=params, headers=auth(ADMIN))
        assert_error(response, 422, "invalid_parameters")


# --- GET /v1/loans/history ----------------------------------------------------------------------------


def days(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [s["as_of"] for s in exact(response)]


async def test_history_is_oldest_first_over_the_whole_history_by_default(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/loans/history", params={"scope": "officer:O1"}, headers=auth(ADMIN))
    assert days(response) == ["2025-03-01", "2025-03-02", "2025-03-03"]
    assert [s["revision"] for s in exact(response)] == [1, 2, 3]
    assert response.text.endswith("," + O1_D3_JSON + "]")  # each shaped and rounded as /summary
    assert all(list(s) == list(SUMMARY_FIELDS) for s in exact(response))


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"from": "2025-03-02"}, ["2025-03-02", "2025-03-03"]),
        ({"to": "2025-03-02"}, ["2025-03-01", "2025-03-02"]),
        ({"from": "2025-03-02", "to": "2025-03-02"}, ["2025-03-02"]),
        ({"from": "2025-02-01", "to": "2025-03-31"}, ["2025-03-01", "2025-03-02", "2025-03-03"]),
        ({"from": "2030-01-01"}, []),
        ({"to": "2020-01-01"}, []),
    ],
)
async def test_history_range_is_inclusive(
    client: httpx.AsyncClient, params: dict[str, str], expected: list[str]
) -> None:
    response = await client.get("/v1/loans/history", params={"scope": "officer:O1", **params}, headers=auth(ADMIN))
    assert days(response) == expected


async def test_history_covers_at_most_3660_days(client: httpx.AsyncClient) -> None:
    fits = {"scope": "branch:OLD", "from": "2015-03-16", "to": "2025-03-22"}  # 3,660 days, inclusive
    assert days(await client.get("/v1/loans/history", params=fits, headers=auth(ADMIN))) == ["2025-03-03"]
    too_long = {"scope": "branch:OLD", "from": "2015-03-15", "to": "2025-03-22"}  # 3,661 days
    assert_error(await client.get("/v1/loans/history", params=too_long, headers=auth(ADMIN)), 422, "invalid_parameters")
    # Defaults never ask for more: the whole history is clamped to the latest 3,660 days...
    assert days(await client.get("/v1/loans/history?scope=branch:OLD", headers=auth(ADMIN))) == ["2025-03-03"]
    # ...or to 3,660 days from an explicit start.
    from_2010 = await client.get("/v1/loans/history?scope=branch:OLD&from=2010-01-01", headers=auth(ADMIN))
    assert days(from_2010) == ["2010-01-01"]
    to_2025 = await client.get("/v1/loans/history?scope=branch:OLD&to=2025-03-03", headers=auth(ADMIN))
    assert days(to_2025) == ["2025-03-03"]


@pytest.mark.parametrize(
    "params",
    [
        {"scope": "officer:O1", "from": "2025-03-03", "to": "2025-03-01"},
        {"scope": "officer:O1", "from": "2025-3-1"},
        {"scope": "officer:O1", "to": "2025-02-29"},
        {"scope": "nonsense"},
    ],
)
async def test_history_bad_parameters_are_422(client: httpx.AsyncClient, params: dict[str, str]) -> None:
    for path in ("/v1/loans/history", "/v1/loans/export.csv"):
        assert_error(await client.get(path, params=params, headers=auth(ADMIN)), 422, "invalid_parameters")


@pytest.mark.parametrize(
    ("token", "scope", "status"),
    [
        (ADMIN, "branch:B2", 200),
        (LEADER_B1, "branch:B1", 200),
        (LEADER_B1, "officer:O4", 200),
        (LEADER_B1, "branch:B2", 403),
        (LEADER_B1, "officer:O3", 403),
        (LEADER_B1, "all", 403),
        (OFFICER_O1, "officer:O1", 200),
        (OFFICER_O1, "officer:O2", 403),
        (OFFICER_O1, "branch:B1", 403),
        (CLIENT, "officer:O1", 403),
        (CLIENT, "all", 403),
        (ADMIN, "officer:NOBODY", 404),
        (LEADER_B9, "branch:B9", 404),
        (OFFICER_O9, "officer:O9", 404),
    ],
)
async def test_history_and_export_role_rules(client: httpx.AsyncClient, token: str, scope: str, status: int) -> None:
    for path in ("/v1/loans/history", "/v1/loans/export.csv"):
        response = await client.get(path, params={"scope": scope}, headers=auth(token))
        assert response.status_code == status, (path, response.text)
        if status != 200:
            assert_error(response, status, "forbidden" if status == 403 else "not_found")


# --- GET /v1/loans/export.csv -------------------------------------------------------------------------


async def test_export_csv_is_the_history_as_csv(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/v1/loans/export.csv",
        params={"scope": "officer:O1", "from": "2025-03-02", "to": "2025-03-03"},
        headers=auth(ADMIN),
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert (
        response.headers["content-disposition"] == 'attachment; filename="loans-officer:O1-2025-03-02-2025-03-03.csv"'
    )
    assert response.text == "\r\n".join([",".join(SUMMARY_FIELDS), O1_D2_CSV, O1_D3_CSV, ""])


async def test_export_csv_defaults_to_the_whole_history(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/loans/export.csv", params={"scope": "officer:O1"}, headers=auth(ADMIN))
    assert response.status_code == 200, response.text
    assert (
        response.headers["content-disposition"] == 'attachment; filename="loans-officer:O1-2025-03-01-2025-03-03.csv"'
    )
    lines = response.text.split("\r\n")
    assert lines[0].split(",") == list(SUMMARY_FIELDS)
    assert [line.split(",")[1] for line in lines[1:-1]] == ["2025-03-01", "2025-03-02", "2025-03-03"]
    assert lines[1:-1] == [line for line in lines[1:-1] if line.startswith("officer:O1,")]
    assert lines[2:] == [O1_D2_CSV, O1_D3_CSV, ""]
    # A team leader's default scope is their branch.
    own = await client.get("/v1/loans/export.csv", headers=auth(LEADER_B1))
    assert own.headers["content-disposition"] == 'attachment; filename="loans-branch:B1-2025-03-01-2025-03-03.csv"'
    # A range without rows: only the header.
    empty = await client.get(
        "/v1/loans/export.csv", params={"scope": "all", "from": "2030-01-01", "to": "2030-01-31"}, headers=auth(ADMIN)
    )
    assert empty.status_code == 200
    assert empty.text == ",".join(SUMMARY_FIELDS) + "\r\n"
    assert empty.headers["content-disposition"] == 'attachment; filename="loans-all-2030-01-01-2030-01-31.csv"'


# --- without the read model, or without the broker ----------------------------------------------------


async def test_missing_read_model_is_503_not_500(world: World) -> None:
    app = create_app(settings_for(world.database_url))  # an empty database: the aggregator never ran
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://gateway") as http,
    ):
        for path in ("/v1/loans/summary", "/v1/loans/officers", "/v1/loans/history", "/v1/loans/export.csv"):
            assert_error(await http.get(path, headers=auth(ADMIN)), 503, "unavailable")


async def test_snapshot_request_with_kafka_down_is_503() -> None:
    app = create_app(settings_for("postgresql://x:y@127.0.0.1:1/z"))
    publisher = app.state.publisher
    assert isinstance(publisher, Publisher)
    publisher.start_timeout = 1.0
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://gateway") as http,
    ):
        response = await http.post("/v1/snapshots/requests", json={"business_date": "2025-03-03"}, headers=auth(ADMIN))
        assert_error(response, 503, "unavailable")
        again = await http.post("/v1/snapshots/requests", json={"business_date": "2025-03-03"}, headers=auth(ADMIN))
        assert_error(again, 503, "unavailable")  # each request tries again; none is a 500


# --- POST /v1/snapshots/requests ----------------------------------------------------------------------


async def test_snapshot_request_publishes_one_event_on_the_control_topic(world: World) -> None:
    app = create_app(settings_for(world.database_url, kafka=world.kafka_settings("gateway"), prefix=world.prefix))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://gateway") as http,
    ):
        body = {"business_date": "2025-03-03", "officer_id": "O1", "force": True}
        for token in (LEADER_B1, OFFICER_O1, CLIENT):
            assert_error(await http.post("/v1/snapshots/requests", json=body, headers=auth(token)), 403, "forbidden")
        assert_error(await http.post("/v1/snapshots/requests", json=body), 401, "unauthorized")
        for bad in (
            {},
            {"business_date": "2025-3-3"},
            {"business_date": "2025-02-30"},
            {"business_date": "2025-03-03", "force": "yes"},
            {"business_date": "2025-03-03", "force": 1},
            {"business_date": "2025-03-03", "officer_id": "not an id"},
            {"business_date": "2025-03-03", "requested_by": "mallory"},
            ["2025-03-03"],
            {"business_date": "9999-12-30"},  # would close every day to year 9999
            {"business_date": (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=3)).isoformat()},  # after tomorrow
        ):
            response = await http.post("/v1/snapshots/requests", json=bad, headers=auth(ADMIN))
            assert_error(response, 422, "invalid_parameters")
        not_json = await http.post(
            "/v1/snapshots/requests",
            content=b"{not json",
            headers={**auth(ADMIN), "content-type": "application/json"},
        )
        assert_error(not_json, 422, "invalid_parameters")

        accepted = await http.post("/v1/snapshots/requests", json=body, headers=auth(ADMIN))
        assert accepted.status_code == 202, accepted.text
        event_id = accepted.json()["event_id"]
        assert set(accepted.json()) == {"event_id"}
        whole_day = await http.post("/v1/snapshots/requests", json={"business_date": "2025-03-04"}, headers=auth(ADMIN))
        assert whole_day.status_code == 202, whole_day.text

    # Nothing else was published: a marker after the two requests is the third record (one partition).
    marker = make_envelope("business_day.closed", {"business_date": "2025-03-05"}, source="test")
    await world.bus.send(Topic.CONTROL, marker, key="2025-03-05")
    records = await world.bus.read_until(
        Topic.CONTROL,
        lambda seen: any(parse_envelope(r.value).event_id == marker["event_id"] for r in seen),
    )
    assert [r.topic for r in records] == [f"{world.prefix}control"] * 3
    first, second, last = (parse_envelope(r.value) for r in records)
    assert parse_envelope(records[2].value).event_id == marker["event_id"]
    assert last.event_type == "business_day.closed"

    assert records[0].key == b"2025-03-03"
    assert first.event_id == event_id
    assert first.event_type == "snapshot.requested"
    assert first.source == "gateway"
    assert first.schema_version == 1
    assert first.data == {
        "business_date": "2025-03-03",
        "officer_id": "O1",
        "force": True,
        "requested_by": "ops@bank.test",
    }

    assert records[1].key == b"2025-03-04"
    assert second.event_id == whole_day.json()["event_id"]
    assert second.data == {"business_date": "2025-03-04", "force": False, "requested_by": "ops@bank.test"}


# --- the access log -------------------------------------------------------------------------------------


async def test_the_access_log_says_who_read_which_scope_and_never_a_token(client: httpx.AsyncClient) -> None:
    leaked = issue_token(Role.ADMIN, sub="ops@bank.test", secret=SECRET)  # as a sign-in link's `?token=` would carry it
    with structlog.testing.capture_logs() as logs:
        read = await client.get(
            "/v1/loans/summary", params={"scope": "branch:B1", "token": leaked}, headers=auth(LEADER_B1)
        )
        refused = await client.get("/v1/loans/summary", params={"scope": "all"}, headers=auth(LEADER_B1))
        anonymous = await client.get("/v1/loans/summary", params={"scope": "all"})
        await client.get("/healthz")  # a probe: not logged
    assert (read.status_code, refused.status_code, anonymous.status_code) == (200, 403, 401)
    access = [entry for entry in logs if entry["event"] == "access"]
    leader = {"sub": "nia@bank.test", "role": "team_leader", "method": "GET", "route": "/v1/loans/summary"}
    assert [{k: e.get(k) for k in (*leader, "scope", "status")} for e in access] == [
        {**leader, "scope": "branch:B1", "status": 200},
        {**leader, "scope": "all", "status": 403},
        {"sub": None, "role": None, "method": "GET", "route": "/v1/loans/summary", "scope": "all", "status": 401},
    ]
    assert all(e["duration_ms"] >= 0 for e in access)
    assert leaked not in repr(logs)  # nor the query string, nor the bearer token
    assert LEADER_B1 not in repr(logs)
