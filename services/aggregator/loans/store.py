"""SQL of the loans read model."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import asyncpg

from shared import db
from shared.domain.loan_metrics import LoanMetrics
from shared.events.revisions import latest_revision
from shared.events.snapshots import LoanSnapshotCreated

SCHEMA = "aggregator"

OFFICER_COLUMNS = (
    "officer_id", "business_date", "revision", "officer_name", "branch_id", "has_clients",
    "total_clients", "active_clients", "total_loans", "active_loans", "total_disbursed", "total_outstanding",
    "total_collected", "par30_balance", "par60_balance", "par90_balance", "due_30d", "covered_30d",
    "new_clients_30d", "exited_clients_30d", "glp_30d_ago", "glp_sum_window", "written_off_window",
    "interest_fees_window", "window_days", "first_positive_glp_on", "cum_written_off", "cum_interest_fees",
)  # fmt: skip
# A summary row: the scope's identity, then every figure of `LoanMetrics` under its own name.
METRIC_COLUMNS = tuple(f.name for f in dataclasses.fields(LoanMetrics))
SUMMARY_VALUES = ("kind", "branch_id", "officer_id", "officer_name", *METRIC_COLUMNS)


async def lock_days(conn: db.Connection, days: Iterable[dt.date]) -> None:
    await db.lock_keys(conn, "pulse-loan-day", (day.isoformat() for day in days))


def _officer_row(s: LoanSnapshotCreated) -> tuple[Any, ...]:
    n = s.numerators
    head = (s.officer_id, s.business_date, s.revision, s.officer_name, s.branch_id, s.has_clients)
    return head + tuple(getattr(n, c) for c in OFFICER_COLUMNS[6:])


async def save_officer_days(conn: db.Connection, snapshots: Iterable[LoanSnapshotCreated]) -> list[asyncpg.Record]:
    """Keep the latest revision of each officer day. Returns (business_date, old_branch_id) of rows written."""
    latest = latest_revision(snapshots, lambda s: (s.officer_id, s.business_date))
    if not latest:
        return []
    columns = ", ".join(OFFICER_COLUMNS)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in OFFICER_COLUMNS[2:])
    await db.stage_rows(
        conn, "incoming_officer_days", f"{SCHEMA}.loan_officer_days", OFFICER_COLUMNS,
        [_officer_row(s) for s in latest.values()],
    )  # fmt: skip
    return await conn.fetch(
        f"""
        WITH before AS (
            SELECT o.officer_id, o.business_date, o.branch_id FROM {SCHEMA}.loan_officer_days o
            JOIN incoming_officer_days i USING (officer_id, business_date)
        ),
        written AS (
            INSERT INTO {SCHEMA}.loan_officer_days AS o ({columns})
            SELECT {columns} FROM incoming_officer_days
            ON CONFLICT (officer_id, business_date) DO UPDATE SET {updates}, updated_at = now()
            WHERE EXCLUDED.revision > o.revision
            RETURNING o.officer_id, o.business_date
        )
        SELECT w.business_date, b.branch_id AS old_branch_id
        FROM written w LEFT JOIN before b USING (officer_id, business_date)
        """
    )


async def officer_days_on(conn: db.Connection, days: Sequence[dt.date]) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT * FROM {SCHEMA}.loan_officer_days WHERE business_date = ANY($1::date[])", list(days)
    )


async def cumulative_at(conn: db.Connection, keys: Sequence[tuple[str, dt.date]]) -> dict[tuple[str, dt.date], Any]:
    if not keys:
        return {}
    rows = await conn.fetch(
        f"""
        SELECT o.officer_id, o.business_date, o.cum_written_off, o.cum_interest_fees
        FROM unnest($1::text[], $2::date[]) AS k(officer_id, business_date)
        JOIN {SCHEMA}.loan_officer_days o USING (officer_id, business_date)
        """,
        [k[0] for k in keys],
        [k[1] for k in keys],
    )
    return {(r["officer_id"], r["business_date"]): r for r in rows}


async def save_summaries(conn: db.Connection, rows: Sequence[tuple[Any, ...]]) -> list[asyncpg.Record]:
    """Upsert (scope, business_date, *SUMMARY_VALUES) rows; a row whose values changed gets revision + 1.
    Returns the rows written (new or changed)."""
    if not rows:
        return []
    columns = ["scope", "business_date", *SUMMARY_VALUES]
    changed = " OR ".join(f"s.{c} IS DISTINCT FROM EXCLUDED.{c}" for c in SUMMARY_VALUES)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in SUMMARY_VALUES)
    await db.stage_rows(conn, "incoming_summaries", f"{SCHEMA}.loan_summaries", columns, rows)
    column_list = ", ".join(columns)
    return await conn.fetch(
        f"""
        INSERT INTO {SCHEMA}.loan_summaries AS s ({column_list}, revision)
        SELECT {column_list}, 1 FROM incoming_summaries
        ON CONFLICT (scope, business_date) DO UPDATE SET {updates}, revision = s.revision + 1, updated_at = now()
        WHERE {changed}
        RETURNING s.*
        """
    )


async def drop_empty_branches(conn: db.Connection, days: Sequence[dt.date]) -> None:
    """A branch left with no officer rows on a day (every officer moved away) has no figures that day."""
    await conn.execute(
        f"""
        DELETE FROM {SCHEMA}.loan_summaries s
        WHERE s.business_date = ANY($1::date[]) AND (
            (s.kind = 'branch' AND NOT EXISTS (
                SELECT 1 FROM {SCHEMA}.loan_officer_days o
                WHERE o.business_date = s.business_date AND o.branch_id = s.branch_id))
            OR (s.kind = 'officer' AND NOT EXISTS (
                SELECT 1 FROM {SCHEMA}.loan_officer_days o
                WHERE o.business_date = s.business_date AND o.officer_id = s.officer_id AND o.has_clients)))
        """,
        list(days),
    )


async def expect_officers(conn: db.Connection, snapshots: Iterable[LoanSnapshotCreated]) -> None:
    expected: dict[dt.date, int] = {}
    for s in snapshots:
        expected[s.business_date] = max(s.officers_on_day, expected.get(s.business_date, 0))
    if expected:
        await conn.execute(
            f"""
            INSERT INTO {SCHEMA}.loan_day_officers AS e (business_date, expected)
            SELECT * FROM unnest($1::date[], $2::integer[])
            ON CONFLICT (business_date) DO UPDATE SET expected = greatest(e.expected, EXCLUDED.expected)
            """,
            list(expected),
            list(expected.values()),
        )


async def complete_days(conn: db.Connection, days: Sequence[dt.date]) -> list[dt.date]:
    """Those of `days` whose officer rows are all here."""
    rows = await conn.fetch(
        f"""
        SELECT e.business_date FROM {SCHEMA}.loan_day_officers e
        WHERE e.business_date = ANY($1::date[])
          AND (SELECT count(*) FROM {SCHEMA}.loan_officer_days o WHERE o.business_date = e.business_date) >= e.expected
        ORDER BY 1
        """,
        list(days),
    )
    return [r["business_date"] for r in rows]
