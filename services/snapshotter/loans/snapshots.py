"""From a stored officer day to the `loan_snapshot.created` event that publishes it."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from shared import db
from shared.domain.loan_metrics import compute
from shared.events.snapshots import LoanSnapshotCreated, LoanSnapshotMetrics, LoanSnapshotNumerators
from shared.kafka.pipeline import Outgoing, UnitOfWork

SCHEMA = "snapshotter"


def numerators(row: asyncpg.Record) -> LoanSnapshotNumerators:
    return LoanSnapshotNumerators(
        total_clients=row["total_clients"],
        active_clients=row["active_clients"],
        total_loans=row["cum_loans"],
        active_loans=row["active_loans"],
        total_disbursed=row["cum_disbursed"],
        total_outstanding=row["glp"],
        total_collected=row["cum_collected"],
        par30_balance=row["par30_balance"],
        par60_balance=row["par60_balance"],
        par90_balance=row["par90_balance"],
        due_30d=row["due_30d"],
        covered_30d=row["covered_30d"],
        new_clients_30d=row["new_clients_30d"],
        exited_clients_30d=row["exited_clients_30d"],
        glp_30d_ago=row["glp_30d_ago"],
        glp_sum_window=row["glp_sum_window"],
        written_off_window=row["written_off_window"],
        interest_fees_window=row["interest_fees_window"],
        window_days=row["window_days"],
        first_positive_glp_on=row["first_positive_glp_on"],
        cum_written_off=row["cum_written_off"],
        cum_interest_fees=row["cum_interest_fees"],
    )


def snapshot_event(row: asyncpg.Record, officers_on_day: int) -> Outgoing:
    """The `loan_snapshot.created` of one (re)stated officer day. The event_id is a function of the officer,
    day and revision, so replaying every topic into empty stores reproduces the same ids."""
    n = numerators(row)
    data = LoanSnapshotCreated(
        officer_id=row["officer_id"],
        officer_name=row["officer_name"],
        branch_id=row["branch_id"],
        business_date=row["business_date"],
        revision=row["revision"],
        has_clients=row["has_clients"],
        officers_on_day=officers_on_day,
        numerators=n,
        metrics=LoanSnapshotMetrics.of(compute(n.loan_numerators())),
        computed_at=row["computed_at"],
    )
    event_id = f"loan-snapshot:{row['officer_id']}:{row['business_date'].isoformat()}:{row['revision']}"
    return Outgoing(data, f"officer:{row['officer_id']}", event_id)


async def snapshot_events(conn: db.Connection, rows: Sequence[asyncpg.Record]) -> list[Outgoing]:
    """The events of (re)stated officer days, each with its day's officer count."""
    days = sorted({r["business_date"] for r in rows})
    counts = (
        {
            r["business_date"]: r["n"]
            for r in await conn.fetch(
                f"SELECT business_date, count(*) AS n FROM {SCHEMA}.officer_days"
                " WHERE business_date = ANY($1::date[]) GROUP BY business_date",
                days,
            )
        }
        if days
        else {}
    )
    return [snapshot_event(r, counts[r["business_date"]]) for r in rows]


async def publish_days(work: UnitOfWork, rows: Sequence[asyncpg.Record]) -> None:
    """Emit the snapshots of the (re)stated officer days `rows` from `work`."""
    work.emit_all(await snapshot_events(work.conn, rows))
