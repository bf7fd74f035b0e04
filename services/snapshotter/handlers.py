"""Subscribers of the snapshotter: inbound loan and wealth events, and the control topic."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable

from services.snapshotter import store as event_log
from services.snapshotter.loans import closing
from services.snapshotter.loans import store as loans
from services.snapshotter.loans.book import LoanBook
from services.snapshotter.loans.snapshots import publish_days
from services.snapshotter.wealth import store as wealth
from services.snapshotter.wealth.snapshots import snapshot_event as wealth_snapshot_event
from services.snapshotter.wealth.valuation import Summary, summarize
from shared import directory
from shared.events.control import BusinessDayClosed, SnapshotRequested
from shared.events.envelope import Rejected
from shared.events.loans import (
    ClientExited,
    ClientReassigned,
    ClientRegistered,
    LoanDisbursed,
    LoanRepaymentReceived,
    LoanWrittenOff,
)
from shared.events.wealth import CashFlowRecorded, ClientOnboarded, PortfolioValued
from shared.kafka.lag import IngestBarrier
from shared.kafka.pipeline import Batch


async def on_loan_events(batch: Batch) -> None:
    await loans.share_ingest(batch.conn)
    book = await loans.load_locked_book(
        batch.conn,
        (c for i in batch.events if (c := getattr(i.event.data, "client_id", None))),
        [i.event.data for i in batch.events],
    )
    for incoming in batch.events:
        try:
            _apply(book, incoming.event.data)
        except Rejected as rejection:
            batch.reject(incoming, rejection.code, rejection.message)
    await event_log.append_events(batch.conn, batch.accepted, batch.prefix)
    moved = await directory.upsert_officers(batch.conn, loans.SCHEMA, directory.officer_rows(batch.accepted))
    await loans.save(batch.conn, book, batch.events[-1].event.envelope.occurred_at)
    await loans.queue_restatements(batch.conn, book.dirty, await loans.closing_through(batch.conn))
    await loans.mark_stale(batch.conn, book.dirty)
    await loans.queue_officer_history(batch.conn, moved)


def _apply(book: LoanBook, data: object) -> None:
    if isinstance(data, ClientRegistered):
        book.register(data)
    elif isinstance(data, ClientReassigned):
        book.reassign(data)
    elif isinstance(data, ClientExited):
        book.exit(data)
    elif isinstance(data, LoanDisbursed):
        book.disburse(data)
    elif isinstance(data, LoanRepaymentReceived):
        book.repay(data)
    elif isinstance(data, LoanWrittenOff):
        book.write_off(data)


async def on_wealth_events(batch: Batch) -> None:
    await wealth.lock_clients(batch.conn, {i.event.data.client_id for i in batch.accepted})  # type: ignore[attr-defined]
    await event_log.append_events(batch.conn, batch.accepted, batch.prefix)
    clients, flows = [], []
    valuations: dict[tuple[str, dt.date], tuple[str, dt.date, dt.datetime, Summary]] = {}
    for incoming in batch.accepted:
        data, at = incoming.event.data, incoming.event.envelope.occurred_at
        if isinstance(data, ClientOnboarded):
            clients.append((data, at))
        elif isinstance(data, CashFlowRecorded):
            flows.append((data, at))
        elif isinstance(data, PortfolioValued):
            key = (data.client_id, data.as_of)
            if key not in valuations or valuations[key][2] <= at:  # the latest by occurred_at wins
                valuations[key] = (data.client_id, data.as_of, at, summarize(data.positions))
    await wealth.save_clients(batch.conn, clients)
    written = await wealth.save_valuations(batch.conn, list(valuations.values()))
    moved = await wealth.save_flows(batch.conn, flows)
    points = [(r["client_id"], r["as_of"]) for r in written]
    points += await wealth.next_snapshots(batch.conn, [(r["client_id"], r["as_of"]) for r in written if r["inserted"]])
    points += await wealth.snapshots_containing(batch.conn, moved)
    batch.emit_all(wealth_snapshot_event(row) for row in await wealth.publish(batch.conn, points))


CLOSE_CONTINUED = "close-continued"
"""The event_id prefix of the `business_day.closed` a close emits to go on in its next transaction."""


async def on_control(
    batch: Batch,
    *,
    loan_ingest: IngestBarrier,
    mark_closing: Callable[[dt.date], Awaitable[None]],
    close_max_days: int,
) -> None:
    # A close waits until the loan events published before it are ingested (control is read apart from
    # loan-events, so a close could otherwise overtake the history it closes, e.g. on a replay), then marks
    # the days it closes, so that ingest beside it queues restatements for what it changes on them.
    closes = [i for i in batch.events if isinstance(i.event.data, BusinessDayClosed | SnapshotRequested)]
    for incoming in closes:
        await loan_ingest.wait(incoming.event_id)
    if closes:
        await mark_closing(max(i.event.data.business_date for i in closes))  # type: ignore[attr-defined]
    await event_log.append_events(batch.conn, batch.accepted, batch.prefix)
    await loans.lock_days(batch.conn)
    for incoming in batch.events:
        data = incoming.event.data
        if isinstance(data, BusinessDayClosed):
            rows = await closing.close_through(batch.conn, data.business_date, max_days=close_max_days)
        elif isinstance(data, SnapshotRequested):
            rows = await closing.regenerate(
                batch.conn, data.business_date, data.officer_id, force=data.force, max_days=close_max_days
            )
        else:
            continue
        await publish_days(batch, rows)
        closed = await loans.last_closed(batch.conn)
        if closed is not None and closed < data.business_date:
            # A close covers at most `close_max_days` days per transaction: the rest is closed by the next
            # batch, from this continuation (one id per day reached, so a redelivery continues once).
            batch.emit(
                BusinessDayClosed(business_date=data.business_date),
                data.business_date.isoformat(),
                event_id=f"{CLOSE_CONTINUED}:{data.business_date.isoformat()}:{closed.isoformat()}",
            )
