"""The wealth read model (`services/aggregator/migrations/002_wealth.sql`), figures unrounded:

- `aggregator.wealth_client_days`: each client's returns per snapshot date (percents as computed);
- `aggregator.wealth_date_totals`: running sums per date over the clients with a snapshot on it;
- `aggregator.wealth_date_allocations`: summed allocation values per date.
"""

from __future__ import annotations

import datetime as dt

from services.gateway.views import Connection, Record

CLIENT_DAYS = "aggregator.wealth_client_days"
DATE_TOTALS = "aggregator.wealth_date_totals"
DATE_ALLOCATIONS = "aggregator.wealth_date_allocations"

ALL_CLIENTS = "ALL"
"""The wealth filter meaning every client (`GET /v1/wealth/summary?client=ALL`)."""

FIGURES = ("period", "monthly", "ytd", "inception")
"""The return windows of CONTRACT §3; each has `<figure>_dollar`, `_weighted`, `_capital`, `_windows` totals."""

_CLIENT_COLUMNS = (
    "client_id, as_of, total_value, estimated_annual_income, inception_dollar_performance, inception_return_pct,"
    " period_return_dollar, period_return_percent, monthly_return_dollar, monthly_return_percent,"
    " ytd_return_dollar, ytd_return_percent, asset_allocation::text AS asset_allocation,"
    " custodian_allocation::text AS custodian_allocation, bond_maturity::text AS bond_maturity,"
    " period_start_date, month_start_date, ytd_start_date, inception_date"
)
_TOTALS_COLUMNS = "as_of, client_count, total_aum, estimated_annual_income, " + ", ".join(
    f"{figure}_{part}" for figure in FIGURES for part in ("dollar", "weighted", "capital", "windows")
)


async def client_day(conn: Connection, client: str, day: dt.date | None) -> Record | None:
    """The client's row on `day` (default: its latest)."""
    if day is None:
        return await conn.fetchrow(
            f"SELECT {_CLIENT_COLUMNS} FROM {CLIENT_DAYS} WHERE client_id = $1 ORDER BY as_of DESC LIMIT 1", client
        )
    return await conn.fetchrow(
        f"SELECT {_CLIENT_COLUMNS} FROM {CLIENT_DAYS} WHERE client_id = $1 AND as_of = $2", client, day
    )


async def date_totals(conn: Connection, day: dt.date | None) -> Record | None:
    """The running sums on `day` (default: the latest date), counting at least one client: a date whose
    snapshots were all moved away has no data."""
    if day is None:
        return await conn.fetchrow(
            f"SELECT {_TOTALS_COLUMNS} FROM {DATE_TOTALS} WHERE client_count > 0 ORDER BY as_of DESC LIMIT 1"
        )
    return await conn.fetchrow(
        f"SELECT {_TOTALS_COLUMNS} FROM {DATE_TOTALS} WHERE as_of = $1 AND client_count > 0", day
    )


async def date_allocations(conn: Connection, day: dt.date) -> list[Record]:
    """The summed allocations on `day`; running sums leave a 0 where no client holds a class any more,
    which is not an allocation."""
    return await conn.fetch(
        f"SELECT dimension, name, value FROM {DATE_ALLOCATIONS} WHERE as_of = $1 AND value <> 0", day
    )


async def client_known(conn: Connection, client: str) -> bool:
    return bool(await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM {CLIENT_DAYS} WHERE client_id = $1)", client))


async def client_history(conn: Connection, client: str, start: dt.date | None, end: dt.date | None) -> list[Record]:
    """The client's snapshots in [start, end] (open ends: its first / latest), oldest first."""
    return await conn.fetch(
        "SELECT as_of, revision, total_value, net_external_flows, period_return_dollar, period_return_percent,"
        f" inception_return_pct FROM {CLIENT_DAYS}"
        " WHERE client_id = $1 AND ($2::date IS NULL OR as_of >= $2) AND ($3::date IS NULL OR as_of <= $3)"
        " ORDER BY as_of",
        client,
        start,
        end,
    )


async def clients_on(conn: Connection, day: dt.date) -> list[str]:
    """The clients with a snapshot on `day` (those the all-clients figures of that date are over)."""
    rows = await conn.fetch(f"SELECT client_id FROM {CLIENT_DAYS} WHERE as_of = $1 ORDER BY client_id", day)
    return [row["client_id"] for row in rows]
