"""What every Pulse service process is: FastStream Kafka subscribers feeding the batch pipeline, one asyncpg
pool, one idempotent producer with its outbox relay, background jobs, and an HTTP side serving `/healthz`
and `/metrics` (FastStream's Prometheus middleware metrics and ours, in one registry).

The broker also declares what the service publishes and what each subscriber reads (`shared.asyncapi`), so
that FastStream's AsyncAPI generator documents every topic and event (`deploy/asyncapi/generate.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import asyncpg
import uvicorn
from aiokafka import AIOKafkaConsumer, TopicPartition
from faststream.asgi import AsgiFastStream, AsgiResponse, get
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from faststream.middlewares import AckPolicy
from prometheus_client import make_asgi_app
from pydantic import SkipValidation

from shared import db
from shared.asyncapi import DEAD_LETTER_PUBLICATION, Publication, declare_publications, message_schema
from shared.events.envelope import dumps
from shared.kafka.deadletter import InboundRecord
from shared.kafka.lag import LagExporter
from shared.kafka.outbox import OutboxRelay
from shared.kafka.pipeline import Consumer, Handler, UnitOfWork, unit_of_work
from shared.kafka.producer import Producer
from shared.logging import configure_logging, get_logger
from shared.metrics import DB_POOL_IN_USE, DB_POOL_SIZE, REGISTRY
from shared.settings import Settings, get_settings
from shared.topics import Topic, consumer_group, topic_name

log = get_logger(__name__)

Job = Callable[["Service"], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Subscription:
    topic: Topic
    handler: Handler
    description: str = ""
    """What the service does with the topic, for the AsyncAPI document."""
    event_types: frozenset[str] | None = None
    """The event types the handler uses, if not all of the topic's (`pipeline.Consumer.wanted`)."""


# How often the outbox is checked for events nobody relayed.
RELAY_LEFTOVERS_SECONDS = 2.0


def group_of(service: str, topic: Topic, settings: Settings) -> str:
    """The consumer group of `service`'s subscriber of `topic` in the environment of `settings`."""
    prefix = settings.group_prefix if settings.group_prefix is not None else settings.topic_prefix
    return consumer_group(service, topic, prefix)


class Service:
    """Wiring of one service; `__main__.py` of each service builds one and calls `run()`."""

    def __init__(
        self,
        name: str,
        *,
        port: int,
        migrations: Path | None,
        subscriptions: Sequence[Subscription] = (),
        publications: Sequence[Publication] = (),
        jobs: Sequence[Job] = (),
        settings: Settings | None = None,
    ) -> None:
        self.name = name
        self.schema = name
        self.port = port
        self.migrations = migrations
        self.settings = settings or get_settings()
        self.jobs = list(jobs)
        self._pool: asyncpg.Pool | None = None
        self._relay: OutboxRelay | None = None
        kafka = self.settings.kafka()
        self.producer = Producer(kafka, client_id=f"pulse-{name}", service=name)
        self.broker = KafkaBroker(
            kafka.bootstrap_servers,
            **kafka.faststream(),
            client_id=f"pulse-{name}",
            middlewares=(KafkaPrometheusMiddleware(registry=REGISTRY, app_name=name),),
            acks="all",
            enable_idempotence=True,
            logger=get_logger(f"faststream.{name}"),
        )
        self._subscriptions: dict[str, Subscription] = {}  # by consumer group
        self._consumers: dict[str, Consumer] = {}  # by consumer group, built at start-up
        self._tasks: list[asyncio.Task[None]] = []
        self._lag: LagExporter | None = None
        self._started_at: float | None = None
        for subscription in subscriptions:
            self._subscribe(subscription)
        if subscriptions:
            # Every consumer dead-letters what it rejects (shared.kafka.pipeline).
            publications = [*publications, DEAD_LETTER_PUBLICATION]
        self.publications = list(publications)
        declare_publications(self.broker, name, publications, self.settings.topic_prefix)
        self.app = AsgiFastStream(
            self.broker,
            asgi_routes=[("/metrics", make_asgi_app(REGISTRY)), ("/healthz", self._healthz_route())],
            on_startup=[self._on_startup],
            after_startup=[self._after_startup],
            on_shutdown=[self._on_shutdown],
            logger=get_logger(f"faststream.{name}"),
        )

    # -- resources -------------------------------------------------------------------------------------
    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("the service has not started")
        return self._pool

    @property
    def relay(self) -> OutboxRelay:
        if self._relay is None:
            raise RuntimeError("the service has not started")
        return self._relay

    def unit_of_work(self) -> AbstractAsyncContextManager[UnitOfWork]:
        """A transaction for a background job, with the one way to emit events (`UnitOfWork.emit`)."""
        return unit_of_work(
            self.pool, self.relay, schema=self.schema, prefix=self.settings.topic_prefix, source=self.name
        )

    @property
    def subscribed_topics(self) -> set[Topic]:
        return {s.topic for s in self._subscriptions.values()}

    def consumer_group(self, topic: Topic) -> str:
        return group_of(self.name, topic, self.settings)

    def _subscribe(self, subscription: Subscription) -> None:
        group = self.consumer_group(subscription.topic)
        self._subscriptions[group] = subscription

        async def consume(body: Any, message: KafkaMessage) -> None:
            # Offsets are committed by the pipeline, per batch, after its transaction (not by FastStream's ack,
            # which commits the consumer's position: past batches still in flight).
            records = message.raw_message if isinstance(message.raw_message, tuple) else (message.raw_message,)
            offsets = KafkaOffsets(cast(AIOKafkaConsumer, message.consumer))
            await self._consumers[group].take([_inbound(r) for r in records], offsets)

        consume.__name__ = f"{self.name}_{subscription.topic.replace('-', '_')}"
        # `body` is always None (see `_undecoded`); its type only documents the payload in the AsyncAPI schema.
        consume.__annotations__ = {
            "body": SkipValidation[message_schema(subscription.topic)],  # type: ignore[misc]
            "message": KafkaMessage,
            "return": None,
        }
        self.broker.subscriber(
            topic_name(subscription.topic, self.settings.topic_prefix),
            title=f"{self.name}:consumes:{subscription.topic}",
            description=subscription.description or f"Consumed by {self.name} (consumer group {group}).",
            group_id=group,
            batch=True,
            max_records=self.settings.batch_max_records,
            batch_timeout_ms=self.settings.batch_timeout_ms,
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.MANUAL,
            max_poll_interval_ms=30 * 60 * 1000,
            decoder=_undecoded,
        )(consume)

    # -- lifecycle -------------------------------------------------------------------------------------
    async def _on_startup(self) -> None:
        s = self.settings
        self._pool = await db.create_pool(s.database_url, min_size=s.db_pool_min, max_size=s.db_pool_max)
        if self.migrations is not None or self._subscriptions:
            await db.migrate_at(s.migration_database_url or s.database_url, self.schema, self.migrations)
        await self.producer.start()
        relay = self._relay = OutboxRelay(self._pool, self.schema, self.producer, prefix=s.topic_prefix)
        # Built here, with what they use: the broker delivers nothing before start-up has finished.
        self._consumers = {
            group: Consumer(
                service=self.name,
                schema=self.schema,
                group=group,
                topic=subscription.topic,
                handler=subscription.handler,
                pool=self._pool,
                producer=self.producer,
                relay=relay,
                prefix=s.topic_prefix,
                retry_initial=s.retry_initial_seconds,
                retry_max=s.retry_max_seconds,
                poison_attempts=s.poison_attempts,
                wanted=subscription.event_types,
                bounds=s.event_bounds(),
            )
            for group, subscription in self._subscriptions.items()
        }
        # Output events committed before a crash go out before anything new is consumed.
        if self._subscriptions:
            await relay.flush()

    async def _after_startup(self) -> None:
        self._started_at = time.time()
        self._tasks = [
            asyncio.create_task(self._run_job(job), name=getattr(job, "__name__", "job")) for job in self.jobs
        ]
        self._tasks.append(asyncio.create_task(self._export_pool_stats(), name="pool-stats"))
        self._tasks.append(asyncio.create_task(self._relay_leftovers(), name="outbox-leftovers"))
        if self._consumers:
            prefix = self.settings.topic_prefix
            self._lag = LagExporter(
                self.name,
                self.settings.kafka(),
                {c.group: topic_name(c.topic, prefix) for c in self._consumers.values()},
            )
            self._tasks.append(asyncio.create_task(self._lag.run(), name="consumer-lag"))
        log.info("service started", port=self.port, subscriptions=list(self._consumers))

    async def _on_shutdown(self) -> None:
        for consumer in self._consumers.values():
            # The batch in flight finishes and commits its offsets (or is read again by the next owner).
            with contextlib.suppress(Exception):
                await asyncio.wait_for(consumer.drain(), timeout=10)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._lag is not None:
            await self._lag.close()
        await self.broker.stop()
        await self.producer.stop()
        if self._pool is not None:
            await self._pool.close()

    async def _run_job(self, job: Job) -> None:
        # A job that dies is restarted: a scheduler that silently stops is worse than one that crashed.
        while True:
            try:
                await job(self)
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("background job failed; restarting it in 5 s", job=getattr(job, "__name__", "job"))
                await asyncio.sleep(5)

    async def _export_pool_stats(self) -> None:
        while True:
            if self._pool is not None:
                stats = db.pool_stats(self._pool)
                DB_POOL_SIZE.labels(self.name).set(stats["size"])
                DB_POOL_IN_USE.labels(self.name).set(stats["in_use"])
            await asyncio.sleep(5)

    async def _relay_leftovers(self) -> None:
        # Whoever stages events relays them after its commit; this sends what a failed relay left behind,
        # and what a replica's relay skipped while another held the outbox.
        while True:
            await asyncio.sleep(RELAY_LEFTOVERS_SECONDS)
            self.relay.flush_soon()

    def _healthz_route(self) -> Any:
        @get(include_in_schema=False)
        async def healthz(scope: Any) -> AsgiResponse:
            started = self._started_at is not None
            body = {"status": "ok" if started else "starting", "service": self.name}
            return AsgiResponse(dumps(body), 200 if started else 503, headers={"content-type": "application/json"})

        return healthz

    # -- running ---------------------------------------------------------------------------------------
    def run(self) -> None:
        configure_logging(self.name, self.settings.log_level)
        config = uvicorn.Config(
            self.app,
            host=self.settings.http_host,
            port=self.port,
            log_config=None,
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=10,
        )
        uvicorn.Server(config).run()


async def _undecoded(message: Any) -> Any:
    # The pipeline parses the raw bytes itself: bad input must reach it to be dead-lettered.
    return None


class KafkaOffsets:
    """`pipeline.Offsets` over the aiokafka consumer that read the batch."""

    def __init__(self, consumer: AIOKafkaConsumer) -> None:
        self.consumer = consumer

    async def commit(self, offsets: Mapping[tuple[str, int], int]) -> None:
        await self.consumer.commit({TopicPartition(t, p): o for (t, p), o in offsets.items()})

    def rewind(self, offsets: Mapping[tuple[str, int], int]) -> None:
        for (topic, partition), offset in offsets.items():
            self.consumer.seek(TopicPartition(topic, partition), offset)


def _inbound(record: Any) -> InboundRecord:
    return InboundRecord(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=record.key,
        value=record.value,
        headers=tuple((k, bytes(v)) for k, v in (record.headers or ())),
        timestamp_ms=record.timestamp,
    )
