"""Subscribers of the returns service: wealth snapshots in, `returns.computed` out."""

from __future__ import annotations

import datetime as dt

from services.returns.computing import recompute
from shared.events.envelope import make_envelope
from shared.events.returns import ReturnsComputed
from shared.events.snapshots import WealthSnapshotCreated
from shared.kafka.pipeline import Batch
from shared.topics import Topic


async def on_snapshots(batch: Batch) -> None:
    snapshots = [d for i in batch.accepted if isinstance(d := i.event.data, WealthSnapshotCreated)]
    if not snapshots:
        return  # loan snapshots share the topic
    now = dt.datetime.now(dt.UTC)
    for row in await recompute(batch.conn, snapshots):
        data = ReturnsComputed.model_validate({**row["results"], "revision": row["revision"]})
        event_id = f"returns:{row['client_id']}:{row['as_of'].isoformat()}:{row['revision']}"
        envelope = make_envelope(
            "returns.computed", data.model_dump(mode="json"), source="returns", occurred_at=now, event_id=event_id
        )
        batch.emit(Topic.RETURNS, row["client_id"], envelope)
