"""How far a consumer group is behind: committed offsets against the partitions' end offsets."""

from __future__ import annotations

import asyncio
import time

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient


async def group_lag(bootstrap: str, group: str, topic: str) -> int | None:
    """Records of `topic` the group has not committed yet; None if the group has committed nothing."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await admin.start()
    await consumer.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
        partitions = [TopicPartition(topic, p) for p in (await _partitions(admin, topic))]
        ends = await consumer.end_offsets(partitions)
        mine = {tp: meta.offset for tp, meta in committed.items() if tp.topic == topic and meta.offset >= 0}
        if not mine and any(ends.values()):
            return None
        return int(sum(max(end - mine.get(tp, 0), 0) for tp, end in ends.items()))
    finally:
        await consumer.stop()
        await admin.close()


async def _partitions(admin: AIOKafkaAdminClient, topic: str) -> list[int]:
    described = await admin.describe_topics([topic])
    return sorted(p["partition"] for d in described for p in d["partitions"])


async def wait_caught_up(bootstrap: str, group: str, topic: str, *, within: float, every: float = 1.0) -> int | None:
    """Wait until the group has committed everything in `topic`; the last lag seen (0 when caught up)."""
    deadline = time.monotonic() + within
    lag: int | None = None
    while time.monotonic() < deadline:
        lag = await group_lag(bootstrap, group, topic)
        if lag == 0:
            return 0
        await asyncio.sleep(every)
    return lag


class NotCaughtUp(Exception):  # noqa: N818  # a condition to wait for, not an error
    """Raised to wait: transient, so the consumer pipeline retries the batch with backoff."""


class IngestBarrier:
    """Lets a handler wait until a consumer group has committed everything a topic held when an event was
    first seen. The target is fixed per event, so a live stream never makes the wait chase its tail."""

    def __init__(self, bootstrap: str, group: str, topic: str) -> None:
        self.bootstrap = bootstrap
        self.group = group
        self.topic = topic
        self._targets: dict[str, dict[int, int]] = {}

    async def wait(self, key: str) -> None:
        """Return once the group is past the topic's end as first seen for `key`; else raise NotCaughtUp."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await admin.start()
        try:
            if key not in self._targets:
                consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None, enable_auto_commit=False)
                await consumer.start()
                try:
                    partitions = [TopicPartition(self.topic, p) for p in await _partitions(admin, self.topic)]
                    ends = await consumer.end_offsets(partitions)
                finally:
                    await consumer.stop()
                self._targets[key] = {tp.partition: end for tp, end in ends.items()}
            committed = {
                tp.partition: meta.offset
                for tp, meta in (await admin.list_consumer_group_offsets(self.group)).items()
                if tp.topic == self.topic
            }
        finally:
            await admin.close()
        behind = sum(max(end - committed.get(p, 0), 0) for p, end in self._targets[key].items())
        if behind:
            raise NotCaughtUp(f"{self.group} is {behind} records behind {self.topic} as of {key}")
        del self._targets[key]
