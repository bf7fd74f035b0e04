"""Producing to and reading from the real broker in tests."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from shared.events.envelope import dumps
from shared.topics import PARTITIONS, TOPIC_CONFIGS, Topic, topic_name


async def create_topics(bootstrap: str, prefix: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [
                NewTopic(
                    topic_name(t, prefix), num_partitions=n, replication_factor=1, topic_configs=TOPIC_CONFIGS.get(t)
                )
                for t, n in PARTITIONS.items()
            ]
        )
    except TopicAlreadyExistsError:
        pass
    finally:
        await admin.close()


async def delete_topics(bootstrap: str, prefix: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.delete_topics([topic_name(t, prefix) for t in PARTITIONS])
    except Exception:  # noqa: S110  # best effort clean-up
        pass
    finally:
        await admin.close()


@dataclass
class Received:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: dict[str, bytes]


class Bus:
    """The broker as a test sees it: raw publishes, and reads of whole topics from the beginning."""

    def __init__(self, bootstrap: str, prefix: str) -> None:
        self.bootstrap = bootstrap
        self.prefix = prefix
        self._producer: AIOKafkaProducer | None = None

    def name(self, topic: Topic) -> str:
        return topic_name(topic, self.prefix)

    async def producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            self._producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all", enable_idempotence=True)
            await self._producer.start()
        return self._producer

    async def close(self) -> None:
        if self._producer is not None:
            await self._producer.stop()

    async def send_raw(
        self,
        topic: Topic,
        value: bytes | None,
        key: str | None = None,
        headers: Sequence[tuple[str, bytes]] = (),
    ) -> None:
        producer = await self.producer()
        await producer.send_and_wait(self.name(topic), value, key=key.encode() if key else None, headers=list(headers))

    async def send(self, topic: Topic, envelope: dict[str, Any], key: str | None = None) -> None:
        await self.send_raw(topic, dumps(envelope), key)

    async def read_until(
        self,
        topic: Topic,
        done: Callable[[list[Received]], bool],
        *,
        timeout: float = 30.0,
    ) -> list[Received]:
        """Read `topic` from its beginning until `done(records so far)` holds; fail after `timeout` s."""
        consumer = AIOKafkaConsumer(
            self.name(topic),
            bootstrap_servers=self.bootstrap,
            group_id=f"test-reader-{uuid.uuid4().hex[:8]}",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        seen: list[Received] = []
        deadline = time.monotonic() + timeout
        try:
            while not done(seen):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"{topic}: condition not met within {timeout} s; got {len(seen)} records")
                batches = await consumer.getmany(timeout_ms=int(min(remaining, 1.0) * 1000))
                for records in batches.values():
                    seen.extend(
                        Received(r.topic, r.partition, r.offset, r.key, r.value, dict(r.headers or ())) for r in records
                    )
            return seen
        finally:
            await consumer.stop()


async def eventually(check: Callable[[], Any], *, timeout: float = 30.0, interval: float = 0.2) -> Any:
    """Await `check()` (sync or async) until it returns a truthy value; fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s (last value: {last!r})")
