"""How far a consumer group is behind: committed offsets against the partitions' end offsets."""

from __future__ import annotations

import asyncio
import time

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared.retry import WaitAndRetry


async def _ends(admin: AIOKafkaAdminClient, consumer: AIOKafkaConsumer, topic: str) -> dict[int, int]:
    described = await admin.describe_topics([topic])
    partitions = [TopicPartition(topic, p["partition"]) for d in described for p in d["partitions"]]
    return {tp.partition: end for tp, end in (await consumer.end_offsets(partitions)).items()}


async def _committed(admin: AIOKafkaAdminClient, group: str, topic: str) -> dict[int, int]:
    offsets = await admin.list_consumer_group_offsets(group)
    return {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == topic and meta.offset >= 0}


def _behind(ends: dict[int, int], committed: dict[int, int]) -> int:
    return sum(max(end - committed.get(p, 0), 0) for p, end in ends.items())


async def group_lag(bootstrap: str, group: str, topic: str) -> int | None:
    """Records of `topic` the group has not committed yet; None if the group has committed nothing."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await admin.start()
    await consumer.start()
    try:
        committed = await _committed(admin, group, topic)
        ends = await _ends(admin, consumer, topic)
        if not committed and any(ends.values()):
            return None
        return _behind(ends, committed)
    finally:
        await consumer.stop()
        await admin.close()


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


class NotCaughtUp(WaitAndRetry):
    """The group is behind: the batch waiting for it is retried with backoff."""


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
                    self._targets[key] = await _ends(admin, consumer, self.topic)
                finally:
                    await consumer.stop()
            behind = _behind(self._targets[key], await _committed(admin, self.group, self.topic))
        finally:
            await admin.close()
        if behind:
            raise NotCaughtUp(f"{self.group} is {behind} records behind {self.topic} as of {key}")
        del self._targets[key]
