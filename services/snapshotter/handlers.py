"""Subscribers of the snapshotter: inbound loan and wealth events, and the control topic."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from services.snapshotter import store as event_log
from services.snapshotter.loans import closing
from services.snapshotter.loans import store as loans
from services.snapshotter.loans.book import LoanBook
from services.snapshotter.loans.snapshots import snapshot_event
from shared.events.control import BusinessDayClosed, SnapshotRequested
from shared.events.envelope import Rejected
from shared.events.loans import (
    ClientExited,
    ClientReassigned,
    ClientRegistered,
    LoanDisbursed,
    LoanRepaymentReceived,
    LoanWrittenOff,
    OfficerUpserted,
)
from shared.kafka.pipeline import Batch, Incoming
from shared.topics import Topic


async def on_loan_events(batch: Batch) -> None:
    await loans.lock(batch.conn)
    book = await loans.load_book(
        batch.conn,
        (c for i in batch.events if (c := getattr(i.event.data, "client_id", None))),
        (lo for i in batch.events if (lo := getattr(i.event.data, "loan_id", None))),
    )
    schedules: dict[str, LoanDisbursed] = {}
    payments: dict[str, LoanRepaymentReceived] = {}
    for incoming in batch.events:
        try:
            _apply(book, incoming, schedules, payments)
        except Rejected as rejection:
            batch.reject(incoming, rejection.code, rejection.message)
    await event_log.append_events(batch.conn, batch.accepted, batch.prefix)
    moved = await event_log.upsert_officers(batch.conn, _officers(batch.accepted))
    await loans.save(batch.conn, book, schedules, payments, batch.events[-1].event.envelope.occurred_at)
    await loans.queue_restatements(batch.conn, book.dirty, await loans.last_closed(batch.conn))
    await loans.queue_officer_history(batch.conn, moved)


def _apply(
    book: LoanBook,
    incoming: Incoming,
    schedules: dict[str, LoanDisbursed],
    payments: dict[str, LoanRepaymentReceived],
) -> None:
    data = incoming.event.data
    if isinstance(data, ClientRegistered):
        book.register(data)
    elif isinstance(data, ClientReassigned):
        book.reassign(data)
    elif isinstance(data, ClientExited):
        book.exit(data)
    elif isinstance(data, LoanDisbursed):
        book.disburse(data)
        schedules[data.loan_id] = data
    elif isinstance(data, LoanRepaymentReceived):
        book.repay(data)
        payments[data.payment_id] = data
    elif isinstance(data, LoanWrittenOff):
        book.write_off(data)


def _officers(accepted: Any) -> list[tuple[str, str, str, str, str, object]]:
    return [
        (d.officer_id, d.branch_id, d.name, d.email, d.role, i.event.envelope.occurred_at)
        for i in accepted
        if isinstance(d := i.event.data, OfficerUpserted)
    ]


async def on_wealth_events(batch: Batch) -> None:
    await event_log.append_events(batch.conn, batch.accepted, batch.prefix)


async def on_control(batch: Batch) -> None:
    await event_log.append_events(batch.conn, batch.accepted, batch.prefix)
    await loans.lock(batch.conn)
    for incoming in batch.events:
        data = incoming.event.data
        if isinstance(data, BusinessDayClosed):
            publish(batch, await closing.close_through(batch.conn, data.business_date))
        elif isinstance(data, SnapshotRequested):
            publish(
                batch,
                await closing.regenerate(batch.conn, data.business_date, data.officer_id, force=data.force),
            )


def publish(batch: Batch, rows: Sequence[asyncpg.Record]) -> None:
    for row in rows:
        key, envelope = snapshot_event(row)
        batch.emit(Topic.SNAPSHOTS, key, envelope)
