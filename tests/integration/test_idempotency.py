"""Redelivery is harmless: the same event_id changes state once, and is counted as a duplicate."""

from __future__ import annotations

import pytest

from shared.events.envelope import make_envelope
from shared.topics import Topic
from tests.conftest import World
from tests.support.kafka import eventually
from tests.support.processes import metric_value

pytestmark = pytest.mark.integration


async def event_log_count(world: World) -> int:
    conn = await world.connect()
    try:
        return int(await conn.fetchval("SELECT count(*) FROM snapshotter.event_log"))
    finally:
        await conn.close()


async def test_same_event_id_twice_changes_state_once(world: World) -> None:
    snapshotter = world.service("snapshotter")
    first = make_envelope(
        "client.registered",
        {"client_id": "C1", "officer_id": "O1", "registered_on": "2025-01-02"},
        source="lms",
        event_id="reg-C1",
    )
    # The same event_id again, even with different content, is a redelivery: ignored.
    again = {**first, "data": {**first["data"], "officer_id": "O2"}}
    marker = make_envelope(
        "client.registered",
        {"client_id": "C2", "officer_id": "O1", "registered_on": "2025-01-02"},
        source="lms",
        event_id="reg-C2",
    )
    await world.bus.send(Topic.LOAN_EVENTS, first, key="C1")
    await world.bus.send(Topic.LOAN_EVENTS, again, key="C1")
    await world.bus.send(Topic.LOAN_EVENTS, first, key="C1")
    await world.bus.send(Topic.LOAN_EVENTS, marker, key="C2")

    await eventually(lambda: _count_is(world, 2))
    conn = await world.connect()
    try:
        rows = await conn.fetch(
            "SELECT event_id, convert_from(envelope, 'UTF8')::jsonb->'data'->>'officer_id' AS officer"
            " FROM snapshotter.event_log ORDER BY 1"
        )
    finally:
        await conn.close()
    assert [(r["event_id"], r["officer"]) for r in rows] == [("reg-C1", "O1"), ("reg-C2", "O1")]
    group = f"{world.prefix}pulse.snapshotter.loan-events"
    await eventually(lambda: metric_value(snapshotter.metrics(), "pulse_duplicates_skipped_total", consumer=group) == 2)


async def _count_is(world: World, n: int) -> bool:
    return await event_log_count(world) == n
