"""Subscribers of the aggregator: snapshots, returns and alerts in; read models, `aggregate.updated` out."""

from __future__ import annotations

from shared.kafka.pipeline import Batch
from shared.logging import get_logger

log = get_logger(__name__)


async def on_snapshots(batch: Batch) -> None:
    for incoming in batch.accepted:
        log.debug("snapshot received", event_id=incoming.event_id, event_type=incoming.event_type)


async def on_returns(batch: Batch) -> None:
    for incoming in batch.accepted:
        log.debug("returns received", event_id=incoming.event_id, event_type=incoming.event_type)


async def on_alerts(batch: Batch) -> None:
    for incoming in batch.accepted:
        log.debug("alert received", event_id=incoming.event_id, event_type=incoming.event_type)
