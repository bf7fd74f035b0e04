"""Kafka's SASL_SSL listener, where every test's services sign in, each as its own SCRAM user over TLS (a CA
of the checkout's own), allowed its own topics only (shared/kafka/access.py; tests/support/stack.py's
`SecuredKafka` grants them per test): a service is refused a topic or a consumer group that is not its own,
a wrong password gets no connection, and a right the policy no longer gives is taken away on the broker."""

from __future__ import annotations

import asyncio
import subprocess
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import GroupAuthorizationFailedError, KafkaError, TopicAuthorizationFailedError

from shared.kafka.access import DEV_PASSWORD, user_of
from shared.kafka.access import spec as spec_of
from shared.kafka.connection import KafkaConnection
from shared.topics import Topic
from tests.conftest import World
from tests.support.stack import ROOT, SecuredKafka

pytestmark = pytest.mark.e2e


@pytest.fixture
def secured(world: World) -> World:
    """`world`, whose services are on the SASL_SSL listener (the native local broker's)."""
    if world.stack.kafka_secured is None:
        pytest.skip("the SASL_SSL listener is the native local broker's (deploy/local/kafka.sh)")
    return world


async def apply(lines: list[str]) -> None:
    """Users and ACLs on the broker, as `make up` applies them (deploy/local/kafka.sh access)."""
    spec = "\n".join(lines) + "\n"
    await asyncio.to_thread(
        subprocess.run, [str(ROOT / "deploy/local/kafka.sh"), "access"], input=spec, check=True, text=True, cwd=ROOT
    )


def signed_in_as(world: World, service: str, password: str = DEV_PASSWORD) -> KafkaConnection:
    kafka: SecuredKafka | None = world.stack.kafka_secured
    assert kafka is not None
    return KafkaConnection(
        kafka.bootstrap, "SASL_SSL", "SCRAM-SHA-512", user_of(service), password, ca_file=str(kafka.ca_file)
    )


async def test_a_service_is_refused_the_topics_and_groups_of_others(secured: World) -> None:
    world = secured
    returns = signed_in_as(world, "returns")
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
    producer = AIOKafkaProducer(**signed_in_as(secured, "returns", password=uuid.uuid4().hex).options())
    with pytest.raises(KafkaError):
        await producer.start()
    await producer.stop()


async def test_a_right_the_policy_no_longer_gives_is_taken_away(secured: World) -> None:
    world = secured
    policy = spec_of(world.prefix, {})
    forged = f"allow {user_of('returns')} TOPIC LITERAL {world.bus.name(Topic.LOAN_EVENTS)} WRITE"
    await apply([*policy, forged])  # an old, wider policy
    producer = AIOKafkaProducer(**signed_in_as(world, "returns").options(), acks="all", enable_idempotence=True)
    await producer.start()
    try:
        await producer.send_and_wait(world.bus.name(Topic.LOAN_EVENTS), b"{}")  # allowed for now
    finally:
        await producer.stop()
    await apply(policy)  # the policy as it is

    producer = AIOKafkaProducer(**signed_in_as(world, "returns").options(), acks="all", enable_idempotence=True)
    await producer.start()
    try:
        with pytest.raises(TopicAuthorizationFailedError):
            await producer.send_and_wait(world.bus.name(Topic.LOAN_EVENTS), b"{}")
        await producer.send_and_wait(world.bus.name(Topic.RETURNS), b"{}")  # its own rights stay
    finally:
        await producer.stop()
