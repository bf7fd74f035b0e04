"""The aggregator's alerts read model (`aggregator.alerts`), built by `on_alerts` on a real PostgreSQL.

Each batch is handed to the handler as the consumer pipeline would (a `Batch` inside a transaction). An
alert's events normally arrive in order (they share the partition key, its scope), but the read model must
come out the same whatever the order, the batching, or the duplicates.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from services.aggregator import handlers
from shared import db
from shared.events.envelope import dumps, make_envelope
from shared.events.registry import parse_event
from shared.kafka.deadletter import InboundRecord
from shared.kafka.pipeline import Batch, Incoming
from shared.topics import Topic
from tests.support.stack import Stack, create_database, drop_database

pytestmark = pytest.mark.integration

MIGRATIONS = Path(__file__).resolve().parents[2] / "services/aggregator/migrations"
D1, D2, D3 = dt.date(2025, 3, 1), dt.date(2025, 3, 2), dt.date(2025, 3, 3)
RAISED_AT = dt.datetime(2025, 3, 2, 1, 0, 5, tzinfo=dt.UTC)
D = Decimal


# --- events -------------------------------------------------------------------------------------------


def _scope_fields(scope: str, branch: str | None) -> dict[str, Any]:
    kind, _, ident = scope.partition(":")
    return {
        "scope": scope,
        "kind": kind,
        "branch_id": ident if kind == "branch" else (branch if kind == "officer" else None),
        "officer_id": ident if kind == "officer" else None,
        "officer_name": f"Officer {ident}" if kind == "officer" else None,
    }


def raised(
    alert_id: str,
    *,
    revision: int = 1,
    day: dt.date = D1,
    severity: str = "warning",
    previous: str | None = None,
    alert_type: str = "high_par",
    scope: str = "officer:O1",
    branch: str | None = "B1",
    values: dict[str, str] | None = None,
    raised_at: dt.datetime = RAISED_AT,
    event_id: str | None = None,
) -> dict[str, Any]:
    data = {
        "alert_id": alert_id,
        "alert_type": alert_type,
        "severity": severity,
        "previous_severity": previous,
        **_scope_fields(scope, branch),
        "business_date": day.isoformat(),
        "revision": revision,
        "values": values if values is not None else {"par_30": "12.5"},
        "raised_at": raised_at.isoformat(),
    }
    return make_envelope(
        "alert.raised", data, source="alerter", event_id=event_id or f"alert.raised:{alert_id}:{revision}"
    )


def resolved(
    alert_id: str,
    *,
    revision: int,
    day: dt.date,
    severity: str = "warning",
    alert_type: str = "high_par",
    scope: str = "officer:O1",
    branch: str | None = "B1",
    values: dict[str, str] | None = None,
    raised_at: dt.datetime = RAISED_AT,
    resolved_at: dt.datetime | None = None,
) -> dict[str, Any]:
    data = {
        "alert_id": alert_id,
        "alert_type": alert_type,
        "severity": severity,
        **_scope_fields(scope, branch),
        "business_date": day.isoformat(),
        "revision": revision,
        "values": values if values is not None else {"par_30": "4"},
        "raised_at": raised_at.isoformat(),
        "resolved_at": (resolved_at or raised_at + dt.timedelta(days=2)).isoformat(),
    }
    return make_envelope("alert.resolved", data, source="alerter", event_id=f"alert.resolved:{alert_id}:{revision}")


def acknowledged(alert_id: str, by: str, at: dt.datetime, *, event_id: str | None = None) -> dict[str, Any]:
    data = {"alert_id": alert_id, "acknowledged_by": by, "acknowledged_at": at.isoformat()}
    return make_envelope("alert.acknowledged", data, source="gateway", event_id=event_id or uuid.uuid4().hex)


async def apply(pool: asyncpg.Pool, envelopes: Sequence[dict[str, Any]]) -> None:
    """One consumed batch of the `alerts` topic through `on_alerts`, in one transaction."""
    incoming = [
        Incoming(InboundRecord(str(Topic.ALERTS), 0, n, None, dumps(e), (), 0), parse_event(Topic.ALERTS, dumps(e)))
        for n, e in enumerate(envelopes)
    ]
    async with pool.acquire() as conn, conn.transaction():
        batch = Batch(conn=conn, events=incoming, prefix="", source="test")
        await handlers.on_alerts(batch)
    assert not batch.rejections
    assert not batch.outputs  # the read model publishes nothing


async def aggregator_database(stack: Stack) -> tuple[str, str]:
    """A new database holding the aggregator's schema: (its name, its URL)."""
    name = f"pulse_ta{uuid.uuid4().hex[:10]}"
    url = await create_database(stack.database_url, name)
    pool = await db.create_pool(url, retry=False)
    try:
        await db.migrate(pool, "aggregator", MIGRATIONS)
    finally:
        await pool.close()
    return name, url


@pytest.fixture(scope="module")
async def pool(stack: Stack) -> AsyncIterator[asyncpg.Pool]:
    name, url = await aggregator_database(stack)
    the_pool = await db.create_pool(url, retry=False)
    try:
        yield the_pool
    finally:
        await the_pool.close()
        await drop_database(stack.database_url, name)


async def state(pool: asyncpg.Pool, alert_id: str) -> dict[str, Any] | None:
    """The alert's row (without `updated_at`; `values` as exact JSON text), or None."""
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            'SELECT *, "values"::text AS values_json FROM aggregator.alerts WHERE alert_id = $1', alert_id
        )
    if row is None:
        return None
    out = dict(row)
    del out["updated_at"], out["values"]
    return out


def new_id(label: str) -> str:
    return f"al-{label}-{uuid.uuid4().hex[:12]}"


# --- the lifecycle, in order --------------------------------------------------------------------------

ACK_AT = dt.datetime(2025, 3, 2, 8, 30, tzinfo=dt.UTC)
RESOLVED_AT = dt.datetime(2025, 3, 4, 1, 0, tzinfo=dt.UTC)


def lifecycle(alert_id: str) -> list[dict[str, Any]]:
    """Raise (warning, D1), severity change (critical, D2), acknowledgement, resolution (D3)."""
    return [
        raised(alert_id, values={"par_30": "12.345678901234567890"}),
        raised(alert_id, revision=2, day=D2, severity="critical", previous="warning", values={"par_30": "16.5"}),
        acknowledged(alert_id, "team_leader:B1", ACK_AT),
        resolved(alert_id, revision=3, day=D3, severity="critical", values={"par_30": "9.25"}, resolved_at=RESOLVED_AT),
    ]


def final_state(alert_id: str) -> dict[str, Any]:
    return {
        "alert_id": alert_id,
        "alert_type": "high_par",
        "severity": "critical",
        "scope": "officer:O1",
        "kind": "officer",
        "branch_id": "B1",
        "officer_id": "O1",
        "officer_name": "Officer O1",
        "business_date": D1,
        "last_business_date": D3,
        "status": "resolved",
        "raised_at": RAISED_AT,
        "resolved_at": RESOLVED_AT,
        "revision": 3,
        "values_json": '{"par_30": 9.25}',
        "acknowledged": True,
        "acknowledged_by": "team_leader:B1",
        "acknowledged_at": ACK_AT,
    }


async def test_raise_severity_change_ack_resolve(pool: asyncpg.Pool) -> None:
    alert_id = new_id("life")
    raise1, raise2, ack, resolve = lifecycle(alert_id)

    await apply(pool, [raise1])
    row = await state(pool, alert_id)
    assert row is not None
    assert (row["status"], row["severity"], row["revision"]) == ("open", "warning", 1)
    assert (row["business_date"], row["last_business_date"]) == (D1, D1)
    assert (row["scope"], row["kind"], row["branch_id"], row["officer_id"]) == ("officer:O1", "officer", "B1", "O1")
    assert row["raised_at"] == RAISED_AT
    assert row["resolved_at"] is None
    assert row["values_json"] == '{"par_30": 12.345678901234567890}'  # a JSON number, every digit kept
    assert (row["acknowledged"], row["acknowledged_by"], row["acknowledged_at"]) == (False, None, None)

    await apply(pool, [raise2])
    row = await state(pool, alert_id)
    assert row is not None
    assert (row["status"], row["severity"], row["revision"]) == ("open", "critical", 2)
    assert (row["business_date"], row["last_business_date"]) == (D1, D2)  # still raised on D1
    assert row["values_json"] == '{"par_30": 16.5}'
    assert row["raised_at"] == RAISED_AT

    await apply(pool, [ack])
    row = await state(pool, alert_id)
    assert row is not None
    assert (row["acknowledged"], row["acknowledged_by"], row["acknowledged_at"]) == (True, "team_leader:B1", ACK_AT)
    assert (row["status"], row["revision"]) == ("open", 2)

    await apply(pool, [resolve])
    assert await state(pool, alert_id) == final_state(alert_id)


async def test_every_arrival_order_gives_the_same_alert(pool: asyncpg.Pool) -> None:
    for order in itertools.permutations(range(4)):
        alert_id = new_id("order")
        events = lifecycle(alert_id)
        for index in order:  # one event per batch
            await apply(pool, [events[index]])
        assert await state(pool, alert_id) == final_state(alert_id), order


async def test_every_order_within_one_batch_gives_the_same_alert(pool: asyncpg.Pool) -> None:
    for order in itertools.permutations(range(4)):
        alert_id = new_id("batch")
        events = lifecycle(alert_id)
        await apply(pool, [events[i] for i in order])
        assert await state(pool, alert_id) == final_state(alert_id), order


async def test_resolved_before_raised_stays_resolved(pool: asyncpg.Pool) -> None:
    alert_id = new_id("resolved-first")
    raise1, raise2, _, resolve = lifecycle(alert_id)
    await apply(pool, [resolve])
    row = await state(pool, alert_id)
    assert row is not None
    # Everything the resolution tells: its day is the earliest known until the raise arrives.
    assert (row["status"], row["severity"], row["revision"], row["resolved_at"]) == (
        "resolved",
        "critical",
        3,
        RESOLVED_AT,
    )
    assert (row["business_date"], row["last_business_date"]) == (D3, D3)
    assert row["raised_at"] == RAISED_AT

    await apply(pool, [raise2])
    row = await state(pool, alert_id)
    assert row is not None
    assert (row["status"], row["revision"], row["values_json"]) == ("resolved", 3, '{"par_30": 9.25}')
    assert row["business_date"] == D2

    await apply(pool, [raise1])
    row = await state(pool, alert_id)
    assert row is not None
    assert (row["status"], row["severity"], row["revision"]) == ("resolved", "critical", 3)
    assert (row["business_date"], row["last_business_date"]) == (D1, D3)
    assert row["resolved_at"] == RESOLVED_AT


async def test_ack_before_the_alert_is_pending_then_applied(pool: asyncpg.Pool) -> None:
    alert_id = new_id("ack-first")
    raise1, *_ = lifecycle(alert_id)
    await apply(pool, [acknowledged(alert_id, "loan_officer:O1", ACK_AT)])
    pending = await state(pool, alert_id)
    assert pending is not None
    # A pending row: no alert yet (status NULL hides it from readers), only the acknowledgement.
    assert (pending["status"], pending["revision"], pending["alert_type"], pending["values_json"]) == (
        None,
        0,
        None,
        None,
    )
    assert (pending["acknowledged"], pending["acknowledged_by"], pending["acknowledged_at"]) == (
        True,
        "loan_officer:O1",
        ACK_AT,
    )

    await apply(pool, [raise1])
    row = await state(pool, alert_id)
    assert row is not None
    assert (row["status"], row["severity"], row["revision"], row["business_date"]) == ("open", "warning", 1, D1)
    assert (row["acknowledged"], row["acknowledged_by"], row["acknowledged_at"]) == (True, "loan_officer:O1", ACK_AT)


async def test_ack_before_a_resolved_alert(pool: asyncpg.Pool) -> None:
    alert_id = new_id("ack-resolved")
    *_, resolve = lifecycle(alert_id)
    await apply(pool, [acknowledged(alert_id, "admin", ACK_AT)])
    await apply(pool, [resolve])
    row = await state(pool, alert_id)
    assert row is not None
    assert (row["status"], row["acknowledged"], row["acknowledged_by"]) == ("resolved", True, "admin")


async def test_the_earliest_acknowledgement_is_kept(pool: asyncpg.Pool) -> None:
    later = ACK_AT + dt.timedelta(hours=1)
    for first, second in (
        (("admin", later), ("team_leader:B1", ACK_AT)),
        (("team_leader:B1", ACK_AT), ("admin", later)),
    ):
        alert_id = new_id("acks")
        await apply(pool, [raised(alert_id)])
        await apply(pool, [acknowledged(alert_id, *first)])
        await apply(pool, [acknowledged(alert_id, *second)])
        row = await state(pool, alert_id)
        assert row is not None
        assert (row["acknowledged_by"], row["acknowledged_at"]) == ("team_leader:B1", ACK_AT)
    # Both in one batch, and before the alert.
    alert_id = new_id("acks-batch")
    await apply(pool, [acknowledged(alert_id, "admin", later), acknowledged(alert_id, "team_leader:B1", ACK_AT)])
    await apply(pool, [raised(alert_id)])
    row = await state(pool, alert_id)
    assert row is not None
    assert (row["acknowledged"], row["acknowledged_by"], row["acknowledged_at"]) == (True, "team_leader:B1", ACK_AT)


async def test_every_acknowledgement_is_kept_with_who_and_when(pool: asyncpg.Pool) -> None:
    alert_id = new_id("acks-audit")
    later = ACK_AT + dt.timedelta(hours=1)
    await apply(pool, [raised(alert_id), acknowledged(alert_id, "admin", later)])
    await apply(pool, [acknowledged(alert_id, "team_leader:B1", ACK_AT)])
    await apply(pool, [acknowledged(alert_id, "team_leader:B1", ACK_AT)])  # the same one again (a new event id)
    async with pool.acquire() as conn:
        kept = await conn.fetch(
            "SELECT acknowledged_by, acknowledged_at FROM aggregator.alert_acknowledgements WHERE alert_id = $1"
            " ORDER BY acknowledged_at",
            alert_id,
        )
    assert [tuple(r) for r in kept] == [("team_leader:B1", ACK_AT), ("admin", later)]


async def test_duplicates_change_nothing(pool: asyncpg.Pool) -> None:
    alert_id = new_id("dup")
    events = lifecycle(alert_id)
    raise1, raise2, ack, resolve = events
    # The same event again under another event_id (the inbox would skip an identical one), in one batch...
    await apply(pool, [raise1, raised(alert_id, values={"par_30": "12.345678901234567890"}, event_id="again-1")])
    await apply(pool, [raise2, raise2 | {"event_id": "again-2"}])
    # ...a whole batch replayed...
    await apply(pool, [raise1, raise2])
    await apply(pool, [ack])
    await apply(pool, [ack | {"event_id": "again-3"}])
    await apply(pool, [resolve])
    await apply(pool, [resolve | {"event_id": "again-4"}])
    # ...and everything once more, late.
    await apply(pool, [e | {"event_id": f"late-{n}"} for n, e in enumerate(events)])
    assert await state(pool, alert_id) == final_state(alert_id)


async def test_a_lower_revision_never_overwrites_a_higher_one(pool: asyncpg.Pool) -> None:
    alert_id = new_id("revisions")
    raise1, raise2, *_ = lifecycle(alert_id)
    await apply(pool, [raise2])
    await apply(pool, [raise1])
    row = await state(pool, alert_id)
    assert row is not None
    assert (row["severity"], row["revision"], row["values_json"]) == ("critical", 2, '{"par_30": 16.5}')
    assert (row["business_date"], row["last_business_date"], row["status"]) == (D1, D2, "open")


async def test_many_alerts_in_one_batch(pool: asyncpg.Pool) -> None:
    ids = [new_id(f"many{n}") for n in range(50)]
    batch: list[dict[str, Any]] = []
    for n, alert_id in enumerate(ids):
        scope = ("all", "branch:B2", "officer:O7")[n % 3]
        batch.append(raised(alert_id, scope=scope, branch="B2", values={"health_score": f"{40 + n}.125"}))
        if n % 2:
            batch.append(resolved(alert_id, revision=2, day=D2, scope=scope, branch="B2"))
        if n % 5 == 0:
            batch.append(acknowledged(alert_id, "admin", ACK_AT))
    await apply(pool, batch)
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            'SELECT alert_id, scope, kind, branch_id, status, acknowledged, "values"::text AS v'
            " FROM aggregator.alerts WHERE alert_id = ANY($1::text[])",
            ids,
        )
    by_id = {r["alert_id"]: r for r in rows}
    assert len(by_id) == 50
    for n, alert_id in enumerate(ids):
        r = by_id[alert_id]
        assert r["status"] == ("resolved" if n % 2 else "open")
        assert r["acknowledged"] is (n % 5 == 0)
        assert r["scope"] == ("all", "branch:B2", "officer:O7")[n % 3]
        assert r["branch_id"] == (None if r["kind"] == "all" else "B2")
        if n % 2 == 0:
            assert json.loads(r["v"], parse_float=Decimal) == {"health_score": D(f"{40 + n}.125")}


async def test_the_read_model_is_created_by_the_aggregators_migrations(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        indexes = {
            r["indexname"] for r in await conn.fetch("SELECT indexname FROM pg_indexes WHERE tablename = 'alerts'")
        }
        # The readers' invariant: an alert row is complete.
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute("INSERT INTO aggregator.alerts (alert_id, status) VALUES ('al-broken', 'open')")
    assert {"alerts_pkey", "alerts_status_raised", "alerts_raised", "alerts_branch", "alerts_officer"} <= indexes
