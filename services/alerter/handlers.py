"""Subscribers of the alerter: loan aggregates in (rules, lifecycle, notifications), officer directory in."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from services.alerter import lifecycle, rules, store
from services.alerter.lifecycle import Change
from services.alerter.notify import plan, worker
from services.alerter.notify import store as deliveries
from shared import directory
from shared.events.aggregates import LoanAggregateUpdated
from shared.events.alerts import AlertRaised, AlertResolved
from shared.events.envelope import loads
from shared.kafka.pipeline import Batch, Outgoing
from shared.settings import Settings


async def on_loan_events(batch: Batch) -> None:
    await directory.upsert_officers(batch.conn, store.SCHEMA, directory.officer_rows(batch.accepted))


async def on_aggregates(batch: Batch, *, settings: Settings, thresholds: rules.ThresholdConfig) -> None:
    updates = [d for i in batch.accepted if isinstance(d := i.event.data, LoanAggregateUpdated)]
    if not updates:
        return
    known = await store.latest_days(batch.conn, {u.scope for u in updates})
    open_alerts = await store.open_alerts(batch.conn, {u.scope for u in updates})
    now = batch.now
    changes: list[tuple[LoanAggregateUpdated, Change]] = []
    latest: dict[str, LoanAggregateUpdated] = {}
    for u in updates:
        seen = known.get(u.scope)
        # Rules run on a scope's latest day only: a restated older day changes no alert.
        if seen is not None and (u.business_date, u.revision) <= seen:
            continue
        known[u.scope] = (u.business_date, u.revision)
        latest[u.scope] = u
        metrics = {name: Decimal(getattr(u.metrics, name)) for name in ("health_score", "default_rate", "par_30",
                                                                         "collection_rate", "growth_rate")}  # fmt: skip
        values = {t: {name: metrics[name] for name in names} for t, names in rules.VALUES.items()}
        holds = rules.holding(metrics, thresholds.for_scope(u.scope))
        scope_alerts = open_alerts[u.scope]
        for change in lifecycle.evaluate(u.scope, u.business_date, holds, scope_alerts, values, now):
            changes.append((u, change))
            if change.kind == "resolved":
                scope_alerts.pop(change.alert.alert_type, None)
            else:
                scope_alerts[change.alert.alert_type] = change.alert
    await store.save_scope_days(
        batch.conn,
        [
            (u.scope, u.kind, u.business_date, u.revision, u.branch_id, u.officer_id, u.officer_name,
             u.metrics.model_dump(mode="json"))
            for u in latest.values()
        ],
    )  # fmt: skip
    await store.save_changes(batch.conn, changes)
    horizon = now.astimezone(ZoneInfo(settings.timezone)).date() - dt.timedelta(days=settings.notification_horizon_days)
    notified: list[tuple[LoanAggregateUpdated, Change, str, dict[str, Any]]] = []
    for u, change in changes:
        alert = alert_event(u, change)
        record = batch.emit(alert.data, alert.key, event_id=alert.event_id)
        if u.business_date >= horizon:  # replaying history notifies nobody
            envelope = loads(record.value)
            notified.append((u, change, envelope["event_type"], envelope))
    await notify(batch, settings, notified, now)


def alert_event(u: LoanAggregateUpdated, change: Change) -> Outgoing:
    a = change.alert
    common: dict[str, Any] = {
        "alert_id": a.alert_id, "alert_type": a.alert_type, "severity": a.severity, "scope": u.scope, "kind": u.kind,
        "branch_id": u.branch_id, "officer_id": u.officer_id, "officer_name": u.officer_name,
        "business_date": a.last_business_date, "revision": a.revision, "values": dict(a.values),
        "raised_at": a.raised_at,
    }  # fmt: skip
    if change.kind == "resolved":
        return Outgoing(
            AlertResolved(**common, resolved_at=a.resolved_at), u.scope, f"alert.resolved:{a.alert_id}:{a.revision}"
        )
    data = AlertRaised(**common, previous_severity=change.previous_severity)
    return Outgoing(data, u.scope, f"alert.raised:{a.alert_id}:{a.revision}")


async def notify(
    batch: Batch,
    settings: Settings,
    notified: Sequence[tuple[LoanAggregateUpdated, Change, str, dict[str, Any]]],
    now: dt.datetime,
) -> None:
    """Plan and stage the deliveries of the batch's alert changes, with the recipients read once per batch."""
    if not notified:
        return
    conn = batch.conn
    officers = await store.officers(conn, {u.officer_id for u, *_ in notified if u.officer_id})

    def branch_of(u: LoanAggregateUpdated) -> str | None:
        officer = officers.get(u.officer_id) if u.officer_id else None
        return officer["branch_id"] if officer is not None else u.branch_id

    branches = {b for u, *_ in notified if u.kind != "all" and (b := branch_of(u))}
    leaders = await store.team_leaders(conn, branches) if branches else {}
    planned: list[plan.Delivery] = []
    for u, change, event_type, envelope in notified:
        officer = officers.get(u.officer_id) if u.officer_id else None
        branch = branch_of(u)
        planned += plan.plan_deliveries(
            event_type,
            envelope,
            email=change.emails,
            officer=_person(officer) if officer is not None else None,
            team_leaders=[_person(t) for t in leaders.get(branch, [])] if branch and u.kind != "all" else [],
            admins=settings.admin_emails if u.kind == "all" else [],
            webhook_urls=[w.url for w in settings.webhooks],
            now=now,
            give_up_after=dt.timedelta(seconds=settings.notification_give_up_seconds),
        )
    await deliveries.stage(conn, planned)
    batch.emit_all(worker.notification_requested_event(d, now) for d in planned)


def _person(r: Any) -> plan.Person:
    return plan.Person(r["officer_id"], r["name"], r["email"], r["role"], r["branch_id"])
