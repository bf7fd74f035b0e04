"""Subscribers of the alerter: aggregates in (rules), loan events in (the officer directory for emails)."""

from __future__ import annotations

from shared.kafka.pipeline import Batch
from shared.logging import get_logger

log = get_logger(__name__)


async def on_aggregates(batch: Batch) -> None:
    for incoming in batch.accepted:
        log.debug("aggregate received", event_id=incoming.event_id, event_type=incoming.event_type)


async def on_alerts(batch: Batch) -> None:
    for incoming in batch.accepted:
        log.debug("alert event received", event_id=incoming.event_id, event_type=incoming.event_type)
