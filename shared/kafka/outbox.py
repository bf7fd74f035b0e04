"""Transactional outbox: output events are written in the same transaction as the state they describe,
then relayed to Kafka and deleted. A crash between the two only delays them; consumers dedupe by event_id."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import asyncpg

from shared import db
from shared.events.envelope import dumps
from shared.kafka.producer import OutboundRecord, Producer
from shared.logging import get_logger
from shared.metrics import OUTBOX_PENDING
from shared.topics import Topic, topic_name

RELAY_CHUNK = 2000

log = get_logger(__name__)


def event_record(topic: Topic, key: str, envelope: dict[str, Any] | bytes, prefix: str) -> OutboundRecord:
    """The record of an envelope, as a dict or already serialized."""
    value = envelope if isinstance(envelope, bytes) else dumps(envelope)
    return OutboundRecord(topic=topic_name(topic, prefix), value=value, key=key.encode())


async def stage(conn: db.Connection, schema: str, records: Sequence[OutboundRecord]) -> None:
    """Insert records into the outbox inside the caller's transaction, in order, in one round trip."""
    if not records:
        return
    await conn.copy_records_to_table(
        "outbox",
        schema_name=schema,
        columns=["topic", "key", "value", "headers"],
        records=[(r.topic, r.key, r.value, [[k, v.decode("latin-1")] for k, v in r.headers]) for r in records],
    )


class OutboxRelay:
    """Publishes committed outbox rows in id order. One relay per schema at a time (advisory lock), so
    per-key order is kept even with several replicas of a service."""

    def __init__(self, pool: asyncpg.Pool, schema: str, producer: Producer) -> None:
        self.pool = pool
        self.schema = schema
        self.producer = producer
        self._lock = asyncio.Lock()
        self._soon: asyncio.Task[None] | None = None
        self._again = False

    def flush_soon(self) -> None:
        """Relay in the background: who committed the events goes on without waiting for the broker. Rows
        committed while a background flush runs are taken by one more round; a failure leaves them in the
        outbox for the next flush."""
        self._again = True
        if self._soon is None or self._soon.done():
            self._soon = asyncio.create_task(self._flush_while_asked(), name=f"outbox-relay:{self.schema}")

    async def _flush_while_asked(self) -> None:
        while self._again:
            self._again = False
            try:
                await self.flush()
            except Exception as exc:
                log.warning("outbox flush failed; the events stay in the outbox", error=repr(exc)[:300])

    async def flush(self) -> int:
        sent = 0
        async with self._lock:
            while True:
                n = await self._relay_chunk()
                sent += n
                if n < RELAY_CHUNK:
                    break
        return sent

    async def _relay_chunk(self) -> int:
        async with self.pool.acquire() as conn, conn.transaction():
            got = await conn.fetchval("SELECT pg_try_advisory_xact_lock(hashtext($1))", f"pulse-outbox:{self.schema}")
            if not got:
                return 0
            rows = await conn.fetch(
                f"SELECT id, topic, key, value, headers FROM {self.schema}.outbox ORDER BY id LIMIT $1",
                RELAY_CHUNK,
            )
            OUTBOX_PENDING.labels(self.schema).set(len(rows))
            if not rows:
                return 0
            await self.producer.send_all(
                OutboundRecord(
                    topic=r["topic"],
                    value=r["value"],
                    key=r["key"],
                    headers=tuple((k, v.encode("latin-1")) for k, v in r["headers"]),
                )
                for r in rows
            )
            await conn.execute(
                f"DELETE FROM {self.schema}.outbox WHERE id = ANY($1::bigint[])", [r["id"] for r in rows]
            )
            OUTBOX_PENDING.labels(self.schema).set(0)
            return len(rows)
