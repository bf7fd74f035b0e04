"""SQL of the snapshotter's schema."""

from __future__ import annotations

from collections.abc import Iterable

from shared import db
from shared.kafka.pipeline import Incoming
from shared.topics import unprefixed

SCHEMA = "snapshotter"


async def append_events(conn: db.Connection, events: Iterable[Incoming], prefix: str) -> None:
    rows = []
    for incoming in events:
        envelope = incoming.event.envelope
        topic = unprefixed(incoming.record.topic, prefix)
        key = incoming.record.key.decode("utf-8", "replace") if incoming.record.key is not None else None
        rows.append((envelope.event_id, str(topic), envelope.event_type, key, envelope.occurred_at,
                     incoming.record.value or b""))  # fmt: skip
    if rows:
        await conn.copy_records_to_table(
            "event_log",
            schema_name=SCHEMA,
            columns=["event_id", "topic", "event_type", "entity_key", "occurred_at", "envelope"],
            records=rows,
        )
