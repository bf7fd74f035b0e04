"""The wealth read API against the real PostgreSQL (CONTRACT §3, §4).

The aggregator's read model is created with its own migrations and filled with known, unrounded rows;
responses are compared with the exact JSON numbers the contract's rounding gives.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.gateway.app import create_app
from services.gateway.presenters.wealth import HISTORY_FIELDS, SUMMARY_FIELDS
from shared.auth import Role, issue_token
from shared.db import Connection, create_pool, migrate
from shared.settings import Settings
from tests.support.stack import Stack, login_url, scratch_database

pytestmark = pytest.mark.integration

SECRET = "gateway-wealth-test-secret-0123456789abcdef"
MIGRATIONS = Path(__file__).resolve().parents[2] / "services/aggregator/migrations"
CLOSED = "127.0.0.1:1"  # nothing listens on port 1

D1, D2, D3, D4 = dt.date(2025, 3, 1), dt.date(2025, 3, 2), dt.date(2025, 3, 3), dt.date(2025, 3, 4)
D = Decimal

# --- tokens -------------------------------------------------------------------------------------------

ADMIN = issue_token(Role.ADMIN, sub="tester@bank.test", secret=SECRET)
CLIENT_C1 = issue_token(Role.CLIENT, client_id="C1", sub="tester@bank.test", secret=SECRET)
CLIENT_C2 = issue_token(Role.CLIENT, client_id="C2", sub="tester@bank.test", secret=SECRET)  # data on D1 and D2 only
CLIENT_C9 = issue_token(Role.CLIENT, client_id="C9", sub="tester@bank.test", secret=SECRET)  # no data
LEADER = issue_token(Role.TEAM_LEADER, branch_id="B1", sub="tester@bank.test", secret=SECRET)
OFFICER = issue_token(Role.LOAN_OFFICER, officer_id="O1", sub="tester@bank.test", secret=SECRET)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- the read model -----------------------------------------------------------------------------------

CLIENT_COLUMNS = (
    "client_id",
    "as_of",
    "revision",
    "total_value",
    "estimated_annual_income",
    "net_external_flows",
    "period_start_date",
    "period_return_dollar",
    "period_return_percent",
    "period_average_capital",
    "month_start_date",
    "monthly_return_dollar",
    "monthly_return_percent",
    "monthly_average_capital",
    "ytd_start_date",
    "ytd_return_dollar",
    "ytd_return_percent",
    "ytd_average_capital",
    "inception_date",
    "inception_dollar_performance",
    "inception_return_pct",
    "inception_average_capital",
    "asset_allocation",
    "custodian_allocation",
    "bond_maturity",
)
JSONB_COLUMNS = ("asset_allocation", "custodian_allocation", "bond_maturity")
FIGURES = ("period", "monthly", "ytd", "inception")
TOTALS_COLUMNS = (
    "as_of",
    "revision",
    "client_count",
    "total_aum",
    "estimated_annual_income",
    "net_external_flows",
    *(f"{figure}_{part}" for figure in FIGURES for part in ("dollar", "weighted", "capital", "windows")),
)


def client_day(client_id: str, day: dt.date, **values: Any) -> dict[str, Any]:
    """A client's first snapshot ("0 and 0" everywhere) unless `values` say otherwise."""
    base: dict[str, Any] = {
        "client_id": client_id,
        "as_of": day,
        "revision": 1,
        "total_value": D("1000"),
        "estimated_annual_income": D("0"),
        "net_external_flows": D("0"),
        "period_start_date": None,
        "period_return_dollar": D("0"),
        "period_return_percent": D("0"),
        "period_average_capital": None,
        "month_start_date": None,
        "monthly_return_dollar": D("0"),
        "monthly_return_percent": D("0"),
        "monthly_average_capital": None,
        "ytd_start_date": None,
        "ytd_return_dollar": D("0"),
        "ytd_return_percent": D("0"),
        "ytd_average_capital": None,
        "inception_date": None,
        "inception_dollar_performance": D("0"),
        "inception_return_pct": D("0"),
        "inception_average_capital": None,
        "asset_allocation": [{"name": "Cash", "value": "1000"}],
        "custodian_allocation": [{"name": "BankA", "value": "1000"}],
        "bond_maturity": [],
    }
    base.update(values)
    return base


def totals(day: dt.date, client_count: int, **values: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "as_of": day,
        "revision": 1,
        "client_count": client_count,
        "total_aum": D("0"),
        "estimated_annual_income": D("0"),
        "net_external_flows": D("0"),
    }
    for figure in FIGURES:
        base.update({f"{figure}_dollar": D(0), f"{figure}_weighted": D(0), f"{figure}_capital": D(0)})
        base[f"{figure}_windows"] = 0
    base.update(values)
    return base


# C1 on D3, the showcase: half-up ties, a null percent, allocations as jsonb strings and numbers.
C1_D3 = client_day(
    "C1",
    D3,
    revision=2,
    total_value=D("1234.565"),
    estimated_annual_income=D("10.004"),
    net_external_flows=D("20"),
    period_start_date=D2,
    period_return_dollar=D("-0.005"),
    period_return_percent=D("4.878048780487804878"),
    period_average_capital=D("410"),
    monthly_return_dollar=D("12.5"),
    monthly_return_percent=None,  # not computable
    monthly_average_capital=D("-5"),
    month_start_date=D1,
    inception_date=D1,
    inception_dollar_performance=D("234.565"),
    inception_return_pct=D("23.45645"),
    inception_average_capital=D("1000"),
    asset_allocation=[
        {"name": "Cash", "value": 0},
        {"name": "Bonds", "value": 234.56},
        {"name": "Equity", "value": "1000.005"},
    ],
    custodian_allocation=[{"name": "BankA", "value": "1234.565"}],
    bond_maturity=[{"year": 2031, "value": "34.56"}, {"year": 2027, "value": 200}],
)
C1_D3_JSON = (
    '{"filter_applied":"C1","as_of":"2025-03-03","client_count":1,"summary":{"total_aum":1234.57,'
    '"inception_dollar_performance":234.57,"inception_return_pct":23.4565,"estimated_annual_income":10.00,'
    '"period_return_dollar":-0.01,"period_return_percent":4.8780,"monthly_return_dollar":12.50,'
    '"monthly_return_percent":null,"ytd_return_dollar":0.00,"ytd_return_percent":0.0000},'
    '"asset_allocation":[{"name":"Equity","value":1000.01,"percent":81.0006},'
    '{"name":"Bonds","value":234.56,"percent":18.9994},{"name":"Cash","value":0.00,"percent":0.0000}],'
    '"bank_allocation":[{"name":"BankA","value":1234.57,"percent":100.0000}],'
    '"bond_maturity":[{"year":2027,"value":200.00},{"year":2031,"value":34.56}]}'
)

CLIENT_DAYS = [
    C1_D3,
    client_day("C1", D1),
    client_day(
        "C1",
        D2,
        total_value=D("1000.005"),
        net_external_flows=D("-0.005"),
        period_start_date=D1,
        period_return_dollar=D("0.010"),
        period_return_percent=None,
        inception_date=D1,
        inception_dollar_performance=D("0.010"),
        inception_return_pct=D("-0.00005"),
    ),
    client_day("C2", D1, total_value=D("50")),
    client_day("C2", D2, total_value=D("60"), revision=3, period_return_percent=D("20")),
    client_day("C3", D3, total_value=D("4000")),
]

# The contract's A/B example on D3: A 100 → 110 (c = 100, r = 10 %); B 300 → 290 with +20 mid-period
# (gain −30, c = 310): Σ cᵢ·rᵢ = 1000 − 3000 = −2000 over Σ cᵢ = 410 → −4.8780 %.
TOTALS = [
    totals(D1, 3, total_aum=D("1050"), period_windows=0),  # every client's first snapshot: "0 and 0"
    totals(D2, 2, total_aum=D("1060.005"), period_dollar=D("0.01"), period_windows=2),
    totals(
        D3,
        2,
        revision=4,
        total_aum=D("5234.565"),
        estimated_annual_income=D("20.005"),
        period_dollar=D("-20.005"),
        period_weighted=D("-2000"),
        period_capital=D("410"),
        period_windows=2,
        monthly_dollar=D("0"),  # nobody has a monthly window: 0
        ytd_dollar=D("1.115"),
        ytd_windows=2,  # windows, but none computable: null
        inception_dollar=D("7"),
        inception_weighted=D("1"),
        inception_capital=D("20000"),  # 0.00005 → 0.0001 half-up
        inception_windows=2,
    ),
    totals(D4, 0),  # a date whose snapshots all moved away: no data
]
ALLOCATIONS = [
    (D2, "asset_class", "Cash", D("50")),
    (D2, "asset_class", "Margin", D("-50")),  # the total is 0: percents null
    (D3, "asset_class", "Bonds", D("100")),
    (D3, "asset_class", "Equity", D("200")),
    (D3, "asset_class", "Cash", D("0")),  # left by the running sums: not shown
    (D3, "custodian", "BankB", D("150.005")),
    (D3, "custodian", "BankA", D("150.005")),
    (D3, "bond_year", "2031", D("60")),
    (D3, "bond_year", "2029", D("0")),
    (D3, "bond_year", "2027", D("40")),
]
ALL_D3_JSON = (
    '{"filter_applied":"ALL","as_of":"2025-03-03","client_count":2,"summary":{"total_aum":5234.57,'
    '"inception_dollar_performance":7.00,"inception_return_pct":0.0001,"estimated_annual_income":20.01,'
    '"period_return_dollar":-20.01,"period_return_percent":-4.8780,"monthly_return_dollar":0.00,'
    '"monthly_return_percent":0.0000,"ytd_return_dollar":1.12,"ytd_return_percent":null},'
    '"asset_allocation":[{"name":"Equity","value":200.00,"percent":66.6667},'
    '{"name":"Bonds","value":100.00,"percent":33.3333}],'
    '"bank_allocation":[{"name":"BankA","value":150.01,"percent":50.0000},'
    '{"name":"BankB","value":150.01,"percent":50.0000}],'
    '"bond_maturity":[{"year":2027,"value":40.00},{"year":2031,"value":60.00}]}'
)


async def seed(conn: Connection) -> None:
    placeholders = ", ".join(
        f"${i}::text::jsonb" if name in JSONB_COLUMNS else f"${i}" for i, name in enumerate(CLIENT_COLUMNS, start=1)
    )
    await conn.executemany(
        f"INSERT INTO aggregator.wealth_client_days ({', '.join(CLIENT_COLUMNS)}) VALUES ({placeholders})",
        [tuple(json.dumps(r[c]) if c in JSONB_COLUMNS else r[c] for c in CLIENT_COLUMNS) for r in CLIENT_DAYS],
    )
    placeholders = ", ".join(f"${i}" for i in range(1, len(TOTALS_COLUMNS) + 1))
    await conn.executemany(
        f"INSERT INTO aggregator.wealth_date_totals ({', '.join(TOTALS_COLUMNS)}) VALUES ({placeholders})",
        [tuple(r[c] for c in TOTALS_COLUMNS) for r in TOTALS],
    )
    await conn.executemany(
        "INSERT INTO aggregator.wealth_date_allocations (as_of, dimension, name, value) VALUES ($1, $2, $3, $4)",
        ALLOCATIONS,
    )


def settings_for(database_url: str) -> Settings:
    return Settings(
        database_url=login_url(database_url, "gateway"),
        migration_database_url=login_url(database_url, "owner"),
        kafka_bootstrap_servers=CLOSED,
        jwt_secret=SECRET,
    )


@asynccontextmanager
async def gateway(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings_for(database_url))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://gateway") as http,
    ):
        yield http


@pytest.fixture(scope="module")
async def client(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """A gateway over a database holding the aggregator's schema and the rows above (shared by the tests)."""
    async with scratch_database(stack.database_url, "pulse_tgww") as url:
        pool = await create_pool(url, retry=False)
        try:
            await migrate(pool, "aggregator", MIGRATIONS)
            async with pool.acquire() as conn:
                await seed(conn)
        finally:
            await pool.close()
        async with gateway(url) as http:
            yield http


def exact(response: httpx.Response) -> Any:
    """The body with every JSON number with a fraction as a Decimal (no float rounding in the test)."""
    assert response.status_code == 200, response.text
    return json.loads(response.text, parse_float=Decimal)


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]


async def summary(http: httpx.AsyncClient, token: str, **params: str) -> httpx.Response:
    return await http.get("/v1/wealth/summary", params=params, headers=auth(token))


async def history(http: httpx.AsyncClient, token: str, client_id: str, **params: str) -> httpx.Response:
    return await http.get(f"/v1/wealth/clients/{client_id}/history", params=params, headers=auth(token))


# --- GET /v1/wealth/summary: all clients --------------------------------------------------------------


async def test_all_clients_summary_is_asset_weighted_and_rounded_as_exact_json(client: httpx.AsyncClient) -> None:
    response = await summary(client, ADMIN)  # ALL on the latest date with data by default
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.text == ALL_D3_JSON
    body = exact(response)
    assert list(body) == [
        "filter_applied",
        "as_of",
        "client_count",
        "summary",
        "asset_allocation",
        "bank_allocation",
        "bond_maturity",
    ]
    assert list(body["summary"]) == list(SUMMARY_FIELDS)
    assert body["summary"]["period_return_percent"] == D("-4.8780")  # −2000 ÷ 410
    assert body["summary"]["monthly_return_percent"] == D("0.0000")  # no capital, no window: 0
    assert body["summary"]["ytd_return_percent"] is None  # no capital, but windows: null
    assert response.json()["summary"]["total_aum"] == 5234.57  # an ordinary client reads plain numbers
    explicit = await summary(client, ADMIN, client="ALL", date="2025-03-03")
    assert explicit.text == ALL_D3_JSON


async def test_all_clients_on_other_dates(client: httpx.AsyncClient) -> None:
    d1 = exact(await summary(client, ADMIN, client="ALL", date="2025-03-01"))
    assert (d1["as_of"], d1["client_count"], d1["summary"]["total_aum"]) == ("2025-03-01", 3, D("1050.00"))
    percents = ("period_return_percent", "monthly_return_percent", "ytd_return_percent", "inception_return_pct")
    assert [d1["summary"][name] for name in percents] == [D("0.0000")] * 4  # everyone "0 and 0"
    assert (d1["asset_allocation"], d1["bank_allocation"], d1["bond_maturity"]) == ([], [], [])
    d2 = await summary(client, ADMIN, date="2025-03-02")
    assert '"total_aum":1060.01,' in d2.text  # 1060.005 half-up
    body = exact(d2)
    assert body["summary"]["period_return_percent"] is None  # two windows, no capital
    assert body["summary"]["monthly_return_percent"] == D("0.0000")
    assert body["asset_allocation"] == [
        {"name": "Cash", "value": D("50.00"), "percent": None},  # the total is 0
        {"name": "Margin", "value": D("-50.00"), "percent": None},
    ]


async def test_a_date_whose_totals_count_no_client_has_no_data(client: httpx.AsyncClient) -> None:
    assert exact(await summary(client, ADMIN))["as_of"] == "2025-03-03"  # not D4
    assert_error(await summary(client, ADMIN, client="ALL", date="2025-03-04"), 404, "not_found")


# --- GET /v1/wealth/summary: one client ---------------------------------------------------------------


async def test_one_clients_summary_is_its_own_row(client: httpx.AsyncClient) -> None:
    response = await summary(client, ADMIN, client="C1")
    assert response.text == C1_D3_JSON
    body = exact(response)
    assert body["client_count"] == 1
    assert body["summary"]["monthly_return_percent"] is None  # as stored
    assert body["summary"]["total_aum"] == D("1234.57")  # 1234.565 half-up
    on_d2 = exact(await summary(client, ADMIN, client="C1", date="2025-03-02"))
    assert on_d2["as_of"] == "2025-03-02"
    assert on_d2["summary"]["total_aum"] == D("1000.01")
    assert on_d2["summary"]["period_return_percent"] is None
    assert on_d2["summary"]["inception_return_pct"] == D("-0.0001")  # −0.00005 half-up (away from zero)
    assert on_d2["asset_allocation"] == [{"name": "Cash", "value": D("1000.00"), "percent": D("100.0000")}]


async def test_a_clients_own_view_defaults_to_its_own_latest_date(client: httpx.AsyncClient) -> None:
    own = exact(await summary(client, CLIENT_C1))
    assert (own["filter_applied"], own["as_of"]) == ("C1", "2025-03-03")
    assert json.dumps(own, default=str) == json.dumps(exact(await summary(client, ADMIN, client="C1")), default=str)
    c2 = exact(await summary(client, CLIENT_C2))
    assert (c2["filter_applied"], c2["as_of"], c2["summary"]["total_aum"]) == ("C2", "2025-03-02", D("60.00"))
    assert c2["summary"]["period_return_percent"] == D("20.0000")
    admin_c2 = exact(await summary(client, ADMIN, client="C2"))
    assert admin_c2["as_of"] == "2025-03-02"  # C2's latest, although ALL goes on to D3


@pytest.mark.parametrize(
    ("token", "params", "status"),
    [
        (ADMIN, {}, 200),
        (ADMIN, {"client": "ALL"}, 200),
        (ADMIN, {"client": "C1"}, 200),
        (ADMIN, {"client": "C3"}, 200),
        (ADMIN, {"client": "NOBODY"}, 404),
        (CLIENT_C1, {}, 200),
        (CLIENT_C1, {"client": "C1"}, 200),
        (CLIENT_C1, {"client": "C2"}, 403),
        (CLIENT_C1, {"client": "NOBODY"}, 403),  # out of scope, data or not
        (CLIENT_C1, {"client": "ALL"}, 403),
        (CLIENT_C9, {}, 404),  # its own id, no data
        (CLIENT_C9, {"client": "C9"}, 404),
        (LEADER, {}, 403),
        (LEADER, {"client": "ALL"}, 403),
        (LEADER, {"client": "C1"}, 403),
        (OFFICER, {}, 403),
        (OFFICER, {"client": "ALL"}, 403),
        (OFFICER, {"client": "C1"}, 403),
    ],
)
async def test_summary_role_rules(client: httpx.AsyncClient, token: str, params: dict[str, str], status: int) -> None:
    response = await summary(client, token, **params)
    if status == 200:
        body = exact(response)
        assert body["filter_applied"] == params.get("client", "ALL" if token == ADMIN else "C1")
    else:
        assert_error(response, status, "forbidden" if status == 403 else "not_found")


@pytest.mark.parametrize(
    "params",
    [
        {"client": "NOBODY"},
        {"client": "C1", "date": "2024-01-01"},
        {"client": "C3", "date": "2025-03-02"},
        {"client": "ALL", "date": "2024-01-01"},
        {"date": "2025-03-05"},
    ],
)
async def test_summary_without_data_is_404(client: httpx.AsyncClient, params: dict[str, str]) -> None:
    assert_error(await summary(client, ADMIN, **params), 404, "not_found")


@pytest.mark.parametrize(
    "params",
    [
        {"date": "2025-3-1"},
        {"date": "2025-02-30"},
        {"date": "yesterday"},
        {"date": "2025-03-01T00:00:00Z"},
        {"client": "C1", "date": ""},
        {"client": ""},
        {"client": "a b"},
        {"client": "x" * 65},
    ],
)
async def test_summary_bad_parameters_are_422(client: httpx.AsyncClient, params: dict[str, str]) -> None:
    assert_error(await summary(client, ADMIN, **params), 422, "invalid_parameters")


async def test_wealth_needs_a_token(client: httpx.AsyncClient) -> None:
    for path in ("/v1/wealth/summary", "/v1/wealth/clients/C1/history"):
        assert_error(await client.get(path), 401, "unauthorized")
        assert_error(await client.get(path, headers=auth("not-a-jwt")), 401, "unauthorized")


# --- GET /v1/wealth/clients/{id}/history --------------------------------------------------------------

C1_HISTORY_JSON = (
    '[{"date":"2025-03-01","total_value":1000.00,"net_external_flows":0.00,"period_return_dollar":0.00,'
    '"period_return_percent":0.0000,"inception_return_pct":0.0000,"revision":1},'
    '{"date":"2025-03-02","total_value":1000.01,"net_external_flows":-0.01,"period_return_dollar":0.01,'
    '"period_return_percent":null,"inception_return_pct":-0.0001,"revision":1},'
    '{"date":"2025-03-03","total_value":1234.57,"net_external_flows":20.00,"period_return_dollar":-0.01,'
    '"period_return_percent":4.8780,"inception_return_pct":23.4565,"revision":2}]'
)


async def test_history_is_oldest_first_and_rounded(client: httpx.AsyncClient) -> None:
    response = await history(client, ADMIN, "C1")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.text == C1_HISTORY_JSON
    assert all(list(entry) == list(HISTORY_FIELDS) for entry in exact(response))
    assert (await history(client, CLIENT_C1, "C1")).text == C1_HISTORY_JSON  # a client's own history


@pytest.mark.parametrize(
    ("params", "dates"),
    [
        ({"from": "2025-03-02", "to": "2025-03-03"}, ["2025-03-02", "2025-03-03"]),
        ({"from": "2025-03-02", "to": "2025-03-02"}, ["2025-03-02"]),
        ({"from": "2025-03-02"}, ["2025-03-02", "2025-03-03"]),
        ({"to": "2025-03-01"}, ["2025-03-01"]),
        ({"from": "2025-01-01", "to": "2025-12-31"}, ["2025-03-01", "2025-03-02", "2025-03-03"]),
        ({"from": "2025-03-04"}, []),
        ({"from": "2024-01-01", "to": "2024-12-31"}, []),
    ],
)
async def test_history_range_is_inclusive(client: httpx.AsyncClient, params: dict[str, str], dates: list[str]) -> None:
    assert [entry["date"] for entry in exact(await history(client, ADMIN, "C1", **params))] == dates


async def test_history_of_another_client(client: httpx.AsyncClient) -> None:
    body = exact(await history(client, CLIENT_C2, "C2"))
    assert [(e["date"], e["total_value"], e["revision"]) for e in body] == [
        ("2025-03-01", D("50.00"), 1),
        ("2025-03-02", D("60.00"), 3),
    ]


@pytest.mark.parametrize(
    ("token", "client_id", "status"),
    [
        (ADMIN, "C1", 200),
        (ADMIN, "C3", 200),
        (ADMIN, "NOBODY", 404),
        (ADMIN, "ALL", 404),  # not a client
        (CLIENT_C1, "C1", 200),
        (CLIENT_C1, "C2", 403),
        (CLIENT_C1, "NOBODY", 403),
        (CLIENT_C1, "ALL", 403),
        (CLIENT_C9, "C9", 404),  # its own id, no data
        (LEADER, "C1", 403),
        (OFFICER, "C1", 403),
    ],
)
async def test_history_role_rules(client: httpx.AsyncClient, token: str, client_id: str, status: int) -> None:
    response = await history(client, token, client_id)
    if status == 200:
        assert exact(response)
    else:
        assert_error(response, status, "forbidden" if status == 403 else "not_found")


@pytest.mark.parametrize(
    ("client_id", "params"),
    [
        ("C1", {"from": "2025-03-03", "to": "2025-03-02"}),
        ("C1", {"from": "2025-3-1"}),
        ("C1", {"to": "2025-02-30"}),
        ("C1", {"from": "yesterday"}),
        ("a b", {}),
        ("x" * 65, {}),
    ],
)
async def test_history_bad_parameters_are_422(
    client: httpx.AsyncClient, client_id: str, params: dict[str, str]
) -> None:
    assert_error(await history(client, ADMIN, client_id, **params), 422, "invalid_parameters")


async def test_history_unknown_client_is_404_even_for_a_range(client: httpx.AsyncClient) -> None:
    response = await history(client, ADMIN, "NOBODY", **{"from": "2025-03-01", "to": "2025-03-03"})
    assert_error(response, 404, "not_found")


# --- without the read model ---------------------------------------------------------------------------


async def test_missing_read_model_is_503_not_500(stack: Stack) -> None:
    async with (
        scratch_database(stack.database_url, "pulse_tgww") as url,
        gateway(url) as http,
    ):  # the aggregator never ran
        for path in ("/v1/wealth/summary", "/v1/wealth/summary?client=C1", "/v1/wealth/clients/C1/history"):
            assert_error(await http.get(path, headers=auth(ADMIN)), 503, "unavailable")
        # Authorisation is still checked first.
        assert_error(await http.get("/v1/wealth/summary", headers=auth(LEADER)), 403, "forbidden")
