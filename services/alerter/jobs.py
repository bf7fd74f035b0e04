"""Background jobs of the alerter beside the notification worker: the weekly summary."""

from __future__ import annotations

import asyncio
import datetime as dt
from zoneinfo import ZoneInfo

from services.alerter import store, weekly
from services.alerter.notify import plan, worker
from services.alerter.notify import store as deliveries
from shared.kafka.pipeline import UnitOfWork
from shared.logging import get_logger
from shared.service import Service
from shared.settings import Settings

log = get_logger(__name__)


# A run missed while the alerter was down is caught up within this window; a first start later in the week
# sends nothing until the next scheduled time.
CATCH_UP = dt.timedelta(hours=12)


def due_week(now: dt.datetime, weekday: int, at: dt.time) -> dt.date | None:
    """The week whose scheduled run is due now: passed, and not longer ago than the catch-up window."""
    this_week = now.date() - dt.timedelta(days=(now.weekday() - weekday) % 7)
    run = dt.datetime.combine(this_week, at, now.tzinfo)
    return this_week if run <= now <= run + CATCH_UP else None


async def send_weekly_summaries(service: Service) -> None:
    settings = service.settings
    if not settings.weekly_summary_enabled:
        return
    weekday, at = weekly.parse_schedule(settings.weekly_summary_cron)
    zone = ZoneInfo(settings.timezone)
    while True:
        now = dt.datetime.now(zone)
        week = due_week(now, weekday, at)
        if week is not None:
            async with service.unit_of_work() as work:
                staged = await stage_summaries(work, settings, week)
            if staged:
                log.info("weekly summaries planned", week_start=week.isoformat(), emails=staged)
        wake = weekly.next_run(now, weekday, at)
        await asyncio.sleep(max((wake - dt.datetime.now(zone)).total_seconds(), 1.0))


async def stage_summaries(work: UnitOfWork, settings: Settings, week: dt.date) -> int:
    """Plan the week's summary emails once (weekly_summaries dedupes); the worker delivers them."""
    conn = work.conn
    first = await conn.fetchval(
        f"INSERT INTO {store.SCHEMA}.weekly_summaries (week_start) VALUES ($1) ON CONFLICT DO NOTHING RETURNING 1",
        week,
    )
    if first is None:
        return 0
    emails = weekly.compose(
        week,
        await store.team_leaders_everywhere(conn),
        settings.admin_emails,
        await store.officer_scope_days(conn),
        await store.all_open_alerts(conn),
    )
    now = dt.datetime.now(dt.UTC)
    planned = [
        plan.Delivery(
            delivery_id=plan.delivery_id(f"weekly-{week.isoformat()}", "email", e.recipient),
            alert_id=f"weekly-{week.isoformat()}",
            alert_event="weekly.summary",
            channel="email",
            recipient=e.recipient,
            subject=e.subject,
            body_text=e.body_text,
            body_html=e.body_html,
            payload=None,
            deadline=now + dt.timedelta(seconds=settings.notification_give_up_seconds),
        )
        for e in emails
    ]
    await deliveries.stage(conn, planned)
    work.emit_all(worker.notification_requested_event(d, work.now) for d in planned)
    return len(planned)
