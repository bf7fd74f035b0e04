"""What every Pulse service process is: FastStream Kafka subscribers feeding the batch pipeline, one asyncpg
pool, one idempotent producer with its outbox relay, background jobs, and an HTTP side serving `/healthz`
and `/metrics` (FastStream's Prometheus middleware metrics and ours, in one registry)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import uvicorn
from aiokafka import TopicPartition
from faststream.asgi import AsgiFastStream, AsgiResponse, get
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from faststream.middlewares import AckPolicy
from prometheus_client import make_asgi_app

from shared import db, failpoints
from shared.events.envelope import dumps
from shared.kafka.deadletter import InboundRecord
from shared.kafka.outbox import OutboxRelay
from shared.kafka.pipeline import Consumer, Handler
from shared.kafka.producer import Producer
from shared.logging import configure_logging, get_logger
from shared.metrics import CONSUMER_LAG, DB_POOL_IN_USE, DB_POOL_SIZE, REGISTRY
from shared.settings import Settings, get_settings
from shared.topics import Topic, consumer_group, topic_name

log = get_logger(__name__)

Job = Callable[["Service"], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Subscription:
    topic: Topic
    handler: Handler


class Service:
    """Wiring of one service; `__main__.py` of each service builds one and calls `run()`."""

    def __init__(
        self,
        name: str,
        *,
        port: int,
        migrations: Path | None,
        subscriptions: Sequence[Subscription] = (),
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
        self._started_at: float | None = None
        for subscription in subscriptions:
            self._subscribe(subscription)
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
        )
        self._consumers.append(consumer)

        async def consume(message: KafkaMessage) -> None:
            records = message.raw_message if isinstance(message.raw_message, tuple) else (message.raw_message,)
            await consumer.process([_inbound(r) for r in records])
            failpoints.hit("after-db-commit")
            await message.ack()
            _export_lag(self.name, group, message, records)

        consume.__name__ = f"{self.name}_{subscription.topic.replace('-', '_')}"
        self.broker.subscriber(
            topic_name(subscription.topic, self.settings.topic_prefix),
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
        log.info("service started", port=self.port, subscriptions=[c.group for c in self._consumers])

    async def _on_shutdown(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
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


def _export_lag(service: str, group: str, message: KafkaMessage, records: Sequence[Any]) -> None:
    consumer = getattr(message, "consumer", None)
    if consumer is None or not hasattr(consumer, "highwater"):
        return
    last: dict[TopicPartition, int] = {}
    for r in records:
        last[TopicPartition(r.topic, r.partition)] = r.offset
    for tp, offset in last.items():
        high = consumer.highwater(tp)
        if high is not None:
            CONSUMER_LAG.labels(service, group, tp.topic, str(tp.partition)).set(max(high - offset - 1, 0))
