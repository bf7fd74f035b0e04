"""Transactional outbox: output events are written in the same transaction as the state they describe,
then relayed to Kafka and deleted. A crash between the two only delays them; consumers dedupe by event_id."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import asyncpg
from aiokafka import errors as kafka_errors

from shared import db
from shared.events.envelope import dumps
from shared.kafka.deadletter import InboundRecord, dead_letter
from shared.kafka.producer import OutboundRecord, Producer
from shared.logging import get_logger
from shared.metrics import DEAD_LETTERS, OUTBOX_PENDING
from shared.topics import Topic, topic_name

RELAY_CHUNK = 2000
REFUSED = "outbound_refused"  # the dead-letter code of an outbox record the broker refused

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


# What the broker (or the client, before sending) says of a record itself, whatever the broker's state: too
# large, or corrupt. Any other fault (unreachable, not authorised, …) is left for the next flush to retry.
_REFUSALS_OF_THE_RECORD = (
    kafka_errors.MessageSizeTooLargeError,
    kafka_errors.RecordListTooLargeError,
    kafka_errors.RecordTooLargeError,
    kafka_errors.CorruptRecordException,
)


def refuses_the_record(exc: BaseException) -> bool:
    return isinstance(exc, _REFUSALS_OF_THE_RECORD)


class OutboxRelay:
    """Publishes committed outbox rows in id order. One relay per schema at a time (advisory lock), so
    per-key order is kept even with several replicas of a service.

    A record the broker refuses for what it is (too large for its topic, say) does not stall the ones after it:
    it stays in the outbox marked `refused` (with the reason), is copied to `dead-letters` (whose size limit is
    4 MiB) with the code `outbound_refused`, and the relay goes on."""

    def __init__(self, pool: asyncpg.Pool, schema: str, producer: Producer, *, prefix: str = "") -> None:
        self.pool = pool
        self.schema = schema
        self.producer = producer
        self.prefix = prefix
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
                f"SELECT id, topic, key, value, headers FROM {self.schema}.outbox WHERE refused IS NULL"
                " ORDER BY id LIMIT $1",
                RELAY_CHUNK,
            )
            OUTBOX_PENDING.labels(self.schema).set(len(rows))
            if not rows:
                return 0
            records = [
                OutboundRecord(
                    topic=r["topic"],
                    value=r["value"],
                    key=r["key"],
                    headers=tuple((k, v.encode("latin-1")) for k, v in r["headers"]),
                )
                for r in rows
            ]
            refused: set[int] = set()
            try:
                await self.producer.send_all(records)
            except Exception as exc:
                if not refuses_the_record(exc):
                    raise  # the outbox keeps them for the next flush (a broker or ACL fault is not the records')
                await self.producer.renew()
                refused = await self._send_each(conn, [r["id"] for r in rows], records)
            await conn.execute(
                f"DELETE FROM {self.schema}.outbox WHERE id = ANY($1::bigint[])",
                [r["id"] for r in rows if r["id"] not in refused],
            )
            OUTBOX_PENDING.labels(self.schema).set(0)
            return len(rows)

    async def _send_each(self, conn: db.Connection, ids: list[int], records: list[OutboundRecord]) -> set[int]:
        """Send the records one at a time (those of the failed batch that did reach the broker are sent again:
        consumers skip them by event_id); the ids of the ones refused, each marked and dead-lettered."""
        refused: set[int] = set()
        for outbox_id, record in zip(ids, records, strict=True):
            try:
                await self.producer.send_all([record])
                continue
            except Exception as exc:
                if not refuses_the_record(exc):
                    raise
                reason = f"{type(exc).__name__}: {exc}"[:1000]
                await self.producer.renew()
            refused.add(outbox_id)
            await conn.execute(f"UPDATE {self.schema}.outbox SET refused = $2 WHERE id = $1", outbox_id, reason)
            group = f"outbox:{self.schema}"
            DEAD_LETTERS.labels(self.producer.service, group, REFUSED).inc()
            log.error("the broker refused an outbound record; it stays in the outbox, marked refused",
                      outbox_id=outbox_id, topic=record.topic, bytes=len(record.value), reason=reason)  # fmt: skip
            unsent = InboundRecord(record.topic, -1, -1, record.key, record.value, tuple(record.headers), 0)
            letter = dead_letter(
                unsent, code=REFUSED, message=reason, group=group,
                dead_letter_topic=topic_name(Topic.DEAD_LETTERS, self.prefix),
            )  # fmt: skip
            try:
                await self.producer.send_all([letter])
            except Exception as exc:
                if not refuses_the_record(exc):
                    raise
                log.error("the refused record is too large for dead-letters as well; only the outbox keeps it",
                          outbox_id=outbox_id, error=repr(exc)[:300])  # fmt: skip
        return refused
