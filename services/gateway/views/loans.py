"""The loans read model: `aggregator.loan_summaries`, one row per scope (`all`, `branch:<id>`,
`officer:<id>`) and business day, figures unrounded (`services/aggregator/migrations/001_loans.sql`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import fields
from typing import TYPE_CHECKING

from services.gateway.views import Connection, Record
from shared.domain.loan_metrics import LoanMetrics

if TYPE_CHECKING:
    from services.gateway.access import RowFilter

TABLE = "aggregator.loan_summaries"
ALERTS = "aggregator.alerts"

METRIC_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(LoanMetrics))
"""The figures of a portfolio (CONTRACT §2), in the contract's order: one column each."""

COLUMNS = ", ".join(
    ("scope", "business_date", "revision", "kind", "branch_id", "officer_id", "officer_name", *METRIC_FIELDS)
)


async def officer_identity(conn: Connection, officer_id: str) -> tuple[str | None, str | None]:
    """The officer's name and branch (None where unknown).

    The branch is that of their latest loans row (a branch move re-files their whole history, so this is
    the branch of their latest `officer.upserted`), else that of their latest alert: the one definition of
    "the officer's branch".
    """
    row = await conn.fetchrow(
        f"""
        SELECT latest.officer_name AS name,
               COALESCE(latest.branch_id,
                        (SELECT branch_id FROM {ALERTS}
                         WHERE status IS NOT NULL AND kind = 'officer' AND officer_id = $2
                         ORDER BY raised_at DESC, alert_id LIMIT 1)) AS branch
        FROM (SELECT NULL) AS one
        LEFT JOIN LATERAL (SELECT officer_name, branch_id FROM {TABLE} WHERE scope = $1
                           ORDER BY business_date DESC LIMIT 1) AS latest ON true
        """,
        f"officer:{officer_id}",
        officer_id,
    )
    assert row is not None  # one row always
    return row["name"], row["branch"]


async def officer_branch(conn: Connection, officer_id: str) -> str | None:
    """The officer's branch (see `officer_identity`)."""
    return (await officer_identity(conn, officer_id))[1]


async def summary(conn: Connection, scope: str, day: dt.date | None) -> Record | None:
    """The scope's row on `day` (default: its latest)."""
    if day is None:
        return await conn.fetchrow(
            f"SELECT {COLUMNS} FROM {TABLE} WHERE scope = $1 ORDER BY business_date DESC LIMIT 1", scope
        )
    return await conn.fetchrow(f"SELECT {COLUMNS} FROM {TABLE} WHERE scope = $1 AND business_date = $2", scope, day)


async def latest_officer_day(conn: Connection, officers: RowFilter) -> dt.date | None:
    """The latest day with a row of one of these officers."""
    day: dt.date | None = await conn.fetchval(
        f"SELECT max(business_date) FROM {TABLE} WHERE kind = 'officer' AND {officers.sql(1)}", *officers.params()
    )
    return day


async def officers(conn: Connection, officers: RowFilter, day: dt.date) -> list[Record]:
    """These officers' rows on `day`, worst health first (then by id)."""
    return await conn.fetch(
        f"SELECT {COLUMNS} FROM {TABLE} WHERE kind = 'officer' AND {officers.sql(1)} AND business_date = $3"
        " ORDER BY health_score ASC, officer_id ASC",
        *officers.params(),
        day,
    )


async def branches(conn: Connection, day: dt.date) -> list[Record]:
    """Every branch's row on `day`, worst health first (then by id)."""
    return await conn.fetch(
        f"SELECT {COLUMNS} FROM {TABLE} WHERE kind = 'branch' AND business_date = $1"
        " ORDER BY health_score ASC, branch_id ASC",
        day,
    )


async def history_bounds(conn: Connection, scope: str) -> tuple[dt.date, dt.date] | None:
    """The first and the latest day of the scope's rows (None without any)."""
    bounds = await conn.fetchrow(
        f"SELECT min(business_date) AS first, max(business_date) AS last FROM {TABLE} WHERE scope = $1", scope
    )
    if bounds is None or bounds["first"] is None:
        return None
    return bounds["first"], bounds["last"]


async def history(conn: Connection, scope: str, start: dt.date, end: dt.date) -> list[Record]:
    """The scope's rows in [start, end], oldest first."""
    return await conn.fetch(
        f"SELECT {COLUMNS} FROM {TABLE} WHERE scope = $1 AND business_date BETWEEN $2 AND $3 ORDER BY business_date",
        scope,
        start,
        end,
    )


async def officer_names(conn: Connection) -> list[Record]:
    """Every officer with a loans row on the latest day of officer rows: id, name and branch."""
    return await conn.fetch(
        f"SELECT officer_id, officer_name, branch_id FROM {TABLE}"
        f" WHERE kind = 'officer' AND business_date = (SELECT max(business_date) FROM {TABLE} WHERE kind = 'officer')"
        " ORDER BY officer_id"
    )
