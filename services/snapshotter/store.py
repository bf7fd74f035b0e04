"""SQL of the snapshotter's schema."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from shared import db
from shared.kafka.pipeline import Incoming
from shared.topics import key_for, unprefixed

SCHEMA = "snapshotter"


async def append_events(conn: db.Connection, events: Iterable[Incoming], prefix: str) -> None:
    rows = []
    for incoming in events:
        envelope = incoming.event.envelope
        topic = unprefixed(incoming.record.topic, prefix)
        data = incoming.event.data.model_dump(mode="json")
        key = key_for(topic, envelope.event_type, data) if topic is not None else None
        rows.append((envelope.event_id, str(topic), envelope.event_type, key, envelope.occurred_at, data))
    if rows:
        await conn.copy_records_to_table(
            "event_log",
            schema_name=SCHEMA,
            columns=["event_id", "topic", "event_type", "entity_key", "occurred_at", "data"],
            records=rows,
        )


async def upsert_officers(
    conn: db.Connection, officers: Sequence[tuple[str, str, str, str, str, object]]
) -> None:
    """Rows (officer_id, branch_id, name, email, role, occurred_at); the latest occurred_at wins."""
    if not officers:
        return
    await conn.executemany(
        f"""
        INSERT INTO {SCHEMA}.officers (officer_id, branch_id, name, email, role, occurred_at)
        VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (officer_id) DO UPDATE SET
            branch_id = EXCLUDED.branch_id, name = EXCLUDED.name, email = EXCLUDED.email,
            role = EXCLUDED.role, occurred_at = EXCLUDED.occurred_at
        WHERE {SCHEMA}.officers.occurred_at <= EXCLUDED.occurred_at
        """,
        officers,
    )
