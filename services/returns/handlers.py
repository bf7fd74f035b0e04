"""Subscribers of the returns service: wealth snapshots in, `returns.computed` out."""

from __future__ import annotations

from services.returns.computing import recompute
from shared.events.returns import ReturnsComputed
from shared.events.snapshots import WealthSnapshotCreated
from shared.kafka.pipeline import Batch


async def on_snapshots(batch: Batch) -> None:
    snapshots = [d for i in batch.accepted if isinstance(d := i.event.data, WealthSnapshotCreated)]
    if not snapshots:
        return  # loan snapshots share the topic
    for row in await recompute(batch.conn, snapshots):
        data = ReturnsComputed.model_validate({**row["results"], "revision": row["revision"]})
        event_id = f"returns:{row['client_id']}:{row['as_of'].isoformat()}:{row['revision']}"
        batch.emit(data, row["client_id"], event_id=event_id)
