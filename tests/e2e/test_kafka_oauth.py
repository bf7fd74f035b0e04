"""Kafka's OAUTHBEARER: a service signs in to the brokers with its OAuth client's tokens from the bank's
OpenID Connect provider (the client credentials grant), and the brokers check each token against the
provider's published keys, issuer and audience. A real Keycloak, and a second local broker (the same jars,
deploy/local/kafka.sh with PULSE_LOCAL_KAFKA_DIR) whose SASL_SSL listener validates tokens through the
realm's JWKS; the principal is the token's client id (`azp`), so the ACLs are shared/kafka/access.py's."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.abc import AbstractTokenProvider
from aiokafka.errors import KafkaError, TopicAuthorizationFailedError
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.kafka.access import READS, spec, user_of
from shared.kafka.connection import KafkaConnection
from shared.topics import Topic, consumer_group, topic_name
from tests.support.kafka import Bus, create_topics
from tests.support.keycloak import Realm, keycloak, realm  # noqa: F401  # fixtures
from tests.support.processes import ServiceProcess
from tests.support.stack import NATIVE_KAFKA_CA, ROOT, Stack, free_port, scratch_database

pytestmark = pytest.mark.e2e

AUDIENCE = "pulse-kafka"
SCRIPT = ROOT / "deploy/local/kafka.sh"


@dataclass
class OAuthBroker:
    plaintext: str  # anonymous super users: the test, standing in for upstream systems and operators
    secured: str  # SASL_SSL, SCRAM-SHA-512 or OAUTHBEARER
    realm: Realm
    secrets: dict[str, str]  # each service's OAuth client secret
    env: dict[str, str]  # the script's settings for this broker

    def connection(self, service: str, *, client_id: str | None = None, secret: str | None = None) -> KafkaConnection:
        return KafkaConnection(
            self.secured,
            "SASL_SSL",
            "OAUTHBEARER",
            ca_file=str(NATIVE_KAFKA_CA),
            oauth_token_url=self.realm.token_url,
            oauth_client_id=client_id or user_of(service),
            oauth_client_secret=secret or self.secrets[service],
        )

    def refusals(self) -> list[str]:
        """The broker's log lines of tokens it refused, oldest first."""
        log = Path(self.env["PULSE_LOCAL_KAFKA_DIR"]) / "kafka.log"
        return [line for line in log.read_text(errors="replace").splitlines() if "WARN Could not validate" in line]

    def script(self, *args: str, spec_text: str | None = None) -> None:
        subprocess.run(
            [str(SCRIPT), *args], input=spec_text, env=self.env, check=True, capture_output=True, text=True, timeout=300
        )


@pytest.fixture(scope="module")
async def broker(
    stack: Stack,
    realm: Realm,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[OAuthBroker]:
    if stack.kafka_secured is None:
        pytest.skip("the second broker is the native stack's (deploy/local/kafka.sh); it needs its CA and jars")
    secrets = {s: await realm.add_service_client(user_of(s), audience=AUDIENCE) for s in READS}
    port, controller, sasl = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "PULSE_LOCAL_KAFKA_DIR": str(tmp_path_factory.mktemp("kafka-oauth")),
        "PULSE_LOCAL_KAFKA_PORT": str(port),
        "PULSE_LOCAL_KAFKA_CONTROLLER_PORT": str(controller),
        "PULSE_LOCAL_KAFKA_SASL_PORT": str(sasl),
        "PULSE_LOCAL_KAFKA_OAUTH_JWKS_URL": realm.jwks_url,
        "PULSE_LOCAL_KAFKA_OAUTH_ISSUER": realm.issuer,
        "PULSE_LOCAL_KAFKA_OAUTH_AUDIENCE": AUDIENCE,
        "KAFKA_HEAP_OPTS": "-Xms128m -Xmx384m",
    }
    the_broker = OAuthBroker(f"127.0.0.1:{port}", f"127.0.0.1:{sasl}", realm, secrets, env)
    await asyncio.to_thread(the_broker.script, "start")
    try:
        yield the_broker
    finally:
        await asyncio.to_thread(the_broker.script, "stop")


@pytest.fixture
async def prefix(broker: OAuthBroker) -> str:
    """A topic prefix of the test's own on the broker, with every service's ACLs on it (kafka.sh access)."""
    the_prefix = f"t{uuid.uuid4().hex[:10]}-"
    await create_topics(broker.plaintext, the_prefix)
    await asyncio.to_thread(broker.script, "access", spec_text="\n".join(spec(the_prefix, {})) + "\n")
    return the_prefix


async def test_a_service_signs_in_with_its_clients_token_and_uses_only_its_own_topics(
    broker: OAuthBroker, prefix: str
) -> None:
    returns = broker.connection("returns")
    producer = AIOKafkaProducer(**returns.options(), acks="all", enable_idempotence=True)
    await producer.start()
    try:
        await producer.send_and_wait(topic_name(Topic.RETURNS, prefix), b"{}")  # its own
        with pytest.raises(TopicAuthorizationFailedError):  # forging an upstream event
            await producer.send_and_wait(topic_name(Topic.LOAN_EVENTS, prefix), b"{}")
    finally:
        await producer.stop()

    bus = Bus(broker.plaintext, prefix)
    await bus.send_raw(Topic.SNAPSHOTS, b"a snapshot")
    await bus.close()
    consumer = AIOKafkaConsumer(
        topic_name(Topic.SNAPSHOTS, prefix),
        **returns.options(),
        group_id=consumer_group("returns", Topic.SNAPSHOTS, prefix),
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        record = await asyncio.wait_for(consumer.getone(), 30)
    finally:
        await consumer.stop()
    assert record.value == b"a snapshot"


class StaticToken(AbstractTokenProvider):  # type: ignore[misc]
    """One given token, whatever the provider would say."""

    def __init__(self, token: str) -> None:
        self._token = token

    async def token(self) -> str:
        return self._token


async def forged(provider: Realm) -> str:
    """A token in the provider's name for `pulse-returns` and Kafka, naming the provider's own signing key
    but signed with another."""
    async with httpx.AsyncClient(timeout=30) as http:
        published = (await http.get(provider.jwks_url)).json()["keys"]
    kid = next(k["kid"] for k in published if k.get("use") == "sig" and k.get("alg") == "RS256")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    claims = {
        "iss": provider.issuer,
        "aud": AUDIENCE,
        "azp": user_of("returns"),
        "sub": "x",
        "iat": now,
        "exp": now + 300,
    }
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


async def sign_in_and_send(options: dict[str, Any], topic: str) -> None:
    producer = AIOKafkaProducer(**options)
    try:
        await producer.start()
        await producer.send_and_wait(topic, b"{}")
    finally:
        await producer.stop()


async def refusal(broker: OAuthBroker, prefix: str, options: dict[str, Any]) -> str:
    """Why the broker refused the token of a client with `options` (its log says; the client only sees its
    requests fail)."""
    before = broker.refusals()
    with pytest.raises(KafkaError):
        await sign_in_and_send(options | {"request_timeout_ms": 5000}, topic_name(Topic.RETURNS, prefix))
    refused = broker.refusals()[len(before) :]
    assert refused, "the broker logged no refused token"
    return refused[0]


async def test_a_token_for_another_audience_or_not_signed_by_the_provider_is_refused(
    broker: OAuthBroker, prefix: str
) -> None:
    another_app = f"another-app-{uuid.uuid4().hex[:6]}"
    another_secret = await broker.realm.add_service_client(another_app, audience="another-api")
    another_audience = broker.connection("returns", client_id=another_app, secret=another_secret).options()
    assert "Expected pulse-kafka as an aud value" in await refusal(broker, prefix, another_audience)

    forgery = broker.connection("returns").options() | {
        "sasl_oauth_token_provider": StaticToken(await forged(broker.realm))
    }
    assert "signature" in (await refusal(broker, prefix, forgery)).lower()


async def test_a_wrong_client_secret_gets_no_token_and_no_connection(broker: OAuthBroker, prefix: str) -> None:
    producer = AIOKafkaProducer(**broker.connection("returns", secret=uuid.uuid4().hex).options())
    with pytest.raises(httpx.HTTPStatusError, match="401"):
        await producer.start()
    await producer.stop()


async def test_the_returns_service_runs_on_oauthbearer(
    broker: OAuthBroker, prefix: str, stack: Stack, tmp_path: Path
) -> None:
    """The service's FastStream consumers and its producer sign in with its client's tokens: it reads a record
    from `snapshots` in its own group and dead-letters it (it is not a snapshot) on `dead-letters`."""
    async with scratch_database(stack.database_url, "pulse_toauth") as url:
        env = {
            "DATABASE_URL": url,
            "KAFKA_BOOTSTRAP_SERVERS": broker.secured,
            "PULSE_TOPIC_PREFIX": prefix,
            "PULSE_DEV_MODE": "true",
            "PULSE_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "PULSE_KAFKA_SASL_MECHANISM": "OAUTHBEARER",
            "PULSE_KAFKA_SSL_CA_FILE": str(NATIVE_KAFKA_CA),
            "PULSE_KAFKA_OAUTH_TOKEN_URL": broker.realm.token_url,
            "PULSE_KAFKA_OAUTH_CLIENT_ID": user_of("returns"),
            "PULSE_KAFKA_OAUTH_CLIENT_SECRET": broker.secrets["returns"],
        }
        service = ServiceProcess("returns", env, tmp_path).start()
        bus = Bus(broker.plaintext, prefix)
        try:
            await bus.send_raw(Topic.SNAPSHOTS, b"not a snapshot")
            dead = await bus.read_until(Topic.DEAD_LETTERS, lambda records: len(records) >= 1, timeout=60)
        finally:
            await bus.close()
            service.stop()
        assert [d.value for d in dead] == [b"not a snapshot"]
        assert dead[0].headers["x-error-code"] == b"invalid_json"
        assert dead[0].headers["x-original-topic"] == topic_name(Topic.SNAPSHOTS, prefix).encode()
        assert dead[0].headers["x-consumer-group"] == consumer_group("returns", Topic.SNAPSHOTS, prefix).encode()
