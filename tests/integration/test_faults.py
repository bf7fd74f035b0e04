"""Transient faults are retried, never dead-lettered or skipped; a crash between the database commit and the
offset commit processes nothing twice."""

from __future__ import annotations

import asyncio

import pytest

from shared.events.envelope import make_envelope
from shared.topics import Topic
from tests.conftest import World
from tests.support.kafka import eventually
from tests.support.processes import metric_value

pytestmark = pytest.mark.integration

GROUP = "pulse.snapshotter.loan-events"


def registration(n: int) -> dict[str, object]:
    return make_envelope(
        "client.registered",
        {"client_id": f"C{n}", "officer_id": "O1", "registered_on": "2025-01-02"},
        source="lms",
        event_id=f"reg-{n}",
    )


async def event_ids(world: World) -> list[str]:
    conn = await world.connect()
    try:
        return [r["event_id"] for r in await conn.fetch("SELECT event_id FROM snapshotter.event_log ORDER BY 1")]
    finally:
        await conn.close()


async def dead_letter_count(world: World) -> int:
    records = await world.bus.read_until(Topic.DEAD_LETTERS, lambda _: True, timeout=5)
    return len(records)


async def test_postgres_stopped_during_processing_is_retried_not_lost(world: World) -> None:
    snapshotter = world.service("snapshotter")
    await world.bus.send(Topic.LOAN_EVENTS, registration(0), key="C0")
    await eventually(lambda: _has(world, 1))

    world.stack.stop_postgres()
    try:
        for n in range(1, 21):
            await world.bus.send(Topic.LOAN_EVENTS, registration(n), key=f"C{n}")
        # The service now fails on every attempt; it must keep retrying, not skip or dead-letter.
        await eventually(
            lambda: (
                metric_value(snapshotter.metrics(), "pulse_transient_retries_total", consumer=world.prefix + GROUP) >= 2
            ),
            timeout=30,
        )
    finally:
        world.stack.start_postgres()

    await eventually(lambda: _has(world, 21), timeout=60)
    assert sorted(await event_ids(world)) == sorted(f"reg-{n}" for n in range(21))
    assert await dead_letter_count(world) == 0
    assert snapshotter.proc is not None
    assert snapshotter.proc.poll() is None  # still running


async def test_sigkill_after_db_commit_before_offset_commit_processes_nothing_twice(world: World) -> None:
    crashing = world.service("snapshotter", start=False)
    crashing.env["PULSE_FAILPOINT"] = "after-db-commit"
    for n in range(10):
        await world.bus.send(Topic.LOAN_EVENTS, registration(n), key="same-partition")
    crashing.start(wait=False)
    assert crashing.proc is not None
    await asyncio.to_thread(crashing.proc.wait, 60)
    assert crashing.proc.returncode == -9  # killed itself at the failpoint
    committed = await event_ids(world)
    assert committed  # its database transaction did commit

    restarted = world.service("snapshotter")
    await eventually(lambda: _has(world, 10), timeout=60)
    group = world.prefix + GROUP
    # Everything the crashed process committed is redelivered (its offsets were never committed) and skipped.
    await eventually(
        lambda: metric_value(restarted.metrics(), "pulse_duplicates_skipped_total", consumer=group) == len(committed)
    )
    assert sorted(await event_ids(world)) == sorted(f"reg-{n}" for n in range(10))
    assert await dead_letter_count(world) == 0


async def _has(world: World, n: int) -> bool:
    return len(await event_ids(world)) == n


async def test_a_batch_that_fails_unexpectedly_is_read_again_not_skipped(world: World) -> None:
    # The first two batches raise before they are processed; a later batch's offset commit must not move
    # past them: every event is processed, once.
    world.extra_env["PULSE_FAILPOINT"] = "before-batch:raise:2"
    world.extra_env["PULSE_RETRY_MAX_SECONDS"] = "0.5"
    snapshotter = world.service("snapshotter")
    for n in range(5):
        await world.bus.send(Topic.LOAN_EVENTS, registration(n), key=f"C{n}")
        await asyncio.sleep(0.3)  # several batches
    await eventually(lambda: _has(world, 5), timeout=60)
    assert sorted(await event_ids(world)) == sorted(f"reg-{n}" for n in range(5))
    assert "batch not processed; it will be read again" in snapshotter.logs()
    assert await dead_letter_count(world) == 0
