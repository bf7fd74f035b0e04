"""Background jobs of the snapshotter: restating days that late events changed, and the daily close."""

from __future__ import annotations

import asyncio
import datetime as dt
from zoneinfo import ZoneInfo

from services.snapshotter.loans import closing
from services.snapshotter.loans import store as loans
from services.snapshotter.loans.snapshots import publish_days
from services.snapshotter.metrics import LAST_CLOSED
from shared.events.control import BusinessDayClosed
from shared.logging import get_logger
from shared.retry import retry_transient
from shared.service import Service

log = get_logger(__name__)
RESTATE_INTERVAL_SECONDS = 1.0


async def restate_late_events(service: Service) -> None:
    """Late events only queue restatements (cheap, inside their batch); this job recomputes the queued
    officers' days in one transaction, so a burst of late events costs one pass, not one per batch."""
    while True:
        async with service.pool.acquire() as conn:
            closed = await loans.last_closed(conn)
            if closed is not None:
                LAST_CLOSED.set(dt.datetime.combine(closed, dt.time(), dt.UTC).timestamp())
            pending = await conn.fetchval(f"SELECT count(*) FROM {loans.SCHEMA}.restatements")
        if pending:
            await retry_transient(lambda: _restate(service), what="restatement", initial=0.2, maximum=5.0)
        await asyncio.sleep(RESTATE_INTERVAL_SECONDS)


async def _restate(service: Service) -> None:
    async with service.unit_of_work() as work:
        # Once cluster-wide: if a close or another instance is at it, they restate these marks (or this job
        # does in a second).
        if await loans.try_lock_days(work.conn):
            await publish_days(work, await closing.restate_pending(work.conn))


def next_close(now: dt.datetime, at: dt.time, zone: ZoneInfo) -> dt.datetime:
    local = now.astimezone(zone)
    candidate = dt.datetime.combine(local.date(), at, zone)
    return candidate if candidate > local else candidate + dt.timedelta(days=1)


async def close_days_on_schedule(service: Service) -> None:
    """At `close_time` in `timezone`, close the previous day, for upstreams that never send
    `business_day.closed`. It goes through `control` like any close, with an event_id per day, so several
    replicas or a restart publish it once in effect."""
    settings = service.settings
    if not settings.schedule_enabled:
        return
    zone = ZoneInfo(settings.timezone)
    at = dt.time.fromisoformat(settings.close_time)
    while True:
        now = dt.datetime.now(dt.UTC)
        local_now = now.astimezone(zone)
        # At start-up too: a close missed while the service was down happens now.
        if local_now.time() >= at:
            await publish_close(service, local_now.date() - dt.timedelta(days=1))
        wake = next_close(now, at, zone)
        await asyncio.sleep(max((wake - now).total_seconds(), 1.0))


async def publish_close(service: Service, day: dt.date) -> None:
    async with service.unit_of_work() as work:
        work.emit(BusinessDayClosed(business_date=day), day.isoformat(), event_id=f"scheduled-close:{day.isoformat()}")
    log.info("scheduled close staged for publication", business_date=day.isoformat())
