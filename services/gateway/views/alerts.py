"""The alerts read model: `aggregator.alerts`, one row per alert (`services/aggregator/migrations/004_alerts.sql`).

Rows with a NULL status are acknowledgements waiting for their alert: never read here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from services.gateway.views import Connection, Record
from shared.auth import LoansScope

if TYPE_CHECKING:
    from services.gateway.access import RowFilter

TABLE = "aggregator.alerts"

COLUMNS = (
    "alert_id, alert_type, severity, scope, kind, branch_id, officer_id, officer_name, business_date, status,"
    ' raised_at, resolved_at, acknowledged, "values"::text AS values_json'
)


@dataclass(frozen=True, slots=True)
class AlertQuery:
    """The filters of `GET /v1/alerts` (None: any; `status` is `open`, `resolved` or None for all)."""

    status: str | None = "open"
    severity: str | None = None
    alert_type: str | None = None
    scope: LoansScope | None = None
    unread: bool | None = None
    limit: int = 200
    offset: int = 0


async def alerts(conn: Connection, query: AlertQuery, rows: RowFilter) -> list[Record]:
    """The alerts matching `query` among `rows`, newest first (`raised_at` descending, then `alert_id`)."""
    return await conn.fetch(
        f"""
        SELECT {COLUMNS} FROM {TABLE}
        WHERE status IS NOT NULL
          AND ($1::text IS NULL OR status = $1)
          AND ($2::text IS NULL OR severity = $2)
          AND ($3::text IS NULL OR alert_type = $3)
          AND ($4::text IS NULL OR scope = $4)
          AND ($5::boolean IS NULL OR acknowledged = NOT $5)
          AND {rows.sql(6)}
        ORDER BY raised_at DESC, alert_id
        LIMIT $8 OFFSET $9
        """,
        query.status,
        query.severity,
        query.alert_type,
        None if query.scope is None else str(query.scope),
        query.unread,
        *rows.params(),
        query.limit,
        query.offset,
    )


async def alert(conn: Connection, alert_id: str) -> Record | None:
    """One alert (None if unknown, or only a pending acknowledgement)."""
    return await conn.fetchrow(f"SELECT {COLUMNS} FROM {TABLE} WHERE alert_id = $1 AND status IS NOT NULL", alert_id)
