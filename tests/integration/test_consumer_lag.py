"""`pulse_consumer_lag` is exported by the service itself, per consumer group and partition, from the group's
COMMITTED offsets: also while a consumer is stuck inside a batch.

How the consumer is made to be stuck, robustly: the test holds `LOCK TABLE snapshotter.inbox IN SHARE MODE`
in an open transaction. The first statement of every batch inserts into that table (the idempotent inbox),
so the snapshotter's loan-events consumer blocks inside its batch: it commits no offset, while the process
itself, its event loop and its /metrics endpoint keep running (a SIGSTOP would silence /metrics too, and a
stopped PostgreSQL costs a restart). Nothing is inferred from timing: the lock is held until the test
has seen the lag, then rolled back, and the consumer goes on.

1. The snapshotter consumes one registration; its offset is committed: lag 0 everywhere.
2. With the inbox locked, 20 more registrations (distinct keys, so several partitions) are published. The
   consumer takes them and blocks. /metrics must show, for the loan-events group, on each partition exactly
   the number of messages published there in step 2 (sum 20), and 0 for the snapshotter's other groups.
3. The lock is released: everything is processed and the lag returns to 0 on every partition.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter

import pytest

from shared.events.envelope import dumps, make_envelope
from shared.kafka.connection import KafkaConnection
from shared.kafka.lag import LagExporter
from shared.metrics import REGISTRY
from shared.topics import PARTITIONS, Topic, consumer_group
from tests.conftest import World
from tests.support.kafka import eventually
from tests.support.processes import ServiceProcess
from tests.support.stack import free_port

pytestmark = pytest.mark.integration

SERVICE = "snapshotter"
MORE = 20


def registration(n: int) -> dict[str, object]:
    return make_envelope(
        "client.registered",
        {"client_id": f"C{n}", "officer_id": "O1", "registered_on": "2025-01-02"},
        source="lms",
        event_id=f"lag-reg-{n}",
    )


def lag_samples(text: str) -> dict[tuple[str, str, str], float]:
    """(group, topic, partition) -> value of every `pulse_consumer_lag` sample of the service."""
    samples: dict[tuple[str, str, str], float] = {}
    for line in text.splitlines():
        if not line.startswith("pulse_consumer_lag{"):
            continue
        head, _, value = line.rpartition(" ")
        label_text = head[len("pulse_consumer_lag{") : -1]
        labels = dict(pair.split("=", 1) for pair in label_text.split(","))
        labels = {k: v.strip('"') for k, v in labels.items()}
        if labels.get("service") == SERVICE:
            samples[labels["group"], labels["topic"], labels["partition"]] = float(value)
    return samples


def group_lag(process: ServiceProcess, group: str) -> dict[int, float]:
    return {int(p): v for (g, _, p), v in lag_samples(process.metrics()).items() if g == group}


async def processed(world: World) -> int:
    """Registrations of this test in the snapshotter's event log."""
    conn = await world.connect()
    try:
        return int(await conn.fetchval("SELECT count(*) FROM snapshotter.event_log WHERE event_id LIKE 'lag-reg-%'"))
    finally:
        await conn.close()


async def has_processed(world: World, count: int) -> bool:
    return await processed(world) == count


async def test_lag_is_exported_while_the_consumer_is_stuck_and_returns_to_zero(world: World) -> None:
    loan_group = consumer_group(SERVICE, Topic.LOAN_EVENTS, world.prefix)
    other_groups = [consumer_group(SERVICE, t, world.prefix) for t in (Topic.WEALTH_EVENTS, Topic.CONTROL)]
    topic = world.bus.name(Topic.LOAN_EVENTS)
    snapshotter = world.service(SERVICE)
    producer = await world.bus.producer()

    # 1. One message consumed and committed: every partition of every group at 0.
    await producer.send_and_wait(topic, dumps(registration(0)), key=b"C0")
    await eventually(lambda: has_processed(world, 1), timeout=60)

    def all_zero() -> bool:
        lags = lag_samples(snapshotter.metrics())
        groups = {g for g, _, _ in lags}
        return groups >= {loan_group, *other_groups} and not any(lags.values())

    await eventually(all_zero, timeout=30)

    # 2. The consumer blocked on the inbox, 20 more messages published.
    conn = await world.connect()
    transaction = conn.transaction()
    await transaction.start()
    try:
        await conn.execute("LOCK TABLE snapshotter.inbox IN SHARE MODE")
        published: Counter[int] = Counter()
        for n in range(1, MORE + 1):
            metadata = await producer.send_and_wait(topic, dumps(registration(n)), key=f"C{n}".encode())
            published[metadata.partition] += 1
        assert len(published) > 1  # the keys spread over several partitions

        expected = {p: float(published[p]) for p in range(PARTITIONS[Topic.LOAN_EVENTS])}
        seen = await eventually(lambda: (lag := group_lag(snapshotter, loan_group)) == expected and lag, timeout=30)
        assert sum(seen.values()) == MORE
        assert await processed(world) == 1  # it really is stuck: the lag is not the per-batch update's
        for group in other_groups:
            assert set(group_lag(snapshotter, group).values()) == {0.0}, group
        # Stays there while the consumer stays stuck (the exporter reads every 5 s).
        await asyncio.sleep(6)
        assert group_lag(snapshotter, loan_group) == expected
    finally:
        await transaction.rollback()
        await conn.close()

    # 3. Unblocked: all consumed, committed, and the lag back to 0 on every partition.
    await eventually(lambda: has_processed(world, MORE + 1), timeout=60)
    await eventually(lambda: set(group_lag(snapshotter, loan_group).values()) == {0.0}, timeout=30)
    assert len(group_lag(snapshotter, loan_group)) == PARTITIONS[Topic.LOAN_EVENTS]


async def test_exporter_survives_an_unreachable_broker(world: World) -> None:
    """A broker that cannot be reached costs a skipped tick, never the task (nor the service); a group that
    has committed nothing is behind by the whole partition."""
    group = f"{world.prefix}pulse.lag-probe.{Topic.CONTROL}"
    down = LagExporter(
        "lag-probe", KafkaConnection(f"127.0.0.1:{free_port()}"), {group: world.bus.name(Topic.CONTROL)}, interval=0.2
    )
    task = asyncio.create_task(down.run())
    try:
        await asyncio.sleep(2)
        assert not task.done()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await down.close()

    # Reachable: a group that has committed nothing is behind by everything the partition holds.
    for n in range(3):
        await world.bus.send_raw(Topic.CONTROL, f"probe-{n}".encode())
    up = LagExporter("lag-probe", KafkaConnection(world.stack.kafka_bootstrap), {group: world.bus.name(Topic.CONTROL)})
    try:
        await up.export()
    finally:
        await up.close()
    labels = {"service": "lag-probe", "group": group, "topic": world.bus.name(Topic.CONTROL), "partition": "0"}
    assert REGISTRY.get_sample_value("pulse_consumer_lag", labels) == 3
