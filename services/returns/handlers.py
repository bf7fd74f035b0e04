"""Subscribers of the returns service: wealth snapshots in, `returns.computed` out (issue 4)."""

from __future__ import annotations

from shared.kafka.pipeline import Batch
from shared.logging import get_logger

log = get_logger(__name__)


async def on_snapshots(batch: Batch) -> None:
    # Only validated, first-seen events reach here; the returns maths arrives with the wealth issue.
    for incoming in batch.accepted:
        log.debug("snapshot received", event_id=incoming.event_id, event_type=incoming.event_type)
