"""SQL of the alerter: latest figures per scope, alert lifecycle, and the directory look-ups for
recipients."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

import asyncpg

from services.alerter.lifecycle import Alert, Change
from shared import db
from shared.events.alerts import AlertType

SCHEMA = "alerter"


async def latest_days(conn: db.Connection, scopes: Iterable[str]) -> dict[str, tuple[dt.date, int]]:
    rows = await conn.fetch(
        f"SELECT scope, business_date, revision FROM {SCHEMA}.scope_days WHERE scope = ANY($1::text[])", list(scopes)
    )
    return {r["scope"]: (r["business_date"], r["revision"]) for r in rows}


async def save_scope_days(conn: db.Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Rows (scope, kind, business_date, revision, branch_id, officer_id, officer_name, metrics)."""
    if rows:
        await conn.executemany(
            f"""
            INSERT INTO {SCHEMA}.scope_days AS s
                (scope, kind, business_date, revision, branch_id, officer_id, officer_name, metrics)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            ON CONFLICT (scope) DO UPDATE SET kind = EXCLUDED.kind, business_date = EXCLUDED.business_date,
                revision = EXCLUDED.revision, branch_id = EXCLUDED.branch_id, officer_id = EXCLUDED.officer_id,
                officer_name = EXCLUDED.officer_name, metrics = EXCLUDED.metrics, updated_at = now()
            """,
            rows,
        )


def _alert(r: Any) -> Alert:
    return Alert(
        alert_id=r["alert_id"],
        alert_type=r["alert_type"],
        severity=r["severity"],
        business_date=r["business_date"],
        last_business_date=r["last_business_date"],
        revision=r["revision"],
        values={k: Decimal(v) for k, v in r["values"].items()},
        raised_at=r["raised_at"],
        resolved_at=r["resolved_at"],
    )


async def open_alerts(conn: db.Connection, scopes: Iterable[str]) -> dict[str, dict[AlertType, Alert]]:
    rows = await conn.fetch(
        f"SELECT * FROM {SCHEMA}.alerts WHERE status = 'open' AND scope = ANY($1::text[])", list(scopes)
    )
    out: dict[str, dict[AlertType, Alert]] = defaultdict(dict)
    for r in rows:
        alert = _alert(r)
        out[r["scope"]][alert.alert_type] = alert
    return out


async def save_changes(conn: db.Connection, changes: Sequence[tuple[Any, Change]]) -> None:
    """Apply lifecycle changes in order; `changes` are (aggregate, change) with the aggregate's scope fields."""
    for u, change in changes:
        a = change.alert
        values = json.dumps({k: str(v) for k, v in a.values.items()})
        if change.kind == "raised":
            await conn.execute(
                f"""
                INSERT INTO {SCHEMA}.alerts (alert_id, scope, alert_type, severity, status, kind, branch_id,
                    officer_id, officer_name, business_date, last_business_date, revision, values, raised_at)
                VALUES ($1, $2, $3, $4, 'open', $5, $6, $7, $8, $9, $10, $11, $12::text::jsonb, $13)
                ON CONFLICT (alert_id) DO NOTHING
                """,
                a.alert_id, u.scope, a.alert_type, a.severity, u.kind, u.branch_id, u.officer_id, u.officer_name,
                a.business_date, a.last_business_date, a.revision, values, a.raised_at,
            )  # fmt: skip
        else:
            await conn.execute(
                f"""
                UPDATE {SCHEMA}.alerts SET severity = $2, status = $3, last_business_date = $4, revision = $5,
                    values = $6::text::jsonb, resolved_at = $7
                WHERE alert_id = $1
                """,
                a.alert_id, a.severity, "resolved" if change.kind == "resolved" else "open", a.last_business_date,
                a.revision, values, a.resolved_at,
            )  # fmt: skip


async def officers(conn: db.Connection, officer_ids: Iterable[str]) -> dict[str, asyncpg.Record]:
    rows = await conn.fetch(f"SELECT * FROM {SCHEMA}.officers WHERE officer_id = ANY($1::text[])", list(officer_ids))
    return {r["officer_id"]: r for r in rows}


async def team_leaders(conn: db.Connection, branch_ids: Iterable[str]) -> dict[str, list[asyncpg.Record]]:
    """The team leaders of each branch (a branch without any is absent), in officer_id order."""
    rows = await conn.fetch(
        f"SELECT * FROM {SCHEMA}.officers WHERE branch_id = ANY($1::text[]) AND role = 'team_leader'"
        " ORDER BY officer_id",
        list(branch_ids),
    )
    leaders: dict[str, list[asyncpg.Record]] = {}
    for r in rows:
        leaders.setdefault(r["branch_id"], []).append(r)
    return leaders


async def team_leaders_everywhere(conn: db.Connection) -> list[asyncpg.Record]:
    return await conn.fetch(f"SELECT * FROM {SCHEMA}.officers WHERE role = 'team_leader' ORDER BY officer_id")


async def officer_scope_days(conn: db.Connection) -> list[asyncpg.Record]:
    """The latest figures of every officer scope."""
    return await conn.fetch(f"SELECT * FROM {SCHEMA}.scope_days WHERE kind = 'officer' ORDER BY scope")


async def all_open_alerts(conn: db.Connection) -> list[asyncpg.Record]:
    return await conn.fetch(f"SELECT * FROM {SCHEMA}.alerts WHERE status = 'open' ORDER BY scope, alert_type")
