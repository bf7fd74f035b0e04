"""SQL of the alerts read model (`migrations/004_alerts.sql`): one set-based statement per event type.

Each statement is an upsert keyed by `alert_id` whose result does not depend on the order events arrive
in (within a batch, across batches, or across partitions):

- `alert.raised`: the figures of the highest revision win; a resolved alert keeps its resolution's figures
  and stays resolved; `business_date` is the smallest business date seen (the raise day: an alert's later
  revisions are about later days).
- `alert.resolved`: its revision is above every raise of the alert, so it wins unless a higher revision is
  stored (it is the alert's last event); the row becomes `resolved` for good.
- `alert.acknowledged`: the earliest acknowledgement is kept (every one is also kept, for audit, in
  `alert_acknowledgements`). One for an alert not in the read model yet is
  stored as a pending row (status NULL, revision 0) that the alert's first event completes; as every
  statement is an `INSERT … ON CONFLICT` on the primary key, concurrent writers cannot lose one.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from shared import db
from shared.events.alerts import AlertAcknowledged, AlertRaised, AlertResolved

SCHEMA = "aggregator"
TABLE = f"{SCHEMA}.alerts"

# What a raise or resolution carries besides alert_id, business_date and revision: the highest revision's win.
FIGURES = (
    "alert_type", "severity", "scope", "kind", "branch_id", "officer_id", "officer_name", "last_business_date",
    "raised_at", '"values"',
)  # fmt: skip
_INCOMING = """
    unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
           $9::date[], $10::date[], $11::timestamptz[], $12::integer[], $13::text[], $14::timestamptz[])
    AS i(alert_id, alert_type, severity, scope, kind, branch_id, officer_id, officer_name,
         business_date, last_business_date, raised_at, revision, values_json, resolved_at)
"""
_COLUMNS = (
    "alert_id, alert_type, severity, scope, kind, branch_id, officer_id, officer_name, business_date,"
    ' last_business_date, raised_at, revision, "values", status, resolved_at'
)
_SELECT = (
    "i.alert_id, i.alert_type, i.severity, i.scope, i.kind, i.branch_id, i.officer_id, i.officer_name,"
    " i.business_date, i.last_business_date, i.raised_at, i.revision, i.values_json::jsonb"
)


def values_json(values: Mapping[str, Decimal]) -> str:
    """A rule's figures as a JSON object of exact numbers (jsonb keeps a number's digits as NUMERIC)."""
    return "{" + ",".join(f"{json.dumps(k)}:{format(v, 'f')}" for k, v in sorted(values.items())) + "}"


@dataclass(frozen=True, slots=True)
class _Row:
    """One alert's state as a batch's events of one type tell it."""

    event: AlertRaised | AlertResolved
    first_day: dt.date  # the smallest business date among those events

    def params(self) -> tuple[object, ...]:
        e = self.event
        resolved_at = e.resolved_at if isinstance(e, AlertResolved) else None
        return (
            e.alert_id, e.alert_type, e.severity, e.scope, e.kind, e.branch_id, e.officer_id, e.officer_name,
            self.first_day, e.business_date, e.raised_at, e.revision, values_json(e.values), resolved_at,
        )  # fmt: skip


def _latest(events: Iterable[AlertRaised | AlertResolved]) -> list[_Row]:
    """Per alert: the highest revision, with the smallest business date; sorted by alert_id (lock order)."""
    rows: dict[str, _Row] = {}
    for e in events:
        seen = rows.get(e.alert_id)
        if seen is None:
            rows[e.alert_id] = _Row(e, e.business_date)
        else:
            latest = e if e.revision > seen.event.revision else seen.event
            rows[e.alert_id] = _Row(latest, min(seen.first_day, e.business_date))
    return [rows[k] for k in sorted(rows)]


def _arrays(rows: list[_Row]) -> list[list[object]]:
    return [list(column) for column in zip(*(r.params() for r in rows), strict=True)]


def _figure_updates(newer: str) -> str:
    return ", ".join(f"{c} = CASE WHEN {newer} THEN EXCLUDED.{c} ELSE a.{c} END" for c in FIGURES)


async def save_raised(conn: db.Connection, events: Iterable[AlertRaised]) -> None:
    rows = _latest(events)
    if not rows:
        return
    newer = "(EXCLUDED.revision > a.revision AND a.status IS DISTINCT FROM 'resolved')"
    await conn.execute(
        f"""
        INSERT INTO {TABLE} AS a ({_COLUMNS})
        SELECT {_SELECT}, 'open', NULL FROM {_INCOMING}
        ON CONFLICT (alert_id) DO UPDATE SET
            {_figure_updates(newer)},
            revision = CASE WHEN {newer} THEN EXCLUDED.revision ELSE a.revision END,
            business_date = LEAST(a.business_date, EXCLUDED.business_date),
            status = COALESCE(a.status, 'open'),
            updated_at = now()
        WHERE {newer} OR a.business_date IS NULL OR EXCLUDED.business_date < a.business_date
        """,
        *_arrays(rows),
    )


async def save_resolved(conn: db.Connection, events: Iterable[AlertResolved]) -> None:
    rows = _latest(events)
    if not rows:
        return
    newer = "(EXCLUDED.revision >= a.revision)"
    await conn.execute(
        f"""
        INSERT INTO {TABLE} AS a ({_COLUMNS})
        SELECT {_SELECT}, 'resolved', i.resolved_at FROM {_INCOMING}
        ON CONFLICT (alert_id) DO UPDATE SET
            {_figure_updates(newer)},
            revision = CASE WHEN {newer} THEN EXCLUDED.revision ELSE a.revision END,
            resolved_at = CASE WHEN {newer} THEN EXCLUDED.resolved_at ELSE a.resolved_at END,
            status = CASE WHEN {newer} THEN 'resolved' ELSE a.status END,
            business_date = LEAST(a.business_date, EXCLUDED.business_date),
            updated_at = now()
        WHERE {newer} OR a.business_date IS NULL OR EXCLUDED.business_date < a.business_date
        """,
        *_arrays(rows),
    )


async def save_acknowledged(conn: db.Connection, events: Iterable[AlertAcknowledged]) -> None:
    events = list(events)
    if events:  # every acknowledgement, for audit; the alert's row keeps the earliest
        await conn.execute(
            f"""
            INSERT INTO {SCHEMA}.alert_acknowledgements (alert_id, acknowledged_at, acknowledged_by)
            SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[])
            ON CONFLICT DO NOTHING
            """,
            [e.alert_id for e in events],
            [e.acknowledged_at for e in events],
            [e.acknowledged_by for e in events],
        )
    earliest: dict[str, AlertAcknowledged] = {}
    for e in events:
        seen = earliest.get(e.alert_id)
        if seen is None or (e.acknowledged_at, e.acknowledged_by) < (seen.acknowledged_at, seen.acknowledged_by):
            earliest[e.alert_id] = e
    if not earliest:
        return
    acks = [earliest[k] for k in sorted(earliest)]
    await conn.execute(
        f"""
        INSERT INTO {TABLE} AS a (alert_id, acknowledged, acknowledged_by, acknowledged_at)
        SELECT i.alert_id, true, i.acknowledged_by, i.acknowledged_at
        FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS i(alert_id, acknowledged_by, acknowledged_at)
        ON CONFLICT (alert_id) DO UPDATE SET
            acknowledged = true,
            acknowledged_by = EXCLUDED.acknowledged_by,
            acknowledged_at = EXCLUDED.acknowledged_at,
            updated_at = now()
        WHERE a.acknowledged_at IS NULL
            OR (EXCLUDED.acknowledged_at, EXCLUDED.acknowledged_by) < (a.acknowledged_at, a.acknowledged_by)
        """,
        [e.alert_id for e in acks],
        [e.acknowledged_by for e in acks],
        [e.acknowledged_at for e in acks],
    )
