"""Subscribers of the aggregator: snapshots, returns and alerts in; read models, `aggregate.updated` out."""

from __future__ import annotations

import datetime as dt

from services.aggregator.loans import rebuild, store
from shared.events.aggregates import LoanAggregateUpdated
from shared.events.envelope import make_envelope
from shared.events.snapshots import LoanSnapshotCreated, LoanSnapshotMetrics
from shared.kafka.pipeline import Batch
from shared.logging import get_logger
from shared.topics import Topic

log = get_logger(__name__)


async def on_snapshots(batch: Batch) -> None:
    loan_snapshots = [d for i in batch.accepted if isinstance(d := i.event.data, LoanSnapshotCreated)]
    written = await store.save_officer_days(batch.conn, loan_snapshots)
    days = sorted({r["business_date"] for r in written})
    for row in await rebuild.rebuild_days(batch.conn, days):
        data = LoanAggregateUpdated(
            scope=row["scope"],
            kind=row["kind"],
            business_date=row["business_date"],
            revision=row["revision"],
            branch_id=row["branch_id"],
            officer_id=row["officer_id"],
            officer_name=row["officer_name"],
            metrics=LoanSnapshotMetrics(**{f: row[f] for f in LoanSnapshotMetrics.model_fields}),
        )
        event_id = f"loan-aggregate:{row['scope']}:{row['business_date'].isoformat()}:{row['revision']}"
        batch.emit(
            Topic.AGGREGATES,
            row["scope"],
            make_envelope(
                "aggregate.updated", data.model_dump(mode="json"), source="aggregator",
                occurred_at=dt.datetime.now(dt.UTC), event_id=event_id,
            ),
        )  # fmt: skip


async def on_returns(batch: Batch) -> None:
    for incoming in batch.accepted:
        log.debug("returns received", event_id=incoming.event_id, event_type=incoming.event_type)


async def on_alerts(batch: Batch) -> None:
    for incoming in batch.accepted:
        log.debug("alert received", event_id=incoming.event_id, event_type=incoming.event_type)
