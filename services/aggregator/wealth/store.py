"""SQL of the wealth read model: client days, and the running sums per date."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from services.aggregator.wealth.contributions import TOTAL_COLUMNS
from shared import db
from shared.events.returns import ReturnsComputed

SCHEMA = "aggregator"
CLIENT_COLUMNS = tuple(f for f in ReturnsComputed.model_fields if f != "client_id" and f != "as_of")


async def lock_dates(conn: db.Connection, dates: Sequence[dt.date]) -> None:
    """Running sums are read-modify-write: one writer per date (several partitions' batches may meet)."""
    await db.lock_keys(conn, "pulse-wealth-date", (day.isoformat() for day in dates))


async def client_days(conn: db.Connection, keys: Sequence[tuple[str, dt.date]]) -> dict[tuple[str, dt.date], Any]:
    rows = await conn.fetch(
        f"""
        SELECT d.* FROM unnest($1::text[], $2::date[]) AS k(client_id, as_of)
        JOIN {SCHEMA}.wealth_client_days d USING (client_id, as_of)
        """,
        [k[0] for k in keys],
        [k[1] for k in keys],
    )
    return {(r["client_id"], r["as_of"]): r for r in rows}


async def save_client_days(conn: db.Connection, rows: Sequence[ReturnsComputed]) -> None:
    if not rows:
        return
    columns = ["client_id", "as_of", *CLIENT_COLUMNS]
    listed = ", ".join(columns)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in CLIENT_COLUMNS)
    # One COPY and one statement for the batch (row by row, this was a tenth of the aggregator's time).
    await db.stage_rows(
        conn, "incoming_client_days", f"{SCHEMA}.wealth_client_days", columns,
        [(r.client_id, r.as_of, *(_column(r, c) for c in CLIENT_COLUMNS)) for r in rows],
    )  # fmt: skip
    await conn.execute(
        f"INSERT INTO {SCHEMA}.wealth_client_days ({listed}) SELECT {listed} FROM incoming_client_days"
        " ORDER BY client_id, as_of"
        f" ON CONFLICT (client_id, as_of) DO UPDATE SET {updates}, updated_at = now()"
    )


def _column(r: ReturnsComputed, column: str) -> Any:
    value = getattr(r, column)
    if isinstance(value, tuple):  # allocations: jsonb lists
        return [item.model_dump(mode="json") for item in value]
    return value


async def add_to_totals(conn: db.Connection, deltas: Mapping[dt.date, Mapping[str, Any]]) -> None:
    if not deltas:
        return
    columns = ", ".join(TOTAL_COLUMNS)
    placeholders = ", ".join(f"${n}" for n in range(2, len(TOTAL_COLUMNS) + 2))
    increments = ", ".join(f"{c} = t.{c} + EXCLUDED.{c}" for c in TOTAL_COLUMNS)
    await conn.executemany(
        f"INSERT INTO {SCHEMA}.wealth_date_totals AS t (as_of, {columns}) VALUES ($1, {placeholders})"
        f" ON CONFLICT (as_of) DO UPDATE SET {increments}, revision = t.revision + 1, updated_at = now()",
        [(day, *(d[c] for c in TOTAL_COLUMNS)) for day, d in sorted(deltas.items())],
    )
    # A date whose last client went away has no figures.
    await conn.execute(
        f"DELETE FROM {SCHEMA}.wealth_date_totals WHERE as_of = ANY($1::date[]) AND client_count = 0", list(deltas)
    )


async def add_to_allocations(conn: db.Connection, deltas: Mapping[tuple[dt.date, str, str], Decimal]) -> None:
    if not deltas:
        return
    keys = sorted(deltas)
    await conn.execute(
        f"""
        INSERT INTO {SCHEMA}.wealth_date_allocations AS a (as_of, dimension, name, value)
        SELECT * FROM unnest($1::date[], $2::text[], $3::text[], $4::numeric[])
        ON CONFLICT (as_of, dimension, name) DO UPDATE SET value = a.value + EXCLUDED.value
        """,
        [k[0] for k in keys],
        [k[1] for k in keys],
        [k[2] for k in keys],
        [deltas[k] for k in keys],
    )
    # A name no client holds any more that day is dropped (a position worth exactly 0 adds nothing).
    await conn.execute(
        f"DELETE FROM {SCHEMA}.wealth_date_allocations WHERE as_of = ANY($1::date[]) AND value = 0",
        sorted({k[0] for k in keys}),
    )
