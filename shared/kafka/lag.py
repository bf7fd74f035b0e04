"""How far a consumer group is behind: committed offsets against the partitions' end offsets. One definition
(`behind_on`) for the exported metric, the close's ingest barrier and the waits of tools and tests."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Mapping

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import OffsetAndMetadata

from shared.kafka.connection import KafkaConnection
from shared.logging import get_logger
from shared.metrics import CONSUMER_LAG
from shared.retry import WaitAndRetry

log = get_logger(__name__)


# How often a service reads its consumer groups' lag from the broker.
LAG_INTERVAL_SECONDS = 5.0


def behind_on(end: int, committed: int | None, start: int) -> int:
    """Records of one partition a group has yet to take: the partition's end offset minus the group's
    committed offset, or minus the log start offset if the group has committed nothing there (consumers
    start from the earliest offset, and records before the log start are gone)."""
    return max(end - (committed if committed is not None else start), 0)


def _offsets(committed: Mapping[TopicPartition, OffsetAndMetadata]) -> dict[TopicPartition, int]:
    return {tp: meta.offset for tp, meta in committed.items() if meta.offset >= 0}


async def _partitions(admin: AIOKafkaAdminClient, *topics: str) -> list[TopicPartition]:
    """The partitions of `topics` (of those that exist), sorted."""
    described = await admin.describe_topics(sorted(set(topics)))
    found = (
        TopicPartition(d["topic"], p["partition"]) for d in described if not d["error_code"] for p in d["partitions"]
    )
    return sorted(found, key=lambda tp: (tp.topic, tp.partition))


@contextlib.asynccontextmanager
async def _clients(kafka: KafkaConnection) -> AsyncIterator[tuple[AIOKafkaAdminClient, AIOKafkaConsumer]]:
    """A short-lived admin client and group-less consumer, for one reading of offsets."""
    admin = AIOKafkaAdminClient(**kafka.options())
    consumer = AIOKafkaConsumer(**kafka.options(), group_id=None, enable_auto_commit=False)
    await admin.start()
    try:
        await consumer.start()
        try:
            yield admin, consumer
        finally:
            await consumer.stop()
    finally:
        await admin.close()


async def _behind(
    admin: AIOKafkaAdminClient,
    consumer: AIOKafkaConsumer,
    group: str,
    topic: str,
    ends: Mapping[TopicPartition, int] | None = None,
) -> tuple[int, bool]:
    """(records of `topic` the group has yet to take, whether it has committed anything there)."""
    partitions = list(ends) if ends is not None else await _partitions(admin, topic)
    ends = ends if ends is not None else await consumer.end_offsets(partitions)
    committed = _offsets(await admin.list_consumer_group_offsets(group, partitions=partitions))
    starts = await consumer.beginning_offsets(partitions) if len(committed) < len(partitions) else {}
    return sum(behind_on(ends[tp], committed.get(tp), starts.get(tp, 0)) for tp in partitions), bool(committed)


async def group_lag(kafka: KafkaConnection, group: str, topic: str) -> int | None:
    """Records of `topic` the group has not committed yet; None if the group has committed nothing."""
    async with _clients(kafka) as (admin, consumer):
        behind, committed = await _behind(admin, consumer, group, topic)
    return behind if committed or not behind else None


async def wait_caught_up(
    kafka: KafkaConnection, group: str, topic: str, *, within: float, every: float = 1.0
) -> int | None:
    """Wait until the group has committed everything in `topic`; the last lag seen (0 when caught up)."""
    deadline = time.monotonic() + within
    lag: int | None = None
    while time.monotonic() < deadline:
        lag = await group_lag(kafka, group, topic)
        if lag == 0:
            return 0
        await asyncio.sleep(every)
    return lag


class NotCaughtUp(WaitAndRetry):
    """The group is behind: the batch waiting for it is retried with backoff."""


class IngestBarrier:
    """Lets a handler wait until a consumer group has committed everything a topic held when an event was
    first seen. The target is fixed per event, so a live stream never makes the wait chase its tail."""

    def __init__(self, kafka: KafkaConnection, group: str, topic: str) -> None:
        self.kafka = kafka
        self.group = group
        self.topic = topic
        self._targets: dict[str, dict[TopicPartition, int]] = {}

    async def wait(self, key: str) -> None:
        """Return once the group is past the topic's end as first seen for `key`; else raise NotCaughtUp."""
        async with _clients(self.kafka) as (admin, consumer):
            if key not in self._targets:
                self._targets[key] = await consumer.end_offsets(await _partitions(admin, self.topic))
            behind, _ = await _behind(admin, consumer, self.group, self.topic, self._targets[key])
        if behind:
            raise NotCaughtUp(f"{self.group} is {behind} records behind {self.topic} as of {key}")
        del self._targets[key]


class LagExporter:
    """Sets `pulse_consumer_lag{service, group, topic, partition}` every `interval` s, for each consumer group
    of a service: the partition's end offset minus the group's COMMITTED offset (minus the log start offset
    if the group has committed nothing there: the subscribers start from the earliest offset).

    The gauge's only writer, so it has one meaning; read from the broker, it also moves while a consumer is
    stuck (a batch that never finishes commits nothing) or idle (a group that fetches nothing). One admin
    client and one group-less consumer per service, made on the first tick and reused; a broker that cannot
    be reached costs a debug log line, and the next tick tries again."""

    def __init__(
        self,
        service: str,
        kafka: KafkaConnection,
        groups: Mapping[str, str],
        *,
        interval: float = LAG_INTERVAL_SECONDS,
    ) -> None:
        self.service = service
        self.kafka = kafka
        self.groups = dict(groups)  # consumer group -> the (broker-side) topic it reads
        self.interval = interval
        self._admin: AIOKafkaAdminClient | None = None
        self._consumer: AIOKafkaConsumer | None = None

    async def run(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self.export(), timeout=max(4 * self.interval, 20.0))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.debug("consumer lag not read; trying again", error=repr(exc)[:300])
            await asyncio.sleep(self.interval)

    async def export(self) -> None:
        """Read every group's lag once and set the gauges."""
        admin, consumer = await self._clients()
        partitions = await _partitions(admin, *self.groups.values())
        if not partitions:
            return
        ends = await consumer.end_offsets(partitions)
        starts: dict[TopicPartition, int] | None = None
        for group, topic in self.groups.items():
            mine = [tp for tp in partitions if tp.topic == topic]
            try:
                committed = _offsets(await admin.list_consumer_group_offsets(group, partitions=mine))
            except Exception as exc:  # e.g. the group's coordinator is still loading: the other groups go on
                log.debug("consumer group offsets not read; trying again", group=group, error=repr(exc)[:300])
                continue
            if starts is None and any(tp not in committed for tp in mine):
                starts = await consumer.beginning_offsets(partitions)
            for tp in mine:
                lag = behind_on(ends[tp], committed.get(tp), (starts or {}).get(tp, 0))
                CONSUMER_LAG.labels(self.service, group, topic, str(tp.partition)).set(lag)

    async def _clients(self) -> tuple[AIOKafkaAdminClient, AIOKafkaConsumer]:
        if self._admin is not None and self._consumer is not None:
            return self._admin, self._consumer
        client_id = f"pulse-{self.service}-lag"
        admin = AIOKafkaAdminClient(**self.kafka.options(), client_id=client_id, request_timeout_ms=10_000)
        consumer = AIOKafkaConsumer(
            **self.kafka.options(),
            client_id=client_id,
            group_id=None,
            enable_auto_commit=False,
            request_timeout_ms=10_000,
        )
        try:
            await admin.start()
            await consumer.start()
        except BaseException:
            # Not started (broker unreachable): closed, and made again on the next tick.
            await _close_quietly(admin, consumer)
            raise
        self._admin, self._consumer = admin, consumer
        return admin, consumer

    async def close(self) -> None:
        admin, consumer, self._admin, self._consumer = self._admin, self._consumer, None, None
        await _close_quietly(admin, consumer)


async def _close_quietly(admin: AIOKafkaAdminClient | None, consumer: AIOKafkaConsumer | None) -> None:
    if consumer is not None:
        with contextlib.suppress(Exception):
            await consumer.stop()
    if admin is not None:
        with contextlib.suppress(Exception):
            await admin.close()
