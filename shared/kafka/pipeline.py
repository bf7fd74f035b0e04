"""How every Pulse consumer processes what it reads, one consumed batch at a time:

1. each record is parsed into an event of its topic; bad input becomes a dead letter (never dropped);
2. in ONE database transaction: the inbox records the batch's event_ids (`ON CONFLICT DO NOTHING
   RETURNING` tells which are new), the service's handler applies the new events to its state and stages
   its output events in the outbox, business-rule rejections are removed from the inbox again (so a fixed
   and replayed dead letter is processed), and the batch's dead letters are published before the commit;
3. after the commit, the outbox is relayed to Kafka and only then is the consumer offset committed.

Consecutive batches overlap (`Consumer.take`): batch N+1 is parsed while batch N's transaction is in flight
(parsing yields to it every few records), and N+1's transaction starts only once N's offsets are committed,
so state is still changed one batch at a time, in order. Python and PostgreSQL work at the same time instead
of taking turns.

A crash anywhere re-reads the batch from the last committed offset; the inbox makes that a no-op for
everything already committed. Transient faults (database or broker down) are retried with backoff, forever,
never skipped. Any other error is treated as a possibly poisoned record: the batch is re-run one event at a
time and an event that keeps failing is dead-lettered with code `processing_error`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

import asyncpg
import structlog

from shared import db, failpoints
from shared.events.bounds import EventBounds
from shared.events.envelope import Rejected, envelope_json
from shared.events.registry import Event, event_type_of, parse_event, parse_wanted, topic_of
from shared.events.types import Model
from shared.kafka import outbox
from shared.kafka.deadletter import InboundRecord, dead_letter
from shared.kafka.outbox import OutboxRelay
from shared.kafka.producer import OutboundRecord, Producer
from shared.logging import get_logger
from shared.metrics import (
    BATCH_DURATION,
    BATCH_SIZE,
    DEAD_LETTERS,
    DUPLICATES_SKIPPED,
    EVENT_AGE,
    EVENTS_PROCESSED,
    LAST_PROCESSED,
    TRANSIENT_RETRIES,
)
from shared.retry import Backoff, is_transient
from shared.topics import Topic, topic_name, unprefixed

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Incoming:
    """A parsed event and the record it came in."""

    record: InboundRecord
    event: Event

    @property
    def event_id(self) -> str:
        return self.event.envelope.event_id

    @property
    def event_type(self) -> str:
        return self.event.envelope.event_type


@dataclass(frozen=True, slots=True)
class Outgoing:
    """An event to emit, as a domain module describes it: its data, message key and event id."""

    data: Model
    key: str
    event_id: str


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(slots=True, kw_only=True)
class UnitOfWork:
    """A connection inside one transaction, and the one way to emit an event from it: `emit` stages the event
    in the service's outbox with the transaction, and it is relayed to Kafka after the commit. Handlers get
    one per consumed batch (`Batch`), background jobs from `unit_of_work`."""

    conn: db.Connection
    prefix: str
    source: str
    now: dt.datetime = field(default_factory=_utc_now)
    """The unit's clock: every event it emits occurred at this instant."""
    outputs: list[OutboundRecord] = field(default_factory=list)

    def emit(self, data: Model, key: str, *, event_id: str) -> OutboundRecord:
        """Emit `data` as the event of its type (`shared.events.registry`) on that type's topic, keyed by
        `key`; the record staged. `event_id` is a function of what the event says (a replay re-emits
        the same ids, and consumers skip them)."""
        event_type = event_type_of(data)
        envelope = envelope_json(
            event_type, data.model_dump_json().encode(), source=self.source, occurred_at=self.now, event_id=event_id
        )
        record = outbox.event_record(topic_of(event_type), key, envelope, self.prefix)
        self.outputs.append(record)
        return record

    def emit_all(self, events: Iterable[Outgoing]) -> None:
        for e in events:
            self.emit(e.data, e.key, event_id=e.event_id)


@dataclass(slots=True, kw_only=True)
class Batch(UnitOfWork):
    """What a handler gets: the new events of one consumed batch, a connection inside the batch's
    transaction, and the means to emit output events and reject events that break a business rule."""

    events: list[Incoming]
    rejections: dict[str, Rejected] = field(default_factory=dict)

    def reject(self, incoming: Incoming, code: str, message: str) -> None:
        """The handler found that `incoming` breaks a business rule; it must not have changed state for it."""
        self.rejections[incoming.event_id] = Rejected(code, message)

    @property
    def accepted(self) -> Iterator[Incoming]:
        return (i for i in self.events if i.event_id not in self.rejections)


Handler = Callable[[Batch], Awaitable[None]]


class Offsets(Protocol):
    """The consumer's side of a batch: committing its offsets, or rewinding to read it again."""

    async def commit(self, offsets: Mapping[tuple[str, int], int]) -> None:
        """Commit `(topic, partition) -> next offset to read`."""

    def rewind(self, offsets: Mapping[tuple[str, int], int]) -> None:
        """Read `(topic, partition)` again from the offset."""


def first_offsets(records: Iterable[InboundRecord]) -> dict[tuple[str, int], int]:
    firsts: dict[tuple[str, int], int] = {}
    for r in records:
        key = (r.topic, r.partition)
        firsts[key] = min(r.offset, firsts.get(key, r.offset))
    return firsts


def next_offsets(records: Iterable[InboundRecord]) -> dict[tuple[str, int], int]:
    nexts: dict[tuple[str, int], int] = {}
    for r in records:
        key = (r.topic, r.partition)
        nexts[key] = max(r.offset + 1, nexts.get(key, 0))
    return nexts


# Records parsed between two chances for the batch in flight to send its next statement.
PARSE_SLICE = 2


@contextmanager
def bound(record: InboundRecord, event: Event | None = None) -> Iterator[None]:
    """Bind the message's coordinates (and its event's identity) to every log line logged meanwhile."""
    values: dict[str, Any] = {"topic": record.topic, "partition": record.partition, "offset": record.offset}
    if event is not None:
        values["event_id"] = event.envelope.event_id
        values["event_type"] = event.envelope.event_type
    with structlog.contextvars.bound_contextvars(**values):
        yield


@dataclass
class Consumer:
    """One subscriber: a consumer group reading one topic into one service's schema."""

    service: str
    schema: str
    group: str
    topic: Topic
    handler: Handler
    pool: asyncpg.Pool
    producer: Producer
    relay: OutboxRelay
    prefix: str = ""
    retry_initial: float = 0.2
    retry_max: float = 30.0
    poison_attempts: int = 3
    wanted: frozenset[str] | None = None
    """The event types the handler uses, if not all of the topic's: the others are not validated beyond their
    envelope, nor claimed in the inbox, nor handed to the handler."""
    bounds: EventBounds | None = None
    """How far ahead of `clock` an event may be dated; beyond, it is dead-lettered."""
    clock: Callable[[], dt.datetime] = _utc_now
    _staged: bool = field(default=False, init=False, repr=False)  # the batch being processed staged outputs
    _in_flight: asyncio.Task[Sequence[InboundRecord] | None] | None = field(default=None, init=False, repr=False)

    @property
    def dead_letter_topic(self) -> str:
        return topic_name(Topic.DEAD_LETTERS, self.prefix)

    # -- taking batches, overlapped -------------------------------------------------------------------
    async def take(self, records: Sequence[InboundRecord], offsets: Offsets) -> None:
        """Take one consumed batch: parse it while the previous batch is applied, then start applying it.

        Returns once the previous batch is done, with this one in flight; its offsets are committed after its
        transaction (`after-db-commit`). A batch that cannot be processed is read again after a pause, and
        so is everything taken after it: no offset is ever committed past it."""
        if not records:
            return
        try:
            failpoints.hit("before-batch")
            parsed, dead = await self._parse_beside_in_flight(records)
        except Exception:
            failed = await self.drain()
            log.exception("batch not processed; it will be read again", group=self.group, records=len(records))
            offsets.rewind(first_offsets([*records, *(failed or ())]))
            await asyncio.sleep(self.retry_max)
            return
        failed = await self.drain()
        if failed is not None:
            # The previous batch rewound itself; this one comes after it and is read again too (per partition
            # from the earlier of the two batches' first records).
            offsets.rewind(first_offsets([*records, *failed]))
            return
        self._in_flight = asyncio.create_task(self._complete(records, parsed, dead, offsets))

    async def drain(self) -> Sequence[InboundRecord] | None:
        """Wait for the batch in flight; the records of a batch that could not be processed, else None."""
        task, self._in_flight = self._in_flight, None
        return await task if task is not None else None

    async def _complete(
        self, records: Sequence[InboundRecord], parsed: list[Incoming], dead: list[OutboundRecord], offsets: Offsets
    ) -> Sequence[InboundRecord] | None:
        try:
            await self._process(records, parsed, dead)
            failpoints.hit("after-db-commit")
        except Exception:
            # Nothing is skipped: rewind to the batch's first records and read it again after a pause (the
            # pipeline already retried what it could).
            log.exception("batch not processed; it will be read again", group=self.group, records=len(records))
            await asyncio.sleep(self.retry_max)
            offsets.rewind(first_offsets(records))
            return records
        try:
            await offsets.commit(next_offsets(records))
        except Exception as exc:
            # E.g. the partitions were reassigned meanwhile: their new owner reads the batch again, and the
            # inbox skips what this transaction committed.
            log.warning("offsets not committed; the batch will be redelivered", error=repr(exc)[:300])
        return None

    async def _process(
        self, records: Sequence[InboundRecord], parsed: list[Incoming], dead: list[OutboundRecord]
    ) -> None:
        started = time.perf_counter()
        self._staged = False
        await self._retrying(lambda: self._apply(parsed, dead), what="batch", fallback=parsed, dead=dead)
        if self._staged:  # a relay transaction per batch that emitted nothing cost ingest 5 round trips
            await self._retrying(self.relay.flush, what="outbox relay")
        BATCH_SIZE.labels(self.service, self.group).observe(len(records))
        BATCH_DURATION.labels(self.service, self.group).observe(time.perf_counter() - started)
        LAST_PROCESSED.labels(self.service, self.group).set(time.time())

    # -- parsing ---------------------------------------------------------------------------------------
    async def _parse_beside_in_flight(
        self, records: Sequence[InboundRecord]
    ) -> tuple[list[Incoming], list[OutboundRecord]]:
        if self._in_flight is None or self._in_flight.done():
            return self._parse(records)
        parsed: list[Incoming] = []
        dead: list[OutboundRecord] = []
        for start in range(0, len(records), PARSE_SLICE):
            await asyncio.sleep(0)  # the batch in flight sends its next statement
            more, rejected = self._parse(records[start : start + PARSE_SLICE])
            parsed += more
            dead += rejected
        return parsed, dead

    def _parse(self, records: Sequence[InboundRecord]) -> tuple[list[Incoming], list[OutboundRecord]]:
        parsed: list[Incoming] = []
        dead: list[OutboundRecord] = []
        now = self.clock()
        for record in records:
            logical = unprefixed(record.topic, self.prefix) or self.topic
            try:
                if self.wanted is None:
                    event: Event | None = parse_event(logical, record.value)
                else:
                    event = parse_wanted(logical, record.value, self.wanted)
                if event is None:
                    continue
                if self.bounds is not None:
                    self.bounds.check(event.data, now, event.envelope)
                parsed.append(Incoming(record, event))
            except Rejected as rejection:
                dead.append(self._dead_letter(record, rejection, None))
        return parsed, dead

    def _dead_letter(self, record: InboundRecord, rejection: Rejected, event: Event | None) -> OutboundRecord:
        DEAD_LETTERS.labels(self.service, self.group, rejection.code).inc()
        with bound(record, event):
            log.warning("dead-lettered", code=rejection.code, reason=rejection.message)
        return dead_letter(
            record,
            code=rejection.code,
            message=rejection.message,
            group=self.group,
            dead_letter_topic=self.dead_letter_topic,
        )

    # -- the transaction -------------------------------------------------------------------------------
    async def _apply(self, parsed: list[Incoming], dead: list[OutboundRecord]) -> bool:
        """One transaction for the batch; whether the handler was given any event (not all duplicates)."""
        unique: dict[str, Incoming] = {}
        for incoming in parsed:
            unique.setdefault(incoming.event_id, incoming)
        async with self.pool.acquire() as conn, conn.transaction():
            new_ids = await self._claim(conn, list(unique))
            duplicates = len(parsed) - len(new_ids)
            batch = Batch(
                conn=conn,
                events=[unique[i] for i in unique if i in new_ids],
                prefix=self.prefix,
                source=self.service,
            )
            if batch.events:
                await self.handler(batch)
            rejected_dead = [
                self._dead_letter(i.record, batch.rejections[i.event_id], i.event)
                for i in batch.events
                if i.event_id in batch.rejections
            ]
            if batch.rejections:
                await conn.execute(
                    f"DELETE FROM {self.schema}.inbox WHERE consumer = $1 AND event_id = ANY($2::text[])",
                    self.group,
                    list(batch.rejections),
                )
            await outbox.stage(conn, self.schema, batch.outputs)
            self._staged = self._staged or bool(batch.outputs)
            # Before the commit: a crash after it would otherwise lose them (the inbox skips the redelivery).
            await self.producer.send_all([*dead, *rejected_dead])
        self._observe(batch, duplicates)
        return bool(batch.events)

    async def _claim(self, conn: db.Connection, event_ids: list[str]) -> set[str]:
        if not event_ids:
            return set()
        rows = await conn.fetch(
            f"INSERT INTO {self.schema}.inbox (consumer, event_id)"
            " SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING RETURNING event_id",
            self.group,
            event_ids,
        )
        return {r["event_id"] for r in rows}

    def _observe(self, batch: Batch, duplicates: int) -> None:
        if duplicates:
            DUPLICATES_SKIPPED.labels(self.service, self.group).inc(duplicates)
        # Grouped by event type: a metric's labels() lookup per event cost more than the observation.
        ages: dict[str, list[float]] = {}
        for incoming in batch.accepted:
            ages.setdefault(incoming.event_type, []).append(incoming.event.envelope.occurred_at.timestamp())
        now = time.time()
        for event_type, occurred in ages.items():
            EVENTS_PROCESSED.labels(self.service, self.group, event_type).inc(len(occurred))
            histogram = EVENT_AGE.labels(self.service, self.group, event_type)
            for at in occurred:
                histogram.observe(max(now - at, 0.0))

    # -- retries ---------------------------------------------------------------------------------------
    async def _retrying(
        self,
        operation: Callable[[], Awaitable[Any]],
        *,
        what: str,
        fallback: list[Incoming] | None = None,
        dead: list[OutboundRecord] | None = None,
    ) -> Any:
        """`operation`'s result, once it succeeds; transient faults retried with backoff. With `fallback`, a batch
        that fails otherwise is re-run one event at a time (`_one_by_one`), and then None is returned."""
        backoff = Backoff(self.retry_initial, self.retry_max)
        while True:
            try:
                return await operation()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if is_transient(exc):
                    TRANSIENT_RETRIES.labels(self.service, self.group).inc()
                    delay = backoff.next_delay()
                    log.warning(
                        "transient fault, retrying",
                        what=what,
                        error=repr(exc)[:300],
                        retry_in=round(delay, 2),
                    )
                    await asyncio.sleep(delay)
                    continue
                if fallback is None or dead is None:
                    raise
                log.exception("batch failed; re-running it one event at a time", size=len(fallback))
                if await self._one_by_one(fallback, dead):
                    return None
                # No event of the batch could be applied on its own: the fault is not in the events (a
                # database, a deployment, a bug every event meets). Nothing is dead-lettered; the batch is
                # retried with backoff, and counted where the transient faults are, which is alerted on.
                TRANSIENT_RETRIES.labels(self.service, self.group).inc()
                delay = backoff.next_delay()
                log.error(
                    "every event of the batch fails on its own; retrying the batch",
                    what=what,
                    events=len(fallback),
                    error=repr(exc)[:300],
                    retry_in=round(delay, 2),
                )
                await asyncio.sleep(delay)

    async def _one_by_one(self, parsed: list[Incoming], dead: list[OutboundRecord]) -> bool:
        """Apply the events one at a time. An event that keeps failing is poison only when another event of its
        batch is handled: then it is dead-lettered and the others stand. When none is handled, nothing is
        dead-lettered (nor the batch's malformed messages, which the batch's retry will) and False is returned."""
        failed: list[tuple[Incoming, Exception]] = []
        handled = False
        for incoming in parsed:
            outcome = await self._apply_alone(incoming)
            if isinstance(outcome, Exception):
                failed.append((incoming, outcome))
            else:
                handled = handled or outcome  # a duplicate skipped proves nothing of the handler
        if failed and not handled:
            return False
        poison = []
        for incoming, fault in failed:
            with bound(incoming.record, incoming.event):
                log.error("event keeps failing while others of its batch are applied; dead-lettering it")
            poison.append(
                self._dead_letter(
                    incoming.record,
                    Rejected("processing_error", f"{type(fault).__name__}: {fault}"[:1000]),
                    incoming.event,
                )
            )
        await self._retrying(lambda: self.producer.send_all([*dead, *poison]), what="dead letters")
        return True

    async def _apply_alone(self, incoming: Incoming) -> bool | Exception:
        """Apply one event in its own transaction, `poison_attempts` times at most: True once the handler took
        it, False if it was a duplicate, else the last fault. Transient faults are retried without counting."""
        for attempt in range(1, self.poison_attempts + 1):
            try:
                return bool(await self._retrying(lambda: self._apply([incoming], []), what="event"))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if attempt == self.poison_attempts:
                    return exc
                await asyncio.sleep(self.retry_initial * attempt)
        raise AssertionError("unreachable: poison_attempts >= 1")


@asynccontextmanager
async def unit_of_work(
    pool: asyncpg.Pool, relay: OutboxRelay, *, schema: str, prefix: str, source: str
) -> AsyncIterator[UnitOfWork]:
    """One transaction of a background job: what it emits is staged with it, and relayed in the background
    once it has committed (`OutboxRelay.flush_soon`)."""
    async with pool.acquire() as conn, conn.transaction():
        work = UnitOfWork(conn=conn, prefix=prefix, source=source)
        yield work
        await outbox.stage(conn, schema, work.outputs)
    if work.outputs:
        relay.flush_soon()
