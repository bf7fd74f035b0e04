"""Bad input on the real stack (CONTRACT §1 "Bad input"): every message of the corpus, interleaved with a small
valid book in the same partitions, ends in `dead-letters` exactly once, unchanged, under its key, with the
right code and all seven headers; the snapshotter counts it by code and stays up; and the read model is
exactly the one of the valid events alone."""

from __future__ import annotations

import datetime as dt
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from shared.events.envelope import dumps
from shared.kafka.deadletter import X_HEADERS
from shared.topics import Topic, consumer_group, key_for
from tests.conftest import BookFactory, World
from tests.corpus.bad_messages import CASES, Case, near_broker_limit, setup_events
from tests.integration.loans.test_branch_equals_pooled_book import FIELDS, book_events
from tests.support.kafka import Received, eventually
from tests.support.processes import ServiceProcess, metric_value
from tests.support.snapshotter import aggregator_harness, event

pytestmark = pytest.mark.e2e

OWNERS = {"A": "O1", "B": "O1", "C": "O2", "E": "O2", "C2": "O1"}
LAST = dt.date(2025, 5, 15)
CASE_HEADER = "x-corpus-case"
# The broker's default limit (~1 MiB) would refuse the corpus's 2 MB message at the producer already; an
# upstream whose topics allow it must still see it dead-lettered (Pulse's own producer takes 2 MiB).
LARGE_TOPIC_BYTES = 4 * 1024 * 1024
WEALTH_GOOD = [
    event("client.onboarded", client_id="W1", name="Wanda", base_currency="EUR"),
    event(
        "portfolio.valued",
        client_id="W1",
        as_of="2025-05-01",
        positions=[{"instrument_id": "I1", "asset_class": "Equity", "custodian": "Bank A", "market_value": "10"}],
    ),
]

Summaries = dict[tuple[str, dt.date], tuple[Any, ...]]
Coordinates = tuple[str, int, int]  # topic, partition, offset


def publication_order(good: Sequence[dict[str, Any]]) -> Iterator[tuple[Topic, dict[str, Any] | Case]]:
    """The valid book with every corpus case between its events (each case after its setup events), the
    cases that rely on the whole book after it, then valid wealth events after the bad ones."""
    free = [c for c in CASES if not c.after_book]
    per_slot = -(-len(free) // len(good))
    for n, envelope in enumerate(good):
        yield Topic.LOAN_EVENTS, envelope
        for case in free[n * per_slot : (n + 1) * per_slot]:
            for setup in case.setup:
                yield Topic.LOAN_EVENTS, setup
            yield case.topic, case
    for case in CASES:
        if case.after_book:
            yield case.topic, case
    for envelope in WEALTH_GOOD:
        yield Topic.WEALTH_EVENTS, envelope


async def expected_read_model(new_book: BookFactory, good: list[dict[str, Any]]) -> Summaries:
    book = await new_book()
    aggregator = await aggregator_harness(book.pool)
    assert (await book.ingest(*good)).rejected == {}
    await aggregator.apply((await book.close(LAST)).emitted)
    async with book.pool.acquire() as conn:
        rows = await conn.fetch("SELECT * FROM aggregator.loan_summaries")
    return {(r["scope"], r["business_date"]): tuple(r[f] for f in FIELDS) for r in rows}


async def read_model(world: World) -> Summaries:
    conn = await world.connect()
    try:
        rows = await conn.fetch("SELECT * FROM aggregator.loan_summaries")
    except Exception:  # the aggregator has not created its schema yet
        return {}
    finally:
        await conn.close()
    return {(r["scope"], r["business_date"]): tuple(r[f] for f in FIELDS) for r in rows}


async def logged(world: World, topic: Topic) -> int:
    conn = await world.connect()
    try:
        return int(await conn.fetchval("SELECT count(*) FROM snapshotter.event_log WHERE topic = $1", str(topic)))
    except Exception:
        return -1
    finally:
        await conn.close()


async def allow_large_messages(world: World, *topics: Topic) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=world.stack.kafka_bootstrap)
    await admin.start()
    try:
        await admin.alter_configs(
            [
                ConfigResource(
                    ConfigResourceType.TOPIC, world.bus.name(t), configs={"max.message.bytes": str(LARGE_TOPIC_BYTES)}
                )
                for t in topics
            ]
        )
    finally:
        await admin.close()


async def topic_size(world: World, topic: Topic) -> int:
    """How many records `topic` holds (the sum of its partitions' end offsets)."""
    name = world.bus.name(topic)
    consumer = AIOKafkaConsumer(
        name, bootstrap_servers=world.stack.kafka_bootstrap, group_id=f"test-size-{uuid.uuid4().hex[:8]}"
    )
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(name) or set()
        assert partitions, f"no partitions of {name}"
        ends = await consumer.end_offsets([TopicPartition(name, p) for p in partitions])
        return int(sum(ends.values()))
    finally:
        await consumer.stop()


def healthy(service: ServiceProcess) -> bool:
    assert service.proc is not None
    if service.proc.poll() is not None:
        return False
    with urllib.request.urlopen(f"{service.url}/healthz", timeout=5) as response:  # noqa: S310
        return bool(response.status == 200)


def check_dead_letter(world: World, case: Case, record: Received, published: Coordinates) -> list[str]:
    """What is wrong with the dead letter of `case` (nothing, if it is right)."""
    problems = []
    missing = [h for h in X_HEADERS if h not in record.headers]
    if missing:
        problems.append(f"missing headers {missing}")
    h = {k: v.decode(errors="replace") for k, v in record.headers.items()}
    if h.get("x-error-code") != case.code:
        problems.append(f"code {h.get('x-error-code')!r} ({h.get('x-error-message')}), expected {case.code!r}")
    if (h.get("x-original-topic"), h.get("x-original-partition"), h.get("x-original-offset")) != tuple(
        str(p) for p in published
    ):
        problems.append(f"original coordinates {h.get('x-original-topic')}/{h.get('x-original-partition')}/"
                        f"{h.get('x-original-offset')}, published at {published}")  # fmt: skip
    group = consumer_group(case.consumer, case.topic, world.prefix)
    if h.get("x-consumer-group") != group:
        problems.append(f"consumer group {h.get('x-consumer-group')!r}, expected {group!r}")
    failed_at = h.get("x-failed-at", "")
    try:
        stamp = dt.datetime.fromisoformat(failed_at)
        assert failed_at.endswith("Z")
        assert stamp.tzinfo is not None
    except (ValueError, AssertionError):
        problems.append(f"x-failed-at {failed_at!r} is not an RFC 3339 UTC timestamp")
    if not h.get("x-error-message"):
        problems.append("empty x-error-message")
    if h.get(CASE_HEADER) != case.name:
        problems.append("the original headers were not kept")
    if record.key != (case.key.encode() if case.key is not None else None):
        problems.append(f"key {record.key!r}, expected {case.key!r}")
    if record.value != case.dead_letter_value:
        size = len(record.value or b"")
        problems.append(f"value changed ({size} bytes, {len(case.dead_letter_value)} published)")
    return [f"{case.name}: {p}" for p in problems]


async def test_every_bad_message_is_dead_lettered_once_and_changes_nothing(world: World, new_book: BookFactory) -> None:
    started = time.monotonic()
    book = book_events(OWNERS)
    good_loans = [*book, *setup_events()]
    expected = await expected_read_model(new_book, good_loans)
    assert len(expected) > 300  # every scope on every day from 2025-01-01, the setup clients' loans included
    await allow_large_messages(world, Topic.LOAN_EVENTS, Topic.DEAD_LETTERS)
    snapshotter = world.service("snapshotter")
    aggregator = world.service("aggregator")

    producer = AIOKafkaProducer(
        bootstrap_servers=world.stack.kafka_bootstrap,
        acks="all",
        enable_idempotence=True,
        max_request_size=LARGE_TOPIC_BYTES,
    )
    await producer.start()
    published: dict[Coordinates, Case] = {}
    good_partitions: set[int] = set()
    try:
        for topic, item in publication_order(book):
            if isinstance(item, Case):
                key, value, headers = item.key, item.raw(), [(CASE_HEADER, item.name.encode())]
            else:
                key, value, headers = key_for(topic, item["event_type"], item["data"]), dumps(item), []
            metadata = await producer.send_and_wait(
                world.bus.name(topic), value, key=key.encode() if key is not None else None, headers=headers
            )
            if isinstance(item, Case):
                published[(world.bus.name(topic), metadata.partition, metadata.offset)] = item
            elif topic is Topic.LOAN_EVENTS:
                good_partitions.add(metadata.partition)
    finally:
        await producer.stop()
    assert len(published) == len(CASES)
    # Interleaved: every partition the good events use is also read with bad messages in it.
    assert good_partitions <= {p for t, p, _ in published if t == world.bus.name(Topic.LOAN_EVENTS)}

    # Every bad message is dead-lettered, the good ones are all taken in; then the day is closed.
    seen: list[Received] = []

    def all_dead(got: list[Received]) -> bool:
        seen[:] = got
        return len(got) >= len(CASES)

    try:
        await world.bus.read_until(Topic.DEAD_LETTERS, all_dead, timeout=40)
    except AssertionError:
        arrived = {_coordinates(r) for r in seen}
        missing = sorted(c.name for at, c in published.items() if at not in arrived)
        raise AssertionError(f"not dead-lettered: {missing}\n{snapshotter.logs()[-3000:]}") from None
    assert await eventually(lambda: _equals(logged(world, Topic.LOAN_EVENTS), len(good_loans)), timeout=30)
    assert await eventually(lambda: _equals(logged(world, Topic.WEALTH_EVENTS), len(WEALTH_GOOD)), timeout=30)
    await world.bus.send(Topic.CONTROL, event("business_day.closed", business_date=LAST), key=LAST.isoformat())

    async def converged() -> bool:
        return await read_model(world) == expected

    try:
        await eventually(converged, timeout=60, interval=0.5)
    except AssertionError:
        got = await read_model(world)
        differ = sorted(k for k in expected.keys() | got.keys() if expected.get(k) != got.get(k))
        raise AssertionError(f"read model differs on {len(differ)} rows, e.g. {differ[:5]}") from None

    # Exactly once each, and nothing else.
    assert await topic_size(world, Topic.DEAD_LETTERS) == len(CASES)
    dead = await world.bus.read_until(Topic.DEAD_LETTERS, lambda got: len(got) >= len(CASES), timeout=20)
    by_coordinates = {_coordinates(r): r for r in dead}
    assert len(by_coordinates) == len(dead) == len(CASES)
    problems = [p for at, case in published.items() for p in check_dead_letter(world, case, by_coordinates[at], at)]
    assert not problems, "\n".join(problems)

    # Counted by consumer and code; the services are still up and never had to fall back on a crash path.
    metrics = snapshotter.metrics()
    counts = Counter((consumer_group(c.consumer, c.topic, world.prefix), c.code) for c in CASES)
    wrong = {
        (group, code): (counted, n)
        for (group, code), n in counts.items()
        if (counted := metric_value(metrics, "pulse_dead_letters_total", consumer=group, code=code)) != n
    }
    assert wrong == {}, f"(counted, dead-lettered) by (consumer, code): {wrong}"
    assert healthy(snapshotter)
    assert healthy(aggregator)
    assert "batch failed" not in snapshotter.logs()
    assert "keeps failing" not in snapshotter.logs()
    assert time.monotonic() - started < 60


def _coordinates(record: Received) -> Coordinates:
    return (
        record.headers.get("x-original-topic", b"").decode(),
        int(record.headers.get("x-original-partition", b"-1")),
        int(record.headers.get("x-original-offset", b"-1")),
    )


async def _equals(count: Any, n: int) -> bool:
    return bool(await count == n)


async def test_a_message_at_the_broker_limit_is_still_dead_lettered(world: World) -> None:
    """A message the broker took at its default limit still fits in dead-letters with seven headers more
    (that topic takes larger messages: shared.topics.TOPIC_CONFIGS)."""
    world.service("snapshotter")
    producer = AIOKafkaProducer(bootstrap_servers=world.stack.kafka_bootstrap, max_request_size=LARGE_TOPIC_BYTES)
    await producer.start()
    try:  # the topics have the broker's default limit here
        await producer.send_and_wait(world.bus.name(Topic.LOAN_EVENTS), near_broker_limit(), key=b"B")
    finally:
        await producer.stop()
    after = event("client.registered", client_id="B", officer_id="O1", registered_on="2025-01-03")
    await world.bus.send(Topic.LOAN_EVENTS, after, key="B")
    assert await eventually(lambda: _equals(logged(world, Topic.LOAN_EVENTS), 1), timeout=30)
    dead = await world.bus.read_until(Topic.DEAD_LETTERS, lambda got: len(got) >= 1, timeout=10)
    assert dead[0].headers["x-error-code"] == b"message_too_large"
    assert dead[0].value == near_broker_limit()
