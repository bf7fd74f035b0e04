"""shared.kafka.pipeline with fakes of the pool, the producer, the relay and the consumer's offsets: batches are
applied one at a time and in order, offsets are committed only after a batch's transaction and never past a
batch that could not be processed, a redelivered batch changes nothing, and an event is dead-lettered as poison
only when the rest of its batch can be applied."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, cast

import pytest

from shared.events.control import BusinessDayClosed
from shared.events.envelope import dumps, make_envelope
from shared.kafka.deadletter import InboundRecord
from shared.kafka.pipeline import Batch, Consumer
from shared.kafka.producer import OutboundRecord
from shared.topics import Topic

pytestmark = pytest.mark.unit

TOPIC = "loan-events"


class FakeConnection:
    """The statements the pipeline itself sends: the inbox claim, the removal of rejections, the outbox."""

    def __init__(self, log: list[str], inbox: set[str]) -> None:
        self.log = log
        self.inbox = inbox

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        self.log.append("begin")
        claimed = set(self.inbox)
        try:
            yield
        except BaseException:
            self.inbox.clear()
            self.inbox.update(claimed)
            self.log.append("rollback")
            raise
        self.log.append("commit")

    async def fetch(self, sql: str, group: str, event_ids: list[str]) -> list[dict[str, str]]:
        assert "INSERT INTO pulse.inbox" in sql
        await asyncio.sleep(0.01)  # a round trip: the next batch is parsed meanwhile
        new = [i for i in event_ids if i not in self.inbox]
        self.inbox.update(new)
        return [{"event_id": i} for i in new]

    async def execute(self, sql: str, *args: Any) -> None:
        self.log.append(sql.split()[0])

    async def copy_records_to_table(self, table: str, **kwargs: Any) -> None:
        self.log.append(f"copy {table}")


class FakePool:
    def __init__(self, log: list[str]) -> None:
        self.log = log
        self.inbox: set[str] = set()

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[FakeConnection]:
        yield FakeConnection(self.log, self.inbox)


class FakeProducer:
    def __init__(self) -> None:
        self.sent: list[OutboundRecord] = []

    async def send_all(self, records: Iterable[OutboundRecord]) -> None:
        self.sent.extend(records)


class FakeRelay:
    def __init__(self, log: list[str], *, fails: bool = False) -> None:
        self.log = log
        self.fails = fails

    async def flush(self) -> int:
        if self.fails:
            raise RuntimeError("the relay is broken")  # not transient: the batch cannot be completed
        self.log.append("relay")
        return 0


class FakeOffsets:
    def __init__(self, log: list[str]) -> None:
        self.log = log
        self.committed: list[dict[tuple[str, int], int]] = []
        self.rewound: list[dict[tuple[str, int], int]] = []

    async def commit(self, offsets: Mapping[tuple[str, int], int]) -> None:
        self.log.append("offsets")
        self.committed.append(dict(offsets))

    def rewind(self, offsets: Mapping[tuple[str, int], int]) -> None:
        self.rewound.append(dict(offsets))


def record(partition: int, offset: int, client: str) -> InboundRecord:
    envelope = make_envelope(
        "client.registered",
        {"client_id": client, "officer_id": "O1", "registered_on": "2026-01-01"},
        source="test",
        event_id=f"reg-{client}",
    )
    return InboundRecord(TOPIC, partition, offset, client.encode(), dumps(envelope), (), 0)


def consumer(
    log: list[str],
    applied: list[list[str]],
    *,
    relay_fails: bool = False,
    emit: bool = False,
    wanted: frozenset[str] | None = None,
    fails: Callable[[list[str]], bool] = lambda clients: False,
) -> Consumer:
    async def handler(batch: Batch) -> None:
        log.append("handler")
        clients = [i.event.data.client_id for i in batch.events]  # type: ignore[attr-defined]
        if fails(clients):
            raise RuntimeError(f"the handler cannot take {clients}")  # not transient
        applied.append(clients)
        if emit:
            batch.emit(BusinessDayClosed(business_date=dt.date(2026, 1, len(batch.events))), "k", event_id="e")

    return Consumer(
        service="test",
        schema="pulse",
        group="g",
        topic=Topic.LOAN_EVENTS,
        handler=handler,
        pool=cast(Any, FakePool(log)),
        producer=cast(Any, FakeProducer()),
        relay=cast(Any, FakeRelay(log, fails=relay_fails)),
        retry_initial=0.001,
        retry_max=0.01,
        wanted=wanted,
    )


def batch(partition: int, first: int, clients: Sequence[str]) -> list[InboundRecord]:
    return [record(partition, first + n, c) for n, c in enumerate(clients)]


async def test_batches_are_applied_in_order_and_committed_after_their_transaction() -> None:
    log: list[str] = []
    applied: list[list[str]] = []
    pipeline = consumer(log, applied, emit=True)
    offsets = FakeOffsets(log)
    await pipeline.take(batch(0, 10, ["A", "B"]), offsets)
    await pipeline.take(batch(0, 12, ["C"]) + batch(1, 5, ["D"]), offsets)
    await pipeline.drain()
    assert applied == [["A", "B"], ["C", "D"]]
    # Each batch: its transaction, then the outbox relayed, then its offsets; the next one only after that.
    assert log == ["begin", "handler", "copy outbox", "commit", "relay", "offsets"] * 2
    assert offsets.committed == [{(TOPIC, 0): 12}, {(TOPIC, 0): 13, (TOPIC, 1): 6}]
    assert offsets.rewound == []


async def test_a_batch_that_emits_nothing_needs_no_relay() -> None:
    log: list[str] = []
    pipeline = consumer(log, [])
    await pipeline.take(batch(0, 0, ["A"]), FakeOffsets(log))
    await pipeline.drain()
    assert log == ["begin", "handler", "commit", "offsets"]


async def test_a_redelivered_batch_changes_nothing() -> None:
    log: list[str] = []
    applied: list[list[str]] = []
    pipeline = consumer(log, applied)
    offsets = FakeOffsets(log)
    await pipeline.take(batch(0, 0, ["A", "B"]), offsets)
    await pipeline.take(batch(0, 0, ["A", "B"]), offsets)  # e.g. after a crash before the offset commit
    await pipeline.drain()
    assert applied == [["A", "B"]]  # the handler never sees the duplicates
    assert offsets.committed == [{(TOPIC, 0): 2}, {(TOPIC, 0): 2}]


async def test_no_offset_is_committed_past_a_batch_that_could_not_be_processed() -> None:
    log: list[str] = []
    applied: list[list[str]] = []
    pipeline = consumer(log, applied, relay_fails=True, emit=True)
    offsets = FakeOffsets(log)
    await pipeline.take(batch(0, 10, ["A", "B"]), offsets)
    # Taken while the first is in flight; partition 1 appears only here.
    await pipeline.take(batch(0, 12, ["C"]) + batch(1, 7, ["D"]), offsets)
    assert await pipeline.drain() is None  # nothing left in flight: the second batch was not started
    assert applied == [["A", "B"]]
    assert offsets.committed == []
    # The failed batch rewinds itself; the one after it is read again too, from its own first record on
    # partition 1, and never past the failed batch's on partition 0.
    assert offsets.rewound == [{(TOPIC, 0): 10}, {(TOPIC, 0): 10, (TOPIC, 1): 7}]


async def test_a_batch_failing_before_it_is_parsed_is_rewound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULSE_FAILPOINT", "before-batch:raise:1")
    log: list[str] = []
    applied: list[list[str]] = []
    pipeline = consumer(log, applied)
    offsets = FakeOffsets(log)
    await pipeline.take(batch(0, 3, ["A"]), offsets)
    await pipeline.take(batch(0, 3, ["A"]), offsets)  # read again
    await pipeline.drain()
    assert offsets.rewound == [{(TOPIC, 0): 3}]
    assert applied == [["A"]]
    assert offsets.committed == [{(TOPIC, 0): 4}]


async def test_event_types_the_handler_does_not_use_are_neither_claimed_nor_handed_to_it() -> None:
    log: list[str] = []
    applied: list[list[str]] = []
    pipeline = consumer(log, applied, wanted=frozenset({"officer.upserted"}))
    offsets = FakeOffsets(log)
    await pipeline.take(batch(0, 0, ["A", "B"]), offsets)  # registrations
    await pipeline.drain()
    assert applied == []
    assert cast(FakePool, pipeline.pool).inbox == set()
    assert offsets.committed == [{(TOPIC, 0): 2}]  # still read past


async def until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    """Let the batch in flight go through its retries until `condition` holds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.005)


def error_codes(pipeline: Consumer) -> list[tuple[bytes | None, str]]:
    """(key, x-error-code) of each dead letter sent."""
    sent = cast(FakeProducer, pipeline.producer).sent
    return [(r.key, dict(r.headers)["x-error-code"].decode()) for r in sent]


async def test_an_event_that_fails_while_the_rest_of_its_batch_is_applied_is_dead_lettered_as_poison() -> None:
    log: list[str] = []
    applied: list[list[str]] = []
    pipeline = consumer(log, applied, fails=lambda clients: "BAD" in clients)
    offsets = FakeOffsets(log)
    await pipeline.take(batch(0, 0, ["A", "BAD", "C"]), offsets)
    await pipeline.drain()
    assert applied == [["A"], ["C"]]  # the whole batch failed, then each event was applied on its own
    assert error_codes(pipeline) == [(b"BAD", "processing_error")]
    assert offsets.committed == [{(TOPIC, 0): 3}]


async def test_a_batch_whose_every_event_fails_on_its_own_is_retried_not_dead_lettered() -> None:
    # E.g. a database that refuses every write in a way no fault class foresaw: the events are not at fault.
    log: list[str] = []
    applied: list[list[str]] = []
    broken = True
    pipeline = consumer(log, applied, fails=lambda clients: broken)
    offsets = FakeOffsets(log)
    await pipeline.take(batch(0, 0, ["A", "B"]), offsets)
    await until(lambda: log.count("handler") > 2 * (1 + 2 * 3))  # two rounds: the batch, then each event alone
    assert applied == []
    assert error_codes(pipeline) == []
    assert offsets.committed == []
    broken = False  # the fault goes away
    await pipeline.drain()
    assert [client for clients in applied for client in clients] == ["A", "B"]  # as a batch, or one by one
    assert error_codes(pipeline) == []
    assert offsets.committed == [{(TOPIC, 0): 2}]


async def test_a_duplicate_applied_beside_a_failing_event_is_no_proof_that_the_event_is_poison() -> None:
    log: list[str] = []
    applied: list[list[str]] = []
    broken = False
    pipeline = consumer(log, applied, fails=lambda clients: broken)
    offsets = FakeOffsets(log)
    await pipeline.take(batch(0, 0, ["A"]), offsets)
    await pipeline.drain()
    broken = True
    await pipeline.take(batch(0, 0, ["A", "B"]), offsets)  # A again (redelivered), then B, which fails
    await until(lambda: log.count("handler") > 1 + 2 * (1 + 2 * 3))
    assert error_codes(pipeline) == []  # A was skipped, not handled: B's fault may be anybody's
    broken = False
    await pipeline.drain()
    assert applied == [["A"], ["B"]]
    assert error_codes(pipeline) == []
