"""The services on the broker's SASL_SSL listener, each signed in as its own SCRAM user over TLS (a CA of the
checkout's own) and allowed its own topics only (shared/kafka/access.py): the loans pipeline converges as on
the plaintext listener, and a service is refused a topic or a consumer group that is not its own."""

from __future__ import annotations

import asyncio
import subprocess
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import GroupAuthorizationFailedError, KafkaError, TopicAuthorizationFailedError

from shared.kafka.access import DEV_PASSWORD, READS, user_of
from shared.kafka.access import spec as spec_of
from shared.kafka.connection import KafkaConnection
from shared.topics import Topic
from tests.conftest import World
from tests.e2e.test_loans_pipeline import LAST, OWNERS, _event_log_count, _has_day, expected_read_model, publish
from tests.e2e.test_loans_pipeline import read_model as loan_read_model
from tests.integration.loans.conftest import BookFactory
from tests.integration.loans.test_branch_equals_pooled_book import book_events
from tests.support.kafka import eventually
from tests.support.snapshotter import event
from tests.support.stack import ROOT, Stack

pytestmark = pytest.mark.e2e

SASL_BOOTSTRAP = "127.0.0.1:9094"
CA_FILE = ROOT / ".local/kafka/tls/ca.pem"


@pytest.fixture
async def secured(world: World, stack: Stack) -> World:
    """`world`, its services on SASL_SSL with the ACLs of its own topics (as `make up` has them for its own)."""
    if stack.kind != "native" or not CA_FILE.exists():
        pytest.skip("the SASL_SSL listener is the native local broker's (deploy/local/kafka.sh)")
    await apply(spec_of(world.prefix, dict.fromkeys(READS, DEV_PASSWORD)))
    world.extra_env.update({
        "KAFKA_BOOTSTRAP_SERVERS": SASL_BOOTSTRAP, "PULSE_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "PULSE_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512", "PULSE_KAFKA_SASL_PASSWORD": DEV_PASSWORD,
        "PULSE_KAFKA_SSL_CA_FILE": str(CA_FILE),
    })  # fmt: skip
    return world


async def apply(lines: list[str]) -> None:
    """Users and ACLs on the broker, as `make up` applies them (deploy/local/kafka.sh access)."""
    spec = "\n".join(lines) + "\n"
    await asyncio.to_thread(
        subprocess.run, [str(ROOT / "deploy/local/kafka.sh"), "access"], input=spec, check=True, text=True, cwd=ROOT
    )


def signed_in_as(service: str, password: str = DEV_PASSWORD) -> KafkaConnection:
    return KafkaConnection(
        SASL_BOOTSTRAP, "SASL_SSL", "SCRAM-SHA-512", user_of(service), password, ca_file=str(CA_FILE)
    )


async def test_the_loans_pipeline_runs_with_each_service_signed_in_as_itself(
    secured: World, new_book: BookFactory
) -> None:
    world = secured
    expected = await expected_read_model(new_book)
    for name in ("snapshotter", "returns", "aggregator", "alerter"):
        world.service(name)
    events = book_events(OWNERS)
    await publish(world, events)  # the upstream systems: through the plaintext listener here
    await eventually(lambda: _event_log_count(world, len(events)), timeout=60)
    await publish(world, [event("business_day.closed", business_date=LAST)])
    await eventually(lambda: _has_day(world, LAST), timeout=120)

    async def converged() -> bool:
        return await loan_read_model(world) == expected

    await eventually(converged, timeout=180, interval=1.0)
    # The alerter, too, read the aggregates and wrote its alert events as its own user.
    alerts = await world.bus.read_until(Topic.ALERTS, lambda records: len(records) > 0, timeout=60)
    assert alerts


async def test_a_service_is_refused_the_topics_and_groups_of_others(secured: World) -> None:
    world = secured
    returns = signed_in_as("returns")
    producer = AIOKafkaProducer(**returns.options(), acks="all", enable_idempotence=True)
    await producer.start()
    try:
        await producer.send_and_wait(world.bus.name(Topic.RETURNS), b"{}")  # its own
        with pytest.raises(TopicAuthorizationFailedError):  # forging an upstream event
            await producer.send_and_wait(world.bus.name(Topic.LOAN_EVENTS), b"{}")
        with pytest.raises(TopicAuthorizationFailedError):  # forging an acknowledgement
            await producer.send_and_wait(world.bus.name(Topic.ALERTS), b"{}")
    finally:
        await producer.stop()

    async def consume(topic: Topic, group: str) -> None:
        consumer = AIOKafkaConsumer(
            world.bus.name(topic), **returns.options(), group_id=group, auto_offset_reset="earliest"
        )
        try:
            await consumer.start()
            await consumer.getmany(timeout_ms=5000)
        finally:
            await consumer.stop()

    with pytest.raises(TopicAuthorizationFailedError):  # reading what is not its own
        await consume(Topic.LOAN_EVENTS, f"{world.prefix}pulse.returns.{Topic.LOAN_EVENTS}")
    with pytest.raises(GroupAuthorizationFailedError):  # taking another service's place in its group
        await consume(Topic.SNAPSHOTS, f"{world.prefix}pulse.aggregator.{Topic.SNAPSHOTS}")


async def test_a_wrong_password_gets_no_connection(secured: World) -> None:
    producer = AIOKafkaProducer(**signed_in_as("returns", password=uuid.uuid4().hex).options())
    with pytest.raises(KafkaError):
        await producer.start()
    await producer.stop()


async def test_a_right_the_policy_no_longer_gives_is_taken_away(secured: World) -> None:
    world = secured
    policy = spec_of(world.prefix, {})
    forged = f"allow {user_of('returns')} TOPIC LITERAL {world.bus.name(Topic.LOAN_EVENTS)} WRITE"
    await apply([*policy, forged])  # an old, wider policy
    producer = AIOKafkaProducer(**signed_in_as("returns").options(), acks="all", enable_idempotence=True)
    await producer.start()
    try:
        await producer.send_and_wait(world.bus.name(Topic.LOAN_EVENTS), b"{}")  # allowed for now
    finally:
        await producer.stop()
    await apply(policy)  # the policy as it is

    producer = AIOKafkaProducer(**signed_in_as("returns").options(), acks="all", enable_idempotence=True)
    await producer.start()
    try:
        with pytest.raises(TopicAuthorizationFailedError):
            await producer.send_and_wait(world.bus.name(Topic.LOAN_EVENTS), b"{}")
        await producer.send_and_wait(world.bus.name(Topic.RETURNS), b"{}")  # its own rights stay
    finally:
        await producer.stop()
