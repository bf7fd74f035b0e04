"""SQL of the snapshotter's schema."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

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


async def upsert_officers(conn: db.Connection, officers: Sequence[tuple[str, str, str, str, str, object]]) -> list[str]:
    """Rows (officer_id, branch_id, name, email, role, occurred_at); the latest occurred_at wins. Returns the
    officers whose branch or name changed: their whole history is re-filed."""
    if not officers:
        return []
    latest: dict[str, tuple[str, str, str, str, str, object]] = {}
    for row in officers:
        if row[0] not in latest or row[5] >= latest[row[0]][5]:  # type: ignore[operator]
            latest[row[0]] = row
    rows = await conn.fetch(
        f"""
        WITH incoming AS (
            SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[])
                AS i(officer_id, branch_id, name, email, role, occurred_at)
        ),
        before AS (
            SELECT o.officer_id, o.branch_id, o.name FROM {SCHEMA}.officers o JOIN incoming USING (officer_id)
        ),
        written AS (
            INSERT INTO {SCHEMA}.officers AS o (officer_id, branch_id, name, email, role, occurred_at)
            SELECT * FROM incoming
            ON CONFLICT (officer_id) DO UPDATE SET
                branch_id = EXCLUDED.branch_id, name = EXCLUDED.name, email = EXCLUDED.email,
                role = EXCLUDED.role, occurred_at = EXCLUDED.occurred_at
            WHERE o.occurred_at <= EXCLUDED.occurred_at
            RETURNING o.officer_id, o.branch_id, o.name
        )
        SELECT w.officer_id FROM written w LEFT JOIN before b USING (officer_id)
        WHERE b.officer_id IS NULL OR (b.branch_id, b.name) IS DISTINCT FROM (w.branch_id, w.name)
        """,
        *[list(col) for col in zip(*latest.values(), strict=True)],
    )
    return [r["officer_id"] for r in rows]
