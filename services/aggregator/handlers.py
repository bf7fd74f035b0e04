"""Subscribers of the aggregator: snapshots, returns and alerts in; read models, `aggregate.updated` out."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal, localcontext
from typing import Any

from services.aggregator.alerts import store as alerts
from services.aggregator.loans import rebuild, store
from services.aggregator.wealth import contributions
from services.aggregator.wealth import store as wealth
from shared.events.aggregates import LoanAggregateUpdated
from shared.events.alerts import AlertAcknowledged, AlertRaised, AlertResolved
from shared.events.returns import ReturnsComputed
from shared.events.revisions import latest_revision
from shared.events.snapshots import LoanSnapshotCreated, LoanSnapshotMetrics
from shared.kafka.pipeline import Batch
from shared.logging import get_logger

log = get_logger(__name__)


async def on_snapshots(batch: Batch) -> None:
    loan_snapshots = [d for i in batch.accepted if isinstance(d := i.event.data, LoanSnapshotCreated)]
    # A day's officers arrive on several partitions, maybe in other instances' batches at the same time: one
    # writer per day, so that the batch that completes a day sees every other batch's officers of that day.
    # (The upsert of the day's expected officer count also waits for the other batch, but only by the order
    # of the statements below; this lock does not depend on it.)
    await store.lock_days(batch.conn, {s.business_date for s in loan_snapshots})
    written = await store.save_officer_days(batch.conn, loan_snapshots)
    await store.expect_officers(batch.conn, loan_snapshots)
    days = sorted({r["business_date"] for r in written})
    # A close's officer rows arrive over several partitions and batches: an officer's own figures are
    # published at once, a branch's and the whole portfolio's once the day has all its officers.
    complete = set(await store.complete_days(batch.conn, days))
    # In day order: the alerter evaluates a scope's latest day, so an earlier day must not follow a later one.
    rows = await rebuild.rebuild_days(batch.conn, days, complete=complete)
    for row in sorted(rows, key=lambda r: (r["business_date"], r["scope"])):
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
        batch.emit(data, row["scope"], event_id=event_id)


async def on_returns(batch: Batch) -> None:
    # Σ c·r must not depend on how updates were batched: products of 28-digit decimals are kept exact.
    with localcontext() as exact:
        exact.prec = 100
        await _on_returns(batch)


async def _on_returns(batch: Batch) -> None:
    returns = [r for i in batch.accepted if isinstance(r := i.event.data, ReturnsComputed)]
    latest = latest_revision(returns, lambda r: (r.client_id, r.as_of))
    await wealth.lock_dates(batch.conn, [k[1] for k in latest])
    before = await wealth.client_days(batch.conn, list(latest))
    newer = [r for k, r in latest.items() if k not in before or r.revision > before[k]["revision"]]
    totals: dict[dt.date, dict[str, Any]] = {}
    allocations: dict[tuple[dt.date, str, str], Decimal] = defaultdict(Decimal)
    for r in newer:
        old = before.get((r.client_id, r.as_of))
        new = r.model_dump(mode="json")
        delta = contributions.difference(new, old)
        day = totals.setdefault(r.as_of, dict.fromkeys(delta, 0))
        for k, v in delta.items():
            day[k] += v
        for (dimension, name), v in contributions.allocation_difference(new, old).items():
            allocations[(r.as_of, dimension, name)] += v
    await wealth.save_client_days(batch.conn, newer)
    await wealth.add_to_totals(batch.conn, totals)
    await wealth.add_to_allocations(batch.conn, allocations)


async def on_alerts(batch: Batch) -> None:
    """The alerts read model: one set-based upsert per event type (their results do not depend on order)."""
    events = [i.event.data for i in batch.accepted]
    await alerts.save_raised(batch.conn, [e for e in events if isinstance(e, AlertRaised)])
    await alerts.save_resolved(batch.conn, [e for e in events if isinstance(e, AlertResolved)])
    await alerts.save_acknowledged(batch.conn, [e for e in events if isinstance(e, AlertAcknowledged)])
