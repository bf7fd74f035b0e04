"""Closing days, restating them, regenerating them: the service layer over `ledger.refresh` and
`days.compute_days`.

Every function runs inside the caller's transaction, after `store.lock_days` (one at a time cluster-wide;
ingest goes on beside them), and returns the officer days it (re)stated, for the caller to publish.
"""

from __future__ import annotations

import datetime as dt

import asyncpg

from services.snapshotter.loans import ledger, store
from services.snapshotter.loans.book import Dirty
from services.snapshotter.loans.days import compute_days
from shared import db
from shared.logging import get_logger

log = get_logger(__name__)
ONE_DAY = dt.timedelta(days=1)


async def restate_pending(conn: db.Connection) -> list[asyncpg.Record]:
    """Recompute, from the first day each changed, the officers whose closed days late events changed.
    (A mark for a day not closed yet is dropped: the close computes that day afresh.) The ledger is brought up
    to date first: every path that computes days comes through here."""
    closed = await store.last_closed(conn)
    await ledger.refresh(conn, store.SCHEMA, closed)
    pending = await store.pending_restatements(conn)
    if closed is None or not pending:
        await store.done_restatements(conn, pending)
        return []
    since = {officer: day for officer, (day, _) in pending.items()}
    start = min(since.values())
    changed = await compute_days(conn, store.SCHEMA, start, closed, since=since) if start <= closed else []
    await store.done_restatements(conn, pending)
    log.info(
        "restated",
        officers=len(pending),
        since=start.isoformat(),
        through=closed.isoformat(),
        rows=len(changed),
    )
    return changed


async def close_through(conn: db.Connection, day: dt.date, *, max_days: int | None = None) -> list[asyncpg.Record]:
    """Close every day after the last closed one (or from the first event's date) through `day`, or the first
    `max_days` of them (the caller closes the rest in another transaction: `store.last_closed` says where
    this one stopped)."""
    changed = await restate_pending(conn)
    closed = await store.last_closed(conn)
    start = closed + ONE_DAY if closed is not None else await store.first_business_date(conn)
    if start is None or start > day:
        return changed
    if max_days is not None:
        day = min(day, start + dt.timedelta(days=max_days - 1))
    await ledger.refresh(conn, store.SCHEMA, closed, extend_to=day)
    changed.extend(await compute_days(conn, store.SCHEMA, start, day))
    await store.set_last_closed(conn, day)
    log.info("days closed", first=start.isoformat(), last=day.isoformat(), rows=len(changed))
    return changed


async def regenerate(
    conn: db.Connection, day: dt.date, officer_id: str | None, *, force: bool, max_days: int | None = None
) -> list[asyncpg.Record]:
    """`snapshot.requested`: recompute one closed day (closing through it if it is not closed yet, as
    `close_through` does)."""
    closed = await store.last_closed(conn)
    if closed is None or day > closed:
        return await close_through(conn, day, max_days=max_days)
    changed = await restate_pending(conn)
    officers = {officer_id: day} if officer_id else None
    rows = await compute_days(conn, store.SCHEMA, day, day, since=officers, force=force)
    changed.extend(rows)
    # A day that really changed changes the windows of the days after it.
    if day < closed:
        dirty = Dirty()
        for row in rows:
            dirty.officer(row["officer_id"], day + ONE_DAY)
        await store.queue_restatements(conn, dirty, closed)
        changed.extend(await restate_pending(conn))
    return changed
