"""SQL of `alerter.deliveries`: planned in the alert change's transaction, claimed by the worker with a
lease, and closed as delivered or failed. An outcome carries the number of its attempt (`attempts`, counting
it) and is recorded only if no later attempt was claimed meanwhile: an attempt whose lease ran out (and was
claimed again) cannot overwrite a newer one."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import asyncpg

from services.alerter.notify.plan import Delivery
from shared import db

SCHEMA = "alerter"
MAX_ERROR = 2000


async def stage(conn: db.Connection, deliveries: Sequence[Delivery]) -> None:
    """Insert planned deliveries in the caller's transaction. A delivery id already there (a replay plans the
    same ids) is left alone: it is sent once."""
    if not deliveries:
        return
    await conn.executemany(
        f"""
        INSERT INTO {SCHEMA}.deliveries (delivery_id, alert_id, alert_event, channel, recipient, subject, body_text,
            body_html, payload, deadline)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
        ON CONFLICT (delivery_id) DO NOTHING
        """,
        [
            (d.delivery_id, d.alert_id, d.alert_event, d.channel, d.recipient, d.subject, d.body_text, d.body_html,
             d.payload, d.deadline)
            for d in deliveries
        ],
    )  # fmt: skip


async def due(conn: db.Connection, limit: int) -> list[asyncpg.Record]:
    """Pending deliveries whose next attempt is due, oldest first, locked (others skip them) until the
    caller's transaction ends."""
    return await conn.fetch(
        f"""
        SELECT * FROM {SCHEMA}.deliveries
        WHERE status = 'pending' AND next_attempt_at <= now()
        ORDER BY next_attempt_at, delivery_id
        LIMIT $1
        FOR UPDATE SKIP LOCKED
        """,
        limit,
    )


async def claim(conn: db.Connection, limit: int, lease: dt.timedelta) -> list[asyncpg.Record]:
    """Take up to `limit` due deliveries for one attempt each: `attempts` is bumped (the returned rows carry
    the attempt number) and `next_attempt_at` moves `lease` ahead, so no one else takes them while the attempt
    runs; if the worker dies mid-attempt they are due again when the lease ends (at-least-once)."""
    return await conn.fetch(
        f"""
        UPDATE {SCHEMA}.deliveries AS d
        SET attempts = d.attempts + 1, next_attempt_at = now() + $2::interval
        FROM (
            SELECT delivery_id FROM {SCHEMA}.deliveries
            WHERE status = 'pending' AND next_attempt_at <= now()
            ORDER BY next_attempt_at, delivery_id
            LIMIT $1
            FOR UPDATE SKIP LOCKED
        ) AS picked
        WHERE d.delivery_id = picked.delivery_id
        RETURNING d.*
        """,
        limit,
        lease,
    )


async def delivered(conn: db.Connection, delivery_id: str, attempts: int) -> bool:
    """Record attempt `attempts` as delivered; False if the delivery has moved on (closed, or claimed again)."""
    status = await conn.execute(
        f"""
        UPDATE {SCHEMA}.deliveries
        SET status = 'delivered', attempts = $2, delivered_at = now(), last_error = NULL
        WHERE delivery_id = $1 AND status = 'pending' AND attempts <= $2
        """,
        delivery_id,
        attempts,
    )
    return _updated(status)


async def retry(conn: db.Connection, delivery_id: str, attempts: int, next_attempt_at: dt.datetime, error: str) -> bool:
    """Keep the delivery pending, due again at `next_attempt_at`."""
    status = await conn.execute(
        f"""
        UPDATE {SCHEMA}.deliveries
        SET attempts = $2, next_attempt_at = $3, last_error = $4
        WHERE delivery_id = $1 AND status = 'pending' AND attempts <= $2
        """,
        delivery_id,
        attempts,
        next_attempt_at,
        error[:MAX_ERROR],
    )
    return _updated(status)


async def failed(conn: db.Connection, delivery_id: str, attempts: int, error: str) -> bool:
    """Give up: the delivery is recorded as failed."""
    status = await conn.execute(
        f"""
        UPDATE {SCHEMA}.deliveries
        SET status = 'failed', attempts = $2, failed_at = now(), last_error = $3
        WHERE delivery_id = $1 AND status = 'pending' AND attempts <= $2
        """,
        delivery_id,
        attempts,
        error[:MAX_ERROR],
    )
    return _updated(status)


async def get(conn: db.Connection, delivery_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT * FROM {SCHEMA}.deliveries WHERE delivery_id = $1", delivery_id)


def _updated(status: str) -> bool:
    return status.rsplit(" ", 1)[-1] != "0"
