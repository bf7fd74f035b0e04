"""The snapshotter's handlers driven directly against a real PostgreSQL database (no broker): hand-worked
loan books go in as events and come out as the officer days the service would publish."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import itertools
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import asyncpg

from services.snapshotter import handlers
from services.snapshotter.loans import store
from services.snapshotter.loans.snapshots import numerators, publish_days
from shared import db
from shared.domain.loan_metrics import LoanMetrics, compute
from shared.events.envelope import dumps, make_envelope
from shared.events.registry import parse_event
from shared.kafka.deadletter import InboundRecord
from shared.kafka.lag import IngestBarrier
from shared.kafka.pipeline import Batch, Incoming, UnitOfWork
from shared.topics import Topic

MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "snapshotter" / "migrations"
_ids = itertools.count(1)


def event(event_type: str, **data: Any) -> dict[str, Any]:
    return make_envelope(
        event_type,
        {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in data.items()},
        source="test",
        event_id=f"e{next(_ids)}",
    )


@dataclass
class Ledger:
    """What one handled batch did: the codes of rejected events, and the envelopes it emitted."""

    rejected: dict[str, str] = field(default_factory=dict)
    emitted: list[dict[str, Any]] = field(default_factory=list)


class IngestDone:
    """The close's ingest barrier when the harness hands events over itself: they are all in already."""

    async def wait(self, key: str) -> None:
        return None


class SnapshotterHarness:
    def __init__(self, pool: asyncpg.Pool, database_url: str, *, close_max_days: int = 100_000) -> None:
        self.pool = pool
        self.database_url = database_url
        # The control handler as the service wires it, with the harness's barrier.
        self.on_control = functools.partial(
            handlers.on_control,
            loan_ingest=cast(IngestBarrier, IngestDone()),
            mark_closing=functools.partial(store.mark_closing, database_url),
            close_max_days=close_max_days,
        )

    async def _run(self, topic: Topic, envelopes: list[dict[str, Any]], handler: Any) -> Ledger:
        async with self._held(topic, envelopes, handler) as ledger:
            pass
        return ledger

    @contextlib.asynccontextmanager
    async def _held(self, topic: Topic, envelopes: list[dict[str, Any]], handler: Any) -> AsyncIterator[Ledger]:
        """A batch handled in a transaction that stays open until the block ends (what another instance
        does meanwhile is the block's business); the ledger is filled in once the handler is done."""
        incoming = [
            Incoming(InboundRecord(str(topic), 0, n, None, dumps(e), (), 0), parse_event(topic, dumps(e)))
            for n, e in enumerate(envelopes)
        ]
        ledger = Ledger()
        async with self.pool.acquire() as conn, conn.transaction():
            batch = Batch(conn=conn, events=incoming, prefix="", source="test")
            await handler(batch)
            ledger.rejected = {k: r.code for k, r in batch.rejections.items()}
            ledger.emitted = [json.loads(o.value) for o in batch.outputs]
            yield ledger

    def closing_at_most(self, days: int) -> SnapshotterHarness:
        """The same book, closed by a service whose `PULSE_CLOSE_MAX_DAYS` is `days`."""
        return SnapshotterHarness(self.pool, self.database_url, close_max_days=days)

    def ingesting(self, *envelopes: dict[str, Any]) -> contextlib.AbstractAsyncContextManager[Ledger]:
        """`ingest`, its transaction open until the block ends."""
        return self._held(Topic.LOAN_EVENTS, list(envelopes), handlers.on_loan_events)

    def closing(self, day: dt.date) -> contextlib.AbstractAsyncContextManager[Ledger]:
        """`close`, its transaction open until the block ends."""
        return self._held(Topic.CONTROL, [event("business_day.closed", business_date=day)], self.on_control)

    async def ingest(self, *envelopes: dict[str, Any]) -> Ledger:
        return await self._run(Topic.LOAN_EVENTS, list(envelopes), handlers.on_loan_events)

    async def close(self, day: dt.date) -> Ledger:
        return await self._run(Topic.CONTROL, [event("business_day.closed", business_date=day)], self.on_control)

    async def control(self, *envelopes: dict[str, Any]) -> Ledger:
        return await self._run(Topic.CONTROL, list(envelopes), self.on_control)

    async def restate(self) -> list[dict[str, Any]]:
        """What the restatement job does: recompute the queued officers' closed days."""
        from services.snapshotter.loans import closing

        async with self.pool.acquire() as conn, conn.transaction():
            await store.lock_days(conn)
            work = UnitOfWork(conn=conn, prefix="", source="test")
            await publish_days(work, await closing.restate_pending(conn))
            return [json.loads(o.value) for o in work.outputs]

    async def all_days(self) -> list[asyncpg.Record]:
        async with self.pool.acquire() as conn:
            return await conn.fetch("SELECT * FROM snapshotter.officer_days ORDER BY officer_id, business_date")

    async def day(self, officer_id: str, day: dt.date) -> asyncpg.Record:
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT * FROM snapshotter.officer_days WHERE officer_id = $1 AND business_date = $2", officer_id, day
            )
        assert row is not None, f"no officer day for {officer_id} on {day}"
        return row

    async def metrics(self, officer_id: str, day: dt.date) -> LoanMetrics:
        return compute(numerators(await self.day(officer_id, day)).loan_numerators())


async def harness(database_url: str) -> tuple[SnapshotterHarness, asyncpg.Pool]:
    pool = await db.create_pool(database_url, retry=False)
    await db.migrate(pool, "snapshotter", MIGRATIONS)
    return SnapshotterHarness(pool, database_url), pool


AGGREGATOR_MIGRATIONS = MIGRATIONS.parents[1] / "aggregator" / "migrations"


class AggregatorHarness:
    """The aggregator's snapshot handler driven directly on the same database."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def apply(self, envelopes: list[dict[str, Any]]) -> list[dict[str, Any]]:
        async with self.applying(envelopes) as emitted:
            pass
        return emitted

    @contextlib.asynccontextmanager
    async def applying(self, envelopes: list[dict[str, Any]]) -> AsyncIterator[list[dict[str, Any]]]:
        """`apply`, its transaction open until the block ends (another instance's batch may run meanwhile);
        the list of emitted events is filled in once the handler is done."""
        from services.aggregator import handlers as aggregator

        incoming = [
            Incoming(InboundRecord("snapshots", 0, n, None, dumps(e), (), 0), parse_event(Topic.SNAPSHOTS, dumps(e)))
            for n, e in enumerate(envelopes)
        ]
        emitted: list[dict[str, Any]] = []
        async with self.pool.acquire() as conn, conn.transaction():
            batch = Batch(conn=conn, events=incoming, prefix="", source="test")
            await aggregator.on_snapshots(batch)
            emitted += [json.loads(o.value) for o in batch.outputs]
            yield emitted

    async def summary(self, scope: str, day: dt.date) -> asyncpg.Record:
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT * FROM aggregator.loan_summaries WHERE scope = $1 AND business_date = $2", scope, day
            )
        assert row is not None, f"no summary of {scope} on {day}"
        return row


async def aggregator_harness(pool: asyncpg.Pool) -> AggregatorHarness:
    await db.migrate(pool, "aggregator", AGGREGATOR_MIGRATIONS)
    return AggregatorHarness(pool)


RETURNS_MIGRATIONS = MIGRATIONS.parents[1] / "returns" / "migrations"


class WealthPipeline:
    """Snapshotter (wealth events) → returns → aggregator, each handler run as its consumer would, on one
    database; what each stage emits is fed to the next."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def _stage(self, topic: Topic, envelopes: list[dict[str, Any]], handler: Any) -> Ledger:
        incoming = [
            Incoming(InboundRecord(str(topic), 0, n, None, dumps(e), (), 0), parse_event(topic, dumps(e)))
            for n, e in enumerate(envelopes)
        ]
        async with self.pool.acquire() as conn, conn.transaction():
            batch = Batch(conn=conn, events=incoming, prefix="", source="test")
            await handler(batch)
        return Ledger(
            rejected={k: r.code for k, r in batch.rejections.items()},
            emitted=[__import__("json").loads(o.value) for o in batch.outputs],
        )

    async def send(self, *envelopes: dict[str, Any]) -> tuple[Ledger, Ledger, Ledger]:
        from services.aggregator import handlers as aggregator
        from services.returns import handlers as returns

        snapshots = await self._stage(Topic.WEALTH_EVENTS, list(envelopes), handlers.on_wealth_events)
        computed = await self._stage(Topic.SNAPSHOTS, snapshots.emitted, returns.on_snapshots)
        aggregated = await self._stage(Topic.RETURNS, computed.emitted, aggregator.on_returns)
        return snapshots, computed, aggregated

    async def client_day(self, client_id: str, as_of: dt.date) -> asyncpg.Record:
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT * FROM aggregator.wealth_client_days WHERE client_id = $1 AND as_of = $2", client_id, as_of
            )
        assert row is not None, f"no returns for {client_id} on {as_of}"
        return row

    async def totals(self, as_of: dt.date) -> asyncpg.Record:
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow("SELECT * FROM aggregator.wealth_date_totals WHERE as_of = $1", as_of)
        assert row is not None, f"no totals on {as_of}"
        return row

    async def allocations(self, as_of: dt.date) -> dict[tuple[str, str], Any]:
        async with self.pool.acquire() as conn:
            rows = await conn.fetch("SELECT * FROM aggregator.wealth_date_allocations WHERE as_of = $1", as_of)
        return {(r["dimension"], r["name"]): r["value"] for r in rows}


async def wealth_pipeline(pool: asyncpg.Pool) -> WealthPipeline:
    await db.migrate(pool, "returns", RETURNS_MIGRATIONS)
    await db.migrate(pool, "aggregator", AGGREGATOR_MIGRATIONS)
    return WealthPipeline(pool)
