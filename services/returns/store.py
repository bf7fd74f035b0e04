"""SQL of the returns service: points in, cumulative states and published results out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import asyncpg

from services.returns.maths import State
from shared import db
from shared.events.snapshots import WealthSnapshotCreated

SCHEMA = "returns"
Range = tuple[str, dt.date, dt.date]  # client, first day, last day


async def lock_clients(conn: db.Connection, clients: Sequence[str]) -> None:
    """One writer per client at a time (several partitions' consumers may touch the same client)."""
    await db.lock_keys(conn, "pulse-returns", clients)


async def save_points(conn: db.Connection, snapshots: Sequence[WealthSnapshotCreated]) -> list[asyncpg.Record]:
    """Store snapshots newer than the stored revision; returns (client_id, as_of) of those written."""
    if not snapshots:
        return []
    return await conn.fetch(
        f"""
        INSERT INTO {SCHEMA}.points AS p (client_id, as_of, snapshot_revision, value, external_flows,
                                          estimated_annual_income, asset_allocation, custodian_allocation,
                                          bond_maturity)
        SELECT c, d, r, v, f::jsonb, i, a::jsonb, cu::jsonb, b::jsonb
        FROM unnest($1::text[], $2::date[], $3::integer[], $4::numeric[], $5::text[], $6::numeric[],
                    $7::text[], $8::text[], $9::text[]) AS u(c, d, r, v, f, i, a, cu, b)
        ON CONFLICT (client_id, as_of) DO UPDATE SET
            snapshot_revision = EXCLUDED.snapshot_revision, value = EXCLUDED.value,
            external_flows = EXCLUDED.external_flows, estimated_annual_income = EXCLUDED.estimated_annual_income,
            asset_allocation = EXCLUDED.asset_allocation, custodian_allocation = EXCLUDED.custodian_allocation,
            bond_maturity = EXCLUDED.bond_maturity
        WHERE EXCLUDED.snapshot_revision > p.snapshot_revision
        RETURNING p.client_id, p.as_of
        """,
        [s.client_id for s in snapshots],
        [s.as_of for s in snapshots],
        [s.revision for s in snapshots],
        [s.total_value for s in snapshots],
        # JSON as text: asyncpg would read a list inside a jsonb[] parameter as another array dimension.
        [_json(s.external_flows) for s in snapshots],
        [s.estimated_annual_income for s in snapshots],
        [_json(s.asset_allocation) for s in snapshots],
        [_json(s.custodian_allocation) for s in snapshots],
        [_json(s.bond_maturity) for s in snapshots],
    )


async def points_from(conn: db.Connection, starts: dict[str, dt.date]) -> list[asyncpg.Record]:
    """Each client's points on and after its start date, in date order."""
    return await conn.fetch(
        f"""
        SELECT p.* FROM unnest($1::text[], $2::date[]) AS s(client_id, start)
        JOIN {SCHEMA}.points p ON p.client_id = s.client_id AND p.as_of >= s.start
        ORDER BY p.client_id, p.as_of
        """,
        list(starts),
        list(starts.values()),
    )


async def last_in_ranges(conn: db.Connection, ranges: Sequence[Range]) -> dict[Range, asyncpg.Record]:
    """The last point of each client within each [first, last] day range (only computed points)."""
    if not ranges:
        return {}
    rows = await conn.fetch(
        f"""
        SELECT r.client_id, r.lo, r.hi, p.*
        FROM unnest($1::text[], $2::date[], $3::date[]) AS r(client_id, lo, hi)
        CROSS JOIN LATERAL (
            SELECT as_of, value, factor, nulls, wipeouts, cum_flows, cum_flow_days FROM {SCHEMA}.points
            WHERE client_id = r.client_id AND as_of BETWEEN r.lo AND r.hi ORDER BY as_of DESC LIMIT 1
        ) p
        """,
        [r[0] for r in ranges],
        [r[1] for r in ranges],
        [r[2] for r in ranges],
    )
    return {(r["client_id"], r["lo"], r["hi"]): r for r in rows}


async def first_points(conn: db.Connection, clients: Sequence[str]) -> dict[str, asyncpg.Record]:
    rows = await conn.fetch(
        f"""
        SELECT DISTINCT ON (client_id) client_id, as_of, value, factor, nulls, wipeouts, cum_flows, cum_flow_days
        FROM {SCHEMA}.points WHERE client_id = ANY($1::text[]) ORDER BY client_id, as_of
        """,
        list(clients),
    )
    return {r["client_id"]: r for r in rows}


def _json(items: Sequence[Any]) -> str:
    return db.json_text([item.model_dump(mode="json") for item in items])


def state_of(row: Any) -> State:
    return State(
        as_of=row["as_of"],
        value=row["value"],
        factor=row["factor"],
        nulls=row["nulls"],
        wipeouts=row["wipeouts"],
        flows=row["cum_flows"],
        flow_days=row["cum_flow_days"],
    )


async def save_results(
    conn: db.Connection, rows: Sequence[tuple[str, dt.date, State, dict[str, Any], bool]]
) -> list[asyncpg.Record]:
    """Store each point's new state and results (client, as_of, state, results, changed); the changed ones
    get revision + 1. Returns (client_id, as_of, revision, changed) of each (the results are the caller's:
    reading them back would decode the jsonb it just encoded)."""
    if not rows:
        return []
    return await conn.fetch(
        f"""
        UPDATE {SCHEMA}.points p SET
            factor = u.factor, nulls = u.nulls, wipeouts = u.wipeouts, cum_flows = u.cum_flows,
            cum_flow_days = u.cum_flow_days, results = u.results_text::jsonb,
            revision = p.revision + CASE WHEN u.changed THEN 1 ELSE 0 END
        FROM unnest($1::text[], $2::date[], $3::numeric[], $4::integer[], $5::integer[], $6::numeric[],
                    $7::numeric[], $8::text[], $9::boolean[])
             AS u(client_id, as_of, factor, nulls, wipeouts, cum_flows, cum_flow_days, results_text, changed)
        WHERE p.client_id = u.client_id AND p.as_of = u.as_of
        RETURNING p.client_id, p.as_of, p.revision, u.changed
        """,
        [r[0] for r in rows],
        [r[1] for r in rows],
        [r[2].factor for r in rows],
        [r[2].nulls for r in rows],
        [r[2].wipeouts for r in rows],
        [r[2].flows for r in rows],
        [r[2].flow_days for r in rows],
        [db.json_text(r[3]) for r in rows],
        [r[4] for r in rows],
    )
