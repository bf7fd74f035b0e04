"""The alerts API against the real PostgreSQL and Kafka (CONTRACT §2, §4): `GET /v1/alerts` and
`POST /v1/alerts/{alert_id}/ack`.

The read model is filled by the aggregator's own handler (`on_alerts`) from known alert events, so the
gateway reads exactly what the aggregator writes; an acknowledgement the gateway publishes is read back
from the broker and applied the same way.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator, Mapping
from decimal import Decimal
from typing import Any

import httpx
import pytest

from services.gateway.app import create_app
from services.gateway.presenters.alerts import ITEM_FIELDS
from services.gateway.publisher import Publisher
from shared import db
from shared.auth import Role, issue_token
from shared.events.envelope import make_envelope, parse_envelope
from shared.settings import Settings
from shared.topics import Topic, topic_name
from tests.conftest import World
from tests.integration.test_alerts_read_model import (
    MIGRATIONS,
    acknowledged,
    aggregator_database,
    apply,
    raised,
    resolved,
)
from tests.support.kafka import Received
from tests.support.stack import Stack, drop_database, login_url

pytestmark = pytest.mark.integration

SECRET = "gateway-alerts-test-secret-0123456789abcdef"
CLOSED = "127.0.0.1:1"  # nothing listens on port 1
D = Decimal
D1, D2, D3 = dt.date(2025, 3, 1), dt.date(2025, 3, 2), dt.date(2025, 3, 3)
T0 = dt.datetime(2025, 3, 3, 1, 0, tzinfo=dt.UTC)


def at(hours: int) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours)


# --- tokens -------------------------------------------------------------------------------------------

ADMIN = issue_token(Role.ADMIN, sub="ops@bank.test", secret=SECRET)
LEADER_B1 = issue_token(Role.TEAM_LEADER, branch_id="B1", sub="nia@bank.test", secret=SECRET)
LEADER_B2 = issue_token(Role.TEAM_LEADER, branch_id="B2", sub="nia@bank.test", secret=SECRET)
LEADER_B9 = issue_token(Role.TEAM_LEADER, branch_id="B9", sub="nia@bank.test", secret=SECRET)  # a branch without alerts
OFFICER_O1 = issue_token(Role.LOAN_OFFICER, officer_id="O1", sub="tester@bank.test", secret=SECRET)
OFFICER_O3 = issue_token(Role.LOAN_OFFICER, officer_id="O3", sub="tester@bank.test", secret=SECRET)
OFFICER_O9 = issue_token(Role.LOAN_OFFICER, officer_id="O9", sub="tester@bank.test", secret=SECRET)  # no alerts
CLIENT = issue_token(Role.CLIENT, client_id="C1", sub="tester@bank.test", secret=SECRET)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- the read model -----------------------------------------------------------------------------------
# Newest first: A1 (t+9) … A6 (t+4); A7 and A8 share t+3 (alert_id breaks the tie: A7a before A7b).

SEED: list[dict[str, Any]] = [
    raised(
        "A1-all",
        alert_type="portfolio_health_critical",
        severity="critical",
        scope="all",
        values={"health_score": "45.125"},
        day=D3,
        raised_at=at(9),
    ),
    raised("A2-b1", scope="branch:B1", values={"par_30": "10.12345"}, day=D3, raised_at=at(8)),
    raised(
        "A3-o1",
        alert_type="low_collection_rate",
        scope="officer:O1",
        branch="B1",
        values={"collection_rate": "79.99995"},
        day=D2,
        raised_at=at(7),
    ),
    acknowledged("A3-o1", "nia@bank.test", at(10)),
    raised(
        "A4-o2",
        alert_type="high_default_rate",
        severity="warning",
        scope="officer:O2",
        branch="B1",
        values={"default_rate": "6"},
        day=D1,
        raised_at=at(6),
    ),
    raised(
        "A4-o2",
        revision=2,
        alert_type="high_default_rate",
        severity="critical",
        previous="warning",
        scope="officer:O2",
        branch="B1",
        values={"default_rate": "11"},
        day=D2,
        raised_at=at(6),
    ),
    resolved(
        "A4-o2",
        revision=3,
        alert_type="high_default_rate",
        severity="critical",
        scope="officer:O2",
        branch="B1",
        values={"default_rate": "4.99999"},
        day=D3,
        raised_at=at(6),
        resolved_at=at(11),
    ),
    raised(
        "A5-o3",
        alert_type="negative_growth",
        scope="officer:O3",
        branch="B2",
        values={"growth_rate": "-12.00005"},
        day=D3,
        raised_at=at(5),
    ),
    raised(
        "A6-b2",
        alert_type="portfolio_health_warning",
        scope="branch:B2",
        values={"health_score": "65.005"},
        day=D3,
        raised_at=at(4),
    ),
    raised("A7b-o1", severity="critical", scope="officer:O1", branch="B1", values={"par_30": "20"}, raised_at=at(3)),
    raised(
        "A7a-o1",
        alert_type="high_default_rate",
        scope="officer:O1",
        branch="B1",
        values={"default_rate": "5.5"},
        raised_at=at(3),
    ),
    acknowledged("A7a-o1", "loan_officer:O1", at(4)),
    # An acknowledgement whose alert has not arrived: never listed, never acknowledgeable.
    acknowledged("PENDING", "admin", at(1)),
]
ALL_IDS = ["A1-all", "A2-b1", "A3-o1", "A4-o2", "A5-o3", "A6-b2", "A7a-o1", "A7b-o1"]
OPEN_IDS = [i for i in ALL_IDS if i != "A4-o2"]

A1_JSON = (
    '{"alert_id":"A1-all","type":"portfolio_health_critical","severity":"critical","scope":"all",'
    '"business_date":"2025-03-03","status":"open","raised_at":"2025-03-03T10:00:00+00:00","resolved_at":null,'
    '"acknowledged":false,"values":{"health_score":45.13}}'
)
A4_JSON = (
    '{"alert_id":"A4-o2","type":"high_default_rate","severity":"critical","scope":"officer:O2",'
    '"business_date":"2025-03-01","status":"resolved","raised_at":"2025-03-03T07:00:00+00:00",'
    '"resolved_at":"2025-03-03T12:00:00+00:00","acknowledged":false,"values":{"default_rate":5.0000}}'
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


async def seed(url: str) -> None:
    pool = await db.create_pool(url, retry=False)
    try:
        await apply(pool, SEED)
        # A loans row places officer O8 (no alerts) in branch B1.
        async with pool.acquire() as conn:
            await conn.execute(
                "INSERT INTO aggregator.loan_summaries (scope, business_date, revision, kind, branch_id, officer_id,"
                " total_clients, active_clients, total_loans, active_loans, total_disbursed, total_outstanding,"
                " total_collected, par_30, par_60, par_90, default_rate, collection_rate, portfolio_yield,"
                " growth_rate, new_clients_30d, exited_clients_30d, health_score, health_category)"
                " VALUES ('officer:O8', '2025-03-03', 1, 'officer', 'B1', 'O8',"
                " 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 100, 0, 0, 0, 0, 80, 'excellent')"
            )
    finally:
        await pool.close()


@pytest.fixture(scope="module")
async def client(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """A gateway over a database holding the aggregator's schema and `SEED` (shared by the read tests)."""
    name, url = await aggregator_database(stack)
    try:
        await seed(url)
        app = create_app(settings_for(url))
        publisher = app.state.publisher
        assert isinstance(publisher, Publisher)
        publisher.start_timeout = 1.0  # Kafka is down for this gateway: publishing is a quick 503
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://gateway") as http,
        ):
            yield http
    finally:
        await drop_database(stack.database_url, name)


def exact(response: httpx.Response) -> Any:
    return json.loads(response.text, parse_float=Decimal)


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [a["alert_id"] for a in exact(response)]


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]


# --- GET /v1/alerts -----------------------------------------------------------------------------------


async def test_open_alerts_newest_first_with_rounded_values(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/alerts", headers=auth(ADMIN))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert ids(response) == OPEN_IDS
    assert response.text.startswith("[" + A1_JSON + ",")
    body = {a["alert_id"]: a for a in exact(response)}
    assert all(list(a) == list(ITEM_FIELDS) for a in body.values())
    assert body["A2-b1"]["values"] == {"par_30": D("10.1235")}  # percents half-up to 4 places
    assert body["A3-o1"]["values"] == {"collection_rate": D("80.0000")}
    assert body["A5-o3"]["values"] == {"growth_rate": D("-12.0001")}
    assert body["A6-b2"]["values"] == {"health_score": D("65.01")}  # health_score to 2
    assert '"values":{"par_30":20.0000}' in response.text
    assert body["A3-o1"]["acknowledged"] is True
    assert body["A3-o1"]["business_date"] == "2025-03-02"
    assert "PENDING" not in response.text


async def test_a_resolved_alert_carries_its_last_state_and_its_raise_day(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/alerts", params={"status": "resolved"}, headers=auth(ADMIN))
    assert response.text == "[" + A4_JSON + "]"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "open"}, OPEN_IDS),
        ({"status": "resolved"}, ["A4-o2"]),
        ({"status": "all"}, ALL_IDS),
        ({"severity": "critical"}, ["A1-all", "A7b-o1"]),
        ({"severity": "critical", "status": "all"}, ["A1-all", "A4-o2", "A7b-o1"]),
        ({"severity": "warning"}, ["A2-b1", "A3-o1", "A5-o3", "A6-b2", "A7a-o1"]),
        ({"type": "high_par"}, ["A2-b1", "A7b-o1"]),
        ({"type": "high_default_rate", "status": "all"}, ["A4-o2", "A7a-o1"]),
        ({"type": "portfolio_health_critical"}, ["A1-all"]),
        ({"type": "negative_growth", "severity": "critical"}, []),
        ({"scope": "all"}, ["A1-all"]),
        ({"scope": "branch:B1"}, ["A2-b1"]),
        ({"scope": "officer:O1"}, ["A3-o1", "A7a-o1", "A7b-o1"]),
        ({"scope": "officer:O2"}, []),
        ({"scope": "officer:O2", "status": "all"}, ["A4-o2"]),
        ({"scope": "branch:NOPE"}, []),
        ({"unread": "true"}, ["A1-all", "A2-b1", "A5-o3", "A6-b2", "A7b-o1"]),
        ({"unread": "false"}, ["A3-o1", "A7a-o1"]),
        ({"unread": "true", "scope": "officer:O1"}, ["A7b-o1"]),
        ({"unread": "true", "status": "all", "severity": "critical"}, ["A1-all", "A4-o2", "A7b-o1"]),
    ],
)
async def test_filters(client: httpx.AsyncClient, params: dict[str, str], expected: list[str]) -> None:
    assert ids(await client.get("/v1/alerts", params=params, headers=auth(ADMIN))) == expected


async def test_paging(client: httpx.AsyncClient) -> None:
    pages = []
    for offset in range(0, 10, 3):
        page = await client.get(
            "/v1/alerts", params={"status": "all", "limit": 3, "offset": offset}, headers=auth(ADMIN)
        )
        pages.append(ids(page))
    assert pages == [ALL_IDS[0:3], ALL_IDS[3:6], ALL_IDS[6:8], []]
    assert ids(await client.get("/v1/alerts?status=all&limit=1000", headers=auth(ADMIN))) == ALL_IDS
    assert ids(await client.get("/v1/alerts?status=all&offset=7", headers=auth(ADMIN))) == ["A7b-o1"]


@pytest.mark.parametrize(
    "params",
    [
        {"status": "closed"},
        {"status": ""},
        {"severity": "info"},
        {"type": "portfolio_health"},
        {"scope": "everything"},
        {"scope": "branch:"},
        {"scope": "branch:a b"},
        {"scope": "team:B1"},
        {"unread": "maybe"},
        {"limit": "0"},
        {"limit": "1001"},
        {"limit": "ten"},
        {"offset": "-1"},
    ],
)
async def test_bad_parameters_are_422(client: httpx.AsyncClient, params: dict[str, str]) -> None:
    assert_error(await client.get("/v1/alerts", params=params, headers=auth(ADMIN)), 422, "invalid_parameters")


async def test_each_role_sees_its_own_alerts(client: httpx.AsyncClient) -> None:
    every = {"status": "all"}
    assert ids(await client.get("/v1/alerts", params=every, headers=auth(ADMIN))) == ALL_IDS
    # A team leader: their branch and its officers, never `all`.
    assert ids(await client.get("/v1/alerts", params=every, headers=auth(LEADER_B1))) == [
        "A2-b1",
        "A3-o1",
        "A4-o2",
        "A7a-o1",
        "A7b-o1",
    ]
    assert ids(await client.get("/v1/alerts", params=every, headers=auth(LEADER_B2))) == ["A5-o3", "A6-b2"]
    assert ids(await client.get("/v1/alerts", headers=auth(LEADER_B9))) == []
    # A loan officer: their own scope only.
    assert ids(await client.get("/v1/alerts", params=every, headers=auth(OFFICER_O1))) == [
        "A3-o1",
        "A7a-o1",
        "A7b-o1",
    ]
    assert ids(await client.get("/v1/alerts", params={"unread": "true"}, headers=auth(OFFICER_O1))) == ["A7b-o1"]
    assert ids(await client.get("/v1/alerts", headers=auth(OFFICER_O3))) == ["A5-o3"]
    assert ids(await client.get("/v1/alerts", headers=auth(OFFICER_O9))) == []
    # Filters narrow the caller's alerts, never widen them.
    leader_critical = await client.get("/v1/alerts", params={"severity": "critical"}, headers=auth(LEADER_B1))
    assert ids(leader_critical) == ["A7b-o1"]


@pytest.mark.parametrize(
    ("token", "scope", "expected"),
    [
        (ADMIN, "branch:B2", ["A6-b2"]),
        (ADMIN, "officer:O3", ["A5-o3"]),
        (LEADER_B1, "branch:B1", ["A2-b1"]),
        (LEADER_B1, "officer:O1", ["A3-o1", "A7a-o1", "A7b-o1"]),
        (LEADER_B1, "officer:O2", ["A4-o2"]),
        (LEADER_B1, "officer:O8", []),  # in the branch by the loans read model, no alerts
        (LEADER_B1, "all", 403),
        (LEADER_B1, "branch:B2", 403),
        (LEADER_B1, "officer:O3", 403),  # an officer of another branch
        (LEADER_B1, "officer:NOBODY", 403),  # unknown officer: its branch cannot be its own
        (LEADER_B2, "officer:O3", ["A5-o3"]),
        (LEADER_B2, "officer:O1", 403),
        (LEADER_B9, "branch:B9", []),
        (OFFICER_O1, "officer:O1", ["A3-o1", "A7a-o1", "A7b-o1"]),
        (OFFICER_O1, "officer:O2", 403),
        (OFFICER_O1, "branch:B1", 403),
        (OFFICER_O1, "all", 403),
        (CLIENT, "all", 403),
        (CLIENT, "officer:O1", 403),
    ],
)
async def test_scope_filter_role_rules(
    client: httpx.AsyncClient, token: str, scope: str, expected: list[str] | int
) -> None:
    response = await client.get("/v1/alerts", params={"scope": scope, "status": "all"}, headers=auth(token))
    if isinstance(expected, int):
        assert_error(response, expected, "forbidden")
    else:
        assert ids(response) == expected


async def test_clients_and_callers_without_a_token_are_refused(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/v1/alerts", headers=auth(CLIENT)), 403, "forbidden")
    assert_error(await client.post("/v1/alerts/A1-all/ack", headers=auth(CLIENT)), 403, "forbidden")
    assert_error(await client.get("/v1/alerts"), 401, "unauthorized")
    assert_error(await client.post("/v1/alerts/A1-all/ack"), 401, "unauthorized")
    assert_error(await client.get("/v1/alerts", headers=auth("not-a-token")), 401, "unauthorized")


@pytest.mark.parametrize(
    ("token", "alert_id", "status"),
    [
        (ADMIN, "NOPE", 404),
        (ADMIN, "PENDING", 404),  # only an acknowledgement, no alert
        (LEADER_B1, "NOPE", 404),
        (LEADER_B1, "A1-all", 403),
        (LEADER_B1, "A5-o3", 403),
        (LEADER_B1, "A6-b2", 403),
        (LEADER_B2, "A2-b1", 403),
        (OFFICER_O1, "A2-b1", 403),
        (OFFICER_O1, "A4-o2", 403),
        (OFFICER_O3, "A7b-o1", 403),
        (CLIENT, "A1-all", 403),
        (ADMIN, "not an id", 422),
        (ADMIN, "x" * 65, 422),
    ],
)
async def test_ack_refusals(client: httpx.AsyncClient, token: str, alert_id: str, status: int) -> None:
    # Kafka is unreachable for this gateway: a refusal never tries to publish (a publish would be a 503).
    response = await client.post(f"/v1/alerts/{alert_id}/ack", headers=auth(token))
    assert_error(response, status, {403: "forbidden", 404: "not_found", 422: "invalid_parameters"}[status])


async def test_ack_with_kafka_down_is_503(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/alerts/A1-all/ack", headers=auth(ADMIN))
    assert_error(response, 503, "unavailable")


async def test_missing_read_model_is_503_not_500(world: World) -> None:
    app = create_app(settings_for(world.database_url))  # an empty database: the aggregator never ran
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://gateway") as http,
    ):
        assert_error(await http.get("/v1/alerts", headers=auth(ADMIN)), 503, "unavailable")
        assert_error(await http.get("/v1/alerts?scope=officer:O1", headers=auth(LEADER_B1)), 503, "unavailable")
        assert_error(await http.post("/v1/alerts/A1-all/ack", headers=auth(ADMIN)), 503, "unavailable")


# --- POST /v1/alerts/{alert_id}/ack -------------------------------------------------------------------


async def test_ack_publishes_one_event_keyed_by_scope_and_the_read_model_applies_it(world: World) -> None:
    pool = await db.create_pool(world.database_url, retry=False)
    try:
        await db.migrate(pool, "aggregator", MIGRATIONS)
        await apply(pool, SEED)
        app = create_app(settings_for(world.database_url, kafka=world.kafka_settings("gateway"), prefix=world.prefix))
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://gateway") as http,
        ):
            # Refusals first: none of them publishes anything.
            assert_error(await http.post("/v1/alerts/A2-b1/ack", headers=auth(OFFICER_O1)), 403, "forbidden")
            assert_error(await http.post("/v1/alerts/NOPE/ack", headers=auth(ADMIN)), 404, "not_found")
            before = datetime_now()
            accepted = await http.post("/v1/alerts/A7b-o1/ack", headers=auth(LEADER_B1))
            after = datetime_now()
            assert accepted.status_code == 202, accepted.text
            assert set(accepted.json()) == {"event_id"}
            event_id = accepted.json()["event_id"]

            # Exactly one record: a marker on every partition after the request closes the topic.
            markers = await close_every_partition(world)
            records = await world.bus.read_until(
                Topic.ALERTS, lambda seen: {parse_envelope(r.value).event_id for r in seen} >= markers
            )
            published = [r for r in records if parse_envelope(r.value).event_id not in markers]
            assert len(published) == 1
            (record,) = published
            assert record.topic == topic_name(Topic.ALERTS, world.prefix)
            assert record.key == b"officer:O1"  # the alert's scope: ordered with the alert's own events
            event = parse_envelope(record.value)
            assert (event.event_id, event.event_type, event.source, event.schema_version) == (
                event_id,
                "alert.acknowledged",
                "gateway",
                1,
            )
            assert set(event.data) == {"alert_id", "acknowledged_by", "acknowledged_at"}
            assert (event.data["alert_id"], event.data["acknowledged_by"]) == ("A7b-o1", "nia@bank.test")
            acknowledged_at = dt.datetime.fromisoformat(event.data["acknowledged_at"])
            assert before <= acknowledged_at <= after

            # Still unread until the aggregator applies the event...
            unread = await http.get("/v1/alerts", params={"unread": "true"}, headers=auth(OFFICER_O1))
            assert ids(unread) == ["A7b-o1"]
            await apply(pool, [json.loads(record.value or b"")])
            # ...then acknowledged, and no longer unread.
            mine = {a["alert_id"]: a for a in exact(await http.get("/v1/alerts", headers=auth(OFFICER_O1)))}
            assert mine["A7b-o1"]["acknowledged"] is True
            assert ids(await http.get("/v1/alerts", params={"unread": "true"}, headers=auth(OFFICER_O1))) == []
            assert "A7b-o1" in ids(await http.get("/v1/alerts", params={"unread": "false"}, headers=auth(ADMIN)))
            async with pool.acquire() as conn:
                row = await conn.fetchrow("SELECT * FROM aggregator.alerts WHERE alert_id = 'A7b-o1'")
            assert row is not None
            assert (row["acknowledged_by"], row["acknowledged_at"]) == ("nia@bank.test", acknowledged_at)

            # A resolved alert may be acknowledged too; an admin may acknowledge any alert.
            for token, alert_id, key in ((ADMIN, "A4-o2", b"officer:O2"), (ADMIN, "A1-all", b"all")):
                response = await http.post(f"/v1/alerts/{alert_id}/ack", headers=auth(token))
                assert response.status_code == 202, response.text
                mine_record = await read_event(world, response.json()["event_id"])
                assert mine_record.key == key
                assert parse_envelope(mine_record.value).data["acknowledged_by"] == "ops@bank.test"
    finally:
        await pool.close()


async def read_event(world: World, event_id: str) -> Received:
    """The record of the alerts topic carrying this event."""

    def found(seen: list[Received]) -> bool:
        return any(parse_envelope(r.value).event_id == event_id for r in seen)

    records = await world.bus.read_until(Topic.ALERTS, found)
    (record,) = [r for r in records if parse_envelope(r.value).event_id == event_id]
    return record


def datetime_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def close_every_partition(world: World) -> set[str]:
    """Publish a marker (a harmless acknowledgement of no alert) on each partition of the alerts topic."""
    producer = await world.bus.producer()
    name = topic_name(Topic.ALERTS, world.prefix)
    markers: set[str] = set()
    for partition in sorted(await producer.partitions_for(name)):
        marker = make_envelope(
            "alert.acknowledged",
            {
                "alert_id": f"marker-{partition}",
                "acknowledged_by": "test",
                "acknowledged_at": datetime_now().isoformat(),
            },
            source="test",
        )
        await producer.send_and_wait(name, json.dumps(marker).encode(), key=b"marker", partition=partition)
        markers.add(marker["event_id"])
    return markers
