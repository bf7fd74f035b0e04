"""Transient faults are retried, never dead-lettered or skipped (a stopped, read-only or timing-out database
among them); a crash between the database commit and the offset commit processes nothing twice."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from shared.events.envelope import make_envelope
from shared.topics import Topic
from tests.conftest import World
from tests.support.kafka import eventually
from tests.support.processes import metric_value
from tests.support.stack import ROLES

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


async def _restart_sessions(conn: asyncpg.Connection, *keep: asyncpg.Connection) -> None:
    """End every other session of the test's database: a database setting reaches a session only when it
    starts, and the service's pool opens new ones (the ended sessions are a transient fault of their own)."""
    await conn.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = current_database() AND NOT pid = ANY($1::int[])",
        [c.get_server_pid() for c in (conn, *keep)],
    )


SNAPSHOTTER = ROLES.login("snapshotter")


async def test_a_read_only_database_is_waited_out_not_dead_lettered(world: World) -> None:
    # What a failover to a standby looks like to a service: every write refused with SQLSTATE 25006.
    snapshotter = world.service("snapshotter")
    await world.bus.send(Topic.LOAN_EVENTS, registration(0), key="C0")
    await eventually(lambda: _has(world, 1))
    admin = await world.connect()
    database = await admin.fetchval("SELECT current_database()")
    try:
        await admin.execute(f'ALTER DATABASE "{database}" SET default_transaction_read_only = on')
        await _restart_sessions(admin)
        for n in range(1, 11):
            await world.bus.send(Topic.LOAN_EVENTS, registration(n), key=f"C{n}")
        await eventually(lambda: "ReadOnlySQLTransactionError" in snapshotter.logs(), timeout=30)
        assert await _has(world, 1)  # nothing written meanwhile, nothing skipped
    finally:
        await admin.execute(f'ALTER DATABASE "{database}" RESET default_transaction_read_only')
        await _restart_sessions(admin)
        await admin.close()
    await eventually(lambda: _has(world, 11), timeout=60)
    assert sorted(await event_ids(world)) == sorted(f"reg-{n}" for n in range(11))
    assert await dead_letter_count(world) == 0
    assert_retried_as_transient(snapshotter.logs())


async def test_a_statement_timeout_is_retried_not_dead_lettered(world: World) -> None:
    # A real statement_timeout: the service's statements wait on a lock held here until the server cancels
    # them (SQLSTATE 57014).
    snapshotter = world.service("snapshotter")
    await world.bus.send(Topic.LOAN_EVENTS, registration(0), key="C0")
    await eventually(lambda: _has(world, 1))
    admin, blocker = await world.connect(), await world.connect()
    database = await admin.fetchval("SELECT current_database()")
    lock = blocker.transaction()
    try:
        # The login's own setting in this database: it outranks the login's cluster-wide one (5 min).
        await admin.execute(f"ALTER ROLE {SNAPSHOTTER} IN DATABASE \"{database}\" SET statement_timeout = '300ms'")
        await _restart_sessions(admin, blocker)
        await lock.start()
        await blocker.execute("LOCK TABLE snapshotter.inbox IN ACCESS EXCLUSIVE MODE")  # every batch claims here
        for n in range(1, 6):
            await world.bus.send(Topic.LOAN_EVENTS, registration(n), key=f"C{n}")
        await eventually(lambda: "QueryCanceledError" in snapshotter.logs(), timeout=30)
        await lock.rollback()
    finally:
        await admin.execute(f'ALTER ROLE {SNAPSHOTTER} IN DATABASE "{database}" RESET statement_timeout')
        await admin.close()
        await blocker.close()
    await eventually(lambda: _has(world, 6), timeout=60)
    assert sorted(await event_ids(world)) == sorted(f"reg-{n}" for n in range(6))
    assert await dead_letter_count(world) == 0
    assert_retried_as_transient(snapshotter.logs())


async def test_a_missing_privilege_is_waited_out_not_dead_lettered(world: World) -> None:
    # A deployment fault (a grant forgotten after a migration, SQLSTATE 42501): the service waits for the fix.
    snapshotter = world.service("snapshotter")
    await world.bus.send(Topic.LOAN_EVENTS, registration(0), key="C0")
    await eventually(lambda: _has(world, 1))
    admin = await world.connect()
    try:
        await admin.execute(f"REVOKE INSERT ON snapshotter.inbox FROM {SNAPSHOTTER}")
        for n in range(1, 6):
            await world.bus.send(Topic.LOAN_EVENTS, registration(n), key=f"C{n}")
        await eventually(lambda: "InsufficientPrivilegeError" in snapshotter.logs(), timeout=30)
        assert await _has(world, 1)
    finally:
        await admin.execute(f"GRANT INSERT ON snapshotter.inbox TO {SNAPSHOTTER}")
        await admin.close()
    await eventually(lambda: _has(world, 6), timeout=60)
    assert sorted(await event_ids(world)) == sorted(f"reg-{n}" for n in range(6))
    assert await dead_letter_count(world) == 0
    assert_retried_as_transient(snapshotter.logs())


def assert_retried_as_transient(logs: str) -> None:
    """Known as a fault of the database at once: the batch was never taken apart to look for a poison event."""
    assert "transient fault, retrying" in logs
    taken_apart = [line for line in logs.splitlines() if "re-running it one event at a time" in line]
    assert not taken_apart, f"a fault taken for a bad event: {taken_apart[0][-1500:]}"
