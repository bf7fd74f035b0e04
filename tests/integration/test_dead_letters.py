"""Bad input goes to dead-letters with the contract's headers, is counted, and consumption goes on; so does an
outbound record the broker refuses."""

from __future__ import annotations

import pytest

from shared import db
from shared.events.envelope import make_envelope
from shared.kafka import outbox
from shared.kafka.outbox import OutboxRelay
from shared.kafka.producer import OutboundRecord, Producer
from shared.settings import get_settings
from shared.topics import Topic
from tests.conftest import World
from tests.corpus.bad_messages import partition_of
from tests.support.kafka import Received, eventually
from tests.support.processes import metric_value

pytestmark = pytest.mark.integration

GROUP_SUFFIX = "pulse.snapshotter.loan-events"


def officer(officer_id: str, event_id: str) -> dict[str, object]:
    return make_envelope(
        "officer.upserted",
        {
            "officer_id": officer_id,
            "branch_id": "B1",
            "name": "Ada",
            "email": "ada@example.org",
            "role": "loan_officer",
        },
        source="lms",
        event_id=event_id,
    )


async def officers(world: World) -> list[str]:
    conn = await world.connect()
    try:
        return [r["officer_id"] for r in await conn.fetch("SELECT officer_id FROM snapshotter.officers ORDER BY 1")]
    finally:
        await conn.close()


async def test_malformed_and_invalid_messages_are_dead_lettered_and_consumption_goes_on(world: World) -> None:
    snapshotter = world.service("snapshotter")
    # All on one key, hence one partition: the good message is read after the two bad ones.
    await world.bus.send_raw(Topic.LOAN_EVENTS, b"not json", key="O1", headers=[("trace", b"abc")])
    schema_invalid = officer("O1", "e-bad")
    schema_invalid["data"] = {**schema_invalid["data"], "role": "wizard"}  # type: ignore[dict-item]
    await world.bus.send(Topic.LOAN_EVENTS, schema_invalid, key="O1")
    await world.bus.send(Topic.LOAN_EVENTS, officer("O1", "e-good"), key="O1")

    dead = await world.bus.read_until(Topic.DEAD_LETTERS, lambda got: len(got) >= 2, timeout=30)
    assert await eventually(lambda: officers(world)) == ["O1"]

    by_code = {r.headers["x-error-code"].decode(): r for r in dead}
    assert set(by_code) == {"invalid_json", "invalid_data"}
    not_json = by_code["invalid_json"]
    assert not_json.value == b"not json"  # copied unchanged
    assert not_json.key == b"O1"  # under its original key
    assert not_json.headers["trace"] == b"abc"  # original headers kept
    assert not_json.headers["x-original-topic"].decode() == world.bus.name(Topic.LOAN_EVENTS)
    assert not_json.headers["x-original-offset"] == b"0"
    assert not_json.headers["x-consumer-group"].decode() == f"{world.prefix}{GROUP_SUFFIX}"
    assert int(not_json.headers["x-original-partition"]) == partition_of("O1", Topic.LOAN_EVENTS)
    assert not_json.headers["x-failed-at"].decode().endswith("Z")
    assert not_json.headers["x-error-message"]
    invalid = by_code["invalid_data"]
    assert invalid.headers["x-original-offset"] == b"1"
    assert b"role" in invalid.headers["x-error-message"]

    metrics = snapshotter.metrics()
    group = f"{world.prefix}{GROUP_SUFFIX}"
    assert metric_value(metrics, "pulse_dead_letters_total", consumer=group, code="invalid_json") == 1
    assert metric_value(metrics, "pulse_dead_letters_total", consumer=group, code="invalid_data") == 1


async def test_not_json_reaches_dead_letters_within_ten_seconds(world: World) -> None:
    world.service("snapshotter")
    await world.bus.send_raw(Topic.LOAN_EVENTS, b"not json")
    got: list[Received] = await world.bus.read_until(Topic.DEAD_LETTERS, lambda r: len(r) >= 1, timeout=10)
    assert got[0].headers["x-error-code"] == b"invalid_json"


async def test_an_outbox_record_the_broker_refuses_is_dead_lettered_and_the_relay_goes_on(world: World) -> None:
    # The snapshots topic takes records up to the broker's 1 MiB; dead-letters up to 4 MiB.
    pool = await db.create_pool(world.database_url, retry=False, max_size=2)
    producer = Producer(get_settings().kafka(), client_id="test", service="test")
    await producer.start()
    try:
        await db.migrate(pool, "relaytest", None)
        topic = world.bus.name(Topic.SNAPSHOTS)
        values = [b"first", b"x" * 1_500_000, b"y" * 5_000_000, b"after"]  # too large for its topic; for both
        async with pool.acquire() as conn:
            await outbox.stage(conn, "relaytest", [OutboundRecord(topic, v, b"k") for v in values])
        relay = OutboxRelay(pool, "relaytest", producer, prefix=world.prefix)
        assert await relay.flush() == 4
        assert await relay.flush() == 0  # the refused ones are not tried again: nothing stalls

        delivered = await world.bus.read_until(Topic.SNAPSHOTS, lambda got: any(r.value == b"after" for r in got))
        # "first" may come twice: the failed batch had sent it before the records were sent one at a time.
        assert {r.value for r in delivered} == {b"first", b"after"}
        dead = await world.bus.read_until(Topic.DEAD_LETTERS, lambda got: len(got) >= 1)
        assert len(dead) == 1  # the 5 MB one fits no topic: only the outbox keeps it
        assert dead[0].value == values[1]  # unchanged, for `pulse dlq replay` once the topic takes it
        assert dead[0].headers["x-error-code"] == b"outbound_refused"
        assert dead[0].headers["x-original-topic"].decode() == topic
        async with pool.acquire() as conn:
            kept = await conn.fetch("SELECT length(value) AS size, refused FROM relaytest.outbox ORDER BY id")
        assert [r["size"] for r in kept] == [1_500_000, 5_000_000]
        assert all("MessageSizeTooLarge" in r["refused"] for r in kept)
    finally:
        await producer.stop()
        await pool.close()
