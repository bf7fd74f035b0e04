"""Subscribers of the snapshotter: inbound loan and wealth events, and the control topic."""

from __future__ import annotations

from services.snapshotter import store
from shared.events.loans import OfficerUpserted
from shared.kafka.pipeline import Batch


async def on_loan_events(batch: Batch) -> None:
    await store.append_events(batch.conn, batch.accepted, batch.prefix)
    officers = [
        (d.officer_id, d.branch_id, d.name, d.email, d.role, i.event.envelope.occurred_at)
        for i in batch.accepted
        if isinstance(d := i.event.data, OfficerUpserted)
    ]
    await store.upsert_officers(batch.conn, officers)


async def on_wealth_events(batch: Batch) -> None:
    await store.append_events(batch.conn, batch.accepted, batch.prefix)


async def on_control(batch: Batch) -> None:
    await store.append_events(batch.conn, batch.accepted, batch.prefix)
