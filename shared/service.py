"""What every Pulse service process is: FastStream Kafka subscribers feeding the batch pipeline, one asyncpg
pool, one idempotent producer with its outbox relay, background jobs, and an HTTP side serving `/healthz`
and `/metrics` (FastStream's Prometheus middleware metrics and ours, in one registry).

The broker also declares what the service publishes (`Publication`) and what each subscriber reads, with the
envelope and data models of the topic's event types, so that FastStream's AsyncAPI generator documents every
topic and event (`deploy/asyncapi/generate.py`). The publishers are declared for the document only: output
events go through the outbox relay and `Producer`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import operator
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

import asyncpg
import uvicorn
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from faststream.asgi import AsgiFastStream, AsgiResponse, get
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from faststream.middlewares import AckPolicy
from prometheus_client import make_asgi_app
from pydantic import SkipValidation, create_model

from shared import db
from shared.events.envelope import Envelope, dumps
from shared.events.registry import DATA_MODELS
from shared.kafka.deadletter import InboundRecord
from shared.kafka.outbox import OutboxRelay
from shared.kafka.pipeline import Consumer, Handler
from shared.kafka.producer import Producer
from shared.logging import configure_logging, get_logger
from shared.metrics import CONSUMER_LAG, DB_POOL_IN_USE, DB_POOL_SIZE, REGISTRY
from shared.settings import Settings, get_settings
from shared.topics import EVENT_TYPES, Topic, consumer_group, topic_name

log = get_logger(__name__)

Job = Callable[["Service"], Awaitable[None]]


# How often the consumer lag is read from the broker (committed offsets against end offsets).
LAG_INTERVAL_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class Subscription:
    topic: Topic
    handler: Handler
    description: str = ""
    """What the service does with the topic, for the AsyncAPI document."""
    event_types: frozenset[str] | None = None
    """The event types the handler uses, if not all of the topic's (`pipeline.Consumer.wanted`)."""


@dataclass(frozen=True, slots=True)
class Publication:
    """A topic the service publishes to, declared for the AsyncAPI document only (the outbox relay publishes)."""

    topic: Topic
    description: str
    event_types: tuple[str, ...] = ()
    """The event types the service publishes there; all of the topic's (`shared.topics.EVENT_TYPES`) if empty."""


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
        self.producer = Producer(self.settings.kafka_bootstrap_servers, client_id=f"pulse-{name}", service=name)
        self.broker = KafkaBroker(
            self.settings.kafka_bootstrap_servers,
            client_id=f"pulse-{name}",
            middlewares=(KafkaPrometheusMiddleware(registry=REGISTRY, app_name=name),),
            acks="all",
            enable_idempotence=True,
            logger=get_logger(f"faststream.{name}"),
        )
        self._consumers: list[Consumer] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._lag: LagExporter | None = None
        self._started_at: float | None = None
        for subscription in subscriptions:
            self._subscribe(subscription)
        if subscriptions:
            # Every consumer dead-letters what it rejects (shared.kafka.pipeline).
            publications = [*publications, DEAD_LETTER_PUBLICATION]
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

    def consumer_group(self, topic: Topic) -> str:
        prefix = self.settings.group_prefix if self.settings.group_prefix is not None else self.settings.topic_prefix
        return consumer_group(self.name, topic, prefix)

    def _subscribe(self, subscription: Subscription) -> None:
        group = self.consumer_group(subscription.topic)
        consumer = Consumer(
            service=self.name,
            schema=self.schema,
            group=group,
            topic=subscription.topic,
            handler=subscription.handler,
            pool=None,  # type: ignore[arg-type]  # set at start-up
            producer=self.producer,
            relay=None,  # type: ignore[arg-type]
            prefix=self.settings.topic_prefix,
            retry_initial=self.settings.retry_initial_seconds,
            retry_max=self.settings.retry_max_seconds,
            poison_attempts=self.settings.poison_attempts,
            wanted=subscription.event_types,
        )
        self._consumers.append(consumer)

        async def consume(body: Any, message: KafkaMessage) -> None:
            # Offsets are committed by the pipeline, per batch, after its transaction (not by FastStream's ack,
            # which commits the consumer's position: past batches still in flight).
            records = message.raw_message if isinstance(message.raw_message, tuple) else (message.raw_message,)
            await consumer.take([_inbound(r) for r in records], KafkaOffsets(cast(AIOKafkaConsumer, message.consumer)))

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
        if self.migrations is not None or self._consumers:
            await db.migrate(self._pool, self.schema, self.migrations)
        await self.producer.start()
        relay = self._relay = OutboxRelay(self._pool, self.schema, self.producer)
        for consumer in self._consumers:
            consumer.pool = self._pool
            consumer.relay = relay
        # Output events committed before a crash go out before anything new is consumed.
        if self._consumers:
            await relay.flush()

    async def _after_startup(self) -> None:
        self._started_at = time.time()
        self._tasks = [
            asyncio.create_task(self._run_job(job), name=getattr(job, "__name__", "job")) for job in self.jobs
        ]
        self._tasks.append(asyncio.create_task(self._export_pool_stats(), name="pool-stats"))
        if self._consumers:
            prefix = self.settings.topic_prefix
            self._lag = LagExporter(
                self.name,
                self.settings.kafka_bootstrap_servers,
                {c.group: topic_name(c.topic, prefix) for c in self._consumers},
            )
            self._tasks.append(asyncio.create_task(self._lag.run(), name="consumer-lag"))
        log.info("service started", port=self.port, subscriptions=[c.group for c in self._consumers])

    async def _on_shutdown(self) -> None:
        for consumer in self._consumers:
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


# -- consumer lag ----------------------------------------------------------------------------------------------
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
        bootstrap_servers: str,
        groups: Mapping[str, str],
        *,
        interval: float = LAG_INTERVAL_SECONDS,
    ) -> None:
        self.service = service
        self.bootstrap_servers = bootstrap_servers
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
        described = await admin.describe_topics(sorted(set(self.groups.values())))
        partitions = sorted(
            (
                TopicPartition(d["topic"], p["partition"])
                for d in described
                if not d["error_code"]
                for p in d["partitions"]
            ),
            key=lambda tp: (tp.topic, tp.partition),
        )
        if not partitions:
            return
        ends = await consumer.end_offsets(partitions)
        starts: dict[TopicPartition, int] | None = None
        for group, topic in self.groups.items():
            mine = [tp for tp in partitions if tp.topic == topic]
            try:
                committed = await admin.list_consumer_group_offsets(group, partitions=mine)
            except Exception as exc:  # e.g. the group's coordinator is still loading: the other groups go on
                log.debug("consumer group offsets not read; trying again", group=group, error=repr(exc)[:300])
                continue
            for tp in mine:
                meta = committed.get(tp)
                offset = meta.offset if meta is not None else -1
                if offset < 0:
                    if starts is None:
                        starts = await consumer.beginning_offsets(partitions)
                    offset = starts[tp]
                CONSUMER_LAG.labels(self.service, group, topic, str(tp.partition)).set(max(ends[tp] - offset, 0))

    async def _clients(self) -> tuple[AIOKafkaAdminClient, AIOKafkaConsumer]:
        if self._admin is not None and self._consumer is not None:
            return self._admin, self._consumer
        client_id = f"pulse-{self.service}-lag"
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self.bootstrap_servers, client_id=client_id, request_timeout_ms=10_000
        )
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap_servers,
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


# -- the AsyncAPI document ---------------------------------------------------------------------------------------
DEAD_LETTER_PUBLICATION = Publication(
    Topic.DEAD_LETTERS,
    "Messages a consumer rejected (bad input, a broken business rule, an event that keeps failing), copied "
    "unchanged (key, value and headers) with headers saying why and whence: x-error-code, x-error-message, "
    "x-original-topic, x-original-partition, x-original-offset, x-consumer-group, x-failed-at. "
    "`pulse dlq list` shows them, `pulse dlq replay` sends them back to their topic.",
)


def declare_publications(broker: KafkaBroker, service: str, publications: Iterable[Publication], prefix: str) -> None:
    """Declare `service`'s output topics on `broker`, for the AsyncAPI document only."""
    for publication in publications:
        broker.publisher(
            topic_name(publication.topic, prefix),
            title=f"{service}:publishes:{publication.topic}",
            description=publication.description,
            schema=message_schema(publication.topic, publication.event_types),
        )


def message_schema(topic: Topic, event_types: Iterable[str] = ()) -> Any:
    """The type of one message of `topic`, for the AsyncAPI document: the envelope, one alternative per event
    type (sorted) with `event_type` fixed and `data` typed by its model. Dead letters are the rejected bytes."""
    names = sorted(event_types or EVENT_TYPES.get(topic, ()))
    if not names:
        return bytes
    models: list[Any] = [_envelope_model(name) for name in names]
    return functools.reduce(operator.or_, models)


@functools.cache
def _envelope_model(event_type: str) -> type[Envelope]:
    data_model = DATA_MODELS[event_type]
    return create_model(
        f"{data_model.__name__}Event",
        __base__=Envelope,
        __doc__=f"A `{event_type}` event: the envelope (CONTRACT §1), `data` a {data_model.__name__}.",
        event_type=(cast(Any, Literal)[event_type], ...),
        data=(data_model, ...),
    )
