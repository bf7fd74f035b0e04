"""The officer directory a service keeps from `officer.upserted` (in its own schema, table `officers`):
branch, name, email and role from the latest event by occurred_at."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from shared import db
from shared.events.loans import OfficerUpserted
from shared.kafka.pipeline import Incoming

OfficerRow = tuple[str, str, str, str, str, object]  # officer_id, branch_id, name, email, role, occurred_at


def officer_rows(accepted: Iterable[Incoming]) -> list[OfficerRow]:
    return [
        (d.officer_id, d.branch_id, d.name, d.email, d.role, i.event.envelope.occurred_at)
        for i in accepted
        if isinstance(d := i.event.data, OfficerUpserted)
    ]


async def upsert_officers(conn: db.Connection, schema: str, officers: Sequence[OfficerRow]) -> list[str]:
    """The latest occurred_at wins. Returns the officers that are new or whose branch or name changed."""
    if not officers:
        return []
    latest: dict[str, OfficerRow] = {}
    for row in officers:
        if row[0] not in latest or row[5] >= latest[row[0]][5]:  # type: ignore[operator]
            latest[row[0]] = row
    rows = await conn.fetch(
        f"""
        WITH incoming AS (
            SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                                 $6::timestamptz[]) AS i(officer_id, branch_id, name, email, role, occurred_at)
        ),
        before AS (
            SELECT o.officer_id, o.branch_id, o.name FROM {schema}.officers o JOIN incoming USING (officer_id)
        ),
        written AS (
            INSERT INTO {schema}.officers AS o (officer_id, branch_id, name, email, role, occurred_at)
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
        # In key order: two batches upserting the same officers lock their rows in the same order.
        *[list(col) for col in zip(*(latest[k] for k in sorted(latest)), strict=True)],
    )
    return [r["officer_id"] for r in rows]
