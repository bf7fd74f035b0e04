"""SQL of the wealth side of the snapshotter: valuations in force, cash flows, and which snapshots to
(re)publish when one of them changes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import asyncpg

from services.snapshotter.wealth.valuation import Summary
from shared import db
from shared.events.wealth import CashFlowRecorded, ClientOnboarded

SCHEMA = "snapshotter"
EXTERNAL = ("contribution", "withdrawal")
Key = tuple[str, dt.date]


async def lock_clients(conn: db.Connection, client_ids: Iterable[str]) -> None:
    """One writer per client: each instance writes its partitions' clients, and a flow moved from a client
    of another partition (`save_flows`) changes that client's snapshots too."""
    await db.lock_keys(conn, "pulse-wealth-client", client_ids)


async def save_clients(conn: db.Connection, clients: Iterable[tuple[ClientOnboarded, dt.datetime]]) -> None:
    rows = [(c.client_id, c.name, c.base_currency, at) for c, at in clients]
    if rows:
        await conn.executemany(
            f"INSERT INTO {SCHEMA}.wealth_clients AS w (client_id, name, base_currency, occurred_at)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT (client_id) DO UPDATE SET name = EXCLUDED.name,"
            " base_currency = EXCLUDED.base_currency, occurred_at = EXCLUDED.occurred_at"
            " WHERE w.occurred_at <= EXCLUDED.occurred_at",
            rows,
        )


async def save_valuations(
    conn: db.Connection, valuations: Sequence[tuple[str, dt.date, dt.datetime, Summary]]
) -> list[asyncpg.Record]:
    """Keep each (client, date)'s latest valuation by occurred_at; an older one arriving late changes
    nothing. Returns the rows written, with `inserted` true for a date the client had no valuation on."""
    if not valuations:
        return []
    return await conn.fetch(
        f"""
        INSERT INTO {SCHEMA}.valuations AS v (client_id, as_of, occurred_at, total_value, estimated_annual_income,
                                              asset_allocation, custodian_allocation, bond_maturity)
        SELECT c, d, t, v, i, a::jsonb, cu::jsonb, b::jsonb
        FROM unnest($1::text[], $2::date[], $3::timestamptz[], $4::numeric[], $5::numeric[],
                    $6::text[], $7::text[], $8::text[]) AS u(c, d, t, v, i, a, cu, b)
        ON CONFLICT (client_id, as_of) DO UPDATE SET
            occurred_at = EXCLUDED.occurred_at, total_value = EXCLUDED.total_value,
            estimated_annual_income = EXCLUDED.estimated_annual_income,
            asset_allocation = EXCLUDED.asset_allocation, custodian_allocation = EXCLUDED.custodian_allocation,
            bond_maturity = EXCLUDED.bond_maturity
        WHERE v.occurred_at <= EXCLUDED.occurred_at
        RETURNING v.client_id, v.as_of, (xmax = 0) AS inserted
        """,
        [v[0] for v in valuations],
        [v[1] for v in valuations],
        [v[2] for v in valuations],
        [v[3].total_value for v in valuations],
        [v[3].estimated_annual_income for v in valuations],
        # JSON as text: asyncpg would read a list inside a jsonb[] parameter as another array dimension.
        [db.json_text(v[3].asset_allocation) for v in valuations],
        [db.json_text(v[3].custodian_allocation) for v in valuations],
        [db.json_text(v[3].bond_maturity) for v in valuations],
    )


async def save_flows(conn: db.Connection, flows: Sequence[tuple[CashFlowRecorded, dt.datetime]]) -> list[Key]:
    """Write the flows (a flow_id again replaces its flow); the (client, date) of every external flow that
    appeared, moved or went, old and new, for the snapshots whose periods they change."""
    if not flows:
        return []
    ids = [f.flow_id for f, _ in flows]
    query = f"SELECT client_id, flow_date, kind FROM {SCHEMA}.cash_flows WHERE flow_id = ANY($1::text[])"
    locked = {f.client_id for f, _ in flows}
    before = await conn.fetch(query, ids)
    # Rare: flows leaving clients of other partitions. Lock those too and read again (out of order: two such
    # batches may deadlock, which PostgreSQL breaks, and the batch is retried).
    while others := {r["client_id"] for r in before} - locked:
        await lock_clients(conn, others)
        locked |= others
        before = await conn.fetch(query, ids)
    await conn.executemany(
        f"INSERT INTO {SCHEMA}.cash_flows AS c (flow_id, client_id, flow_date, amount, kind, occurred_at)"
        " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (flow_id) DO UPDATE SET client_id = EXCLUDED.client_id,"
        " flow_date = EXCLUDED.flow_date, amount = EXCLUDED.amount, kind = EXCLUDED.kind,"
        " occurred_at = EXCLUDED.occurred_at",
        [(f.flow_id, f.client_id, f.flow_date, f.amount, f.kind, at) for f, at in flows],
    )
    marks = [(r["client_id"], r["flow_date"]) for r in before if r["kind"] in EXTERNAL]
    marks += [(f.client_id, f.flow_date) for f, _ in flows if f.kind in EXTERNAL]
    return marks


async def snapshots_containing(conn: db.Connection, marks: Sequence[Key]) -> list[Key]:
    """The snapshot whose period contains each (client, flow date): the client's first valuation on or after it."""
    if not marks:
        return []
    rows = await conn.fetch(
        f"""
        SELECT DISTINCT v.client_id, v.as_of
        FROM unnest($1::text[], $2::date[]) AS m(client_id, flow_date)
        CROSS JOIN LATERAL (
            SELECT client_id, as_of FROM {SCHEMA}.valuations
            WHERE client_id = m.client_id AND as_of >= m.flow_date ORDER BY as_of LIMIT 1
        ) v
        """,
        [m[0] for m in marks],
        [m[1] for m in marks],
    )
    return [(r["client_id"], r["as_of"]) for r in rows]


async def next_snapshots(conn: db.Connection, points: Sequence[Key]) -> list[Key]:
    """The valuation after each (client, date): a new valuation between two others starts its successor's period."""
    if not points:
        return []
    rows = await conn.fetch(
        f"""
        SELECT DISTINCT v.client_id, v.as_of
        FROM unnest($1::text[], $2::date[]) AS p(client_id, as_of)
        CROSS JOIN LATERAL (
            SELECT client_id, as_of FROM {SCHEMA}.valuations
            WHERE client_id = p.client_id AND as_of > p.as_of ORDER BY as_of LIMIT 1
        ) v
        """,
        [p[0] for p in points],
        [p[1] for p in points],
    )
    return [(r["client_id"], r["as_of"]) for r in rows]


async def publish(conn: db.Connection, points: Iterable[Key]) -> list[asyncpg.Record]:
    """Bump the revision of each snapshot to (re)publish and return it with its previous snapshot date and
    its period's external flows."""
    unique = sorted(set(points))
    if not unique:
        return []
    return await conn.fetch(
        f"""
        WITH bumped AS (
            UPDATE {SCHEMA}.valuations v SET revision = v.revision + 1
            FROM unnest($1::text[], $2::date[]) AS p(client_id, as_of)
            WHERE v.client_id = p.client_id AND v.as_of = p.as_of
            RETURNING v.*
        )
        SELECT b.*, prev.as_of AS previous_as_of,
               coalesce(flows.items, '[]'::jsonb) AS external_flows,
               coalesce(flows.total, 0) AS net_external_flows
        FROM bumped b
        LEFT JOIN LATERAL (
            SELECT as_of FROM {SCHEMA}.valuations
            WHERE client_id = b.client_id AND as_of < b.as_of ORDER BY as_of DESC LIMIT 1
        ) prev ON true
        LEFT JOIN LATERAL (
            SELECT jsonb_agg(jsonb_build_object('flow_id', f.flow_id, 'flow_date', f.flow_date,
                                                'amount', f.amount::text) ORDER BY f.flow_date, f.flow_id) AS items,
                   sum(f.amount) AS total
            FROM {SCHEMA}.cash_flows f
            WHERE f.client_id = b.client_id AND f.kind IN ('contribution', 'withdrawal')
              AND f.flow_date > prev.as_of AND f.flow_date <= b.as_of
        ) flows ON true
        ORDER BY b.client_id, b.as_of
        """,
        [p[0] for p in unique],
        [p[1] for p in unique],
    )
