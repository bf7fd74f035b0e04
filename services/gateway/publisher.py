"""The gateway's Kafka publisher: `shared.kafka.producer.Producer`, started on first use, bounded in time.

The gateway serves reads without Kafka, so the producer is not started with the app: the first publish
starts it (and a failed start is tried again by the next publish). `Producer` retries transient broker
faults forever; a request cannot wait that long, so starting and sending are bounded by timeouts and a
broker that is down or does not acknowledge in time gives `ApiError(503, "unavailable")`, never a 500.

A send that timed out may still reach the broker later (the record was already handed to the client):
the caller got a 503 and may retry, and consumers are idempotent by `event_id` only, so a retry with a new
event is a second request. Endpoints use it with::

    publisher: Publisher = Depends(get_publisher)
    await publisher.publish_event(Topic.CONTROL, key, envelope)
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import Request

from services.gateway.errors import unavailable
from shared.events.bounds import EventBounds
from shared.events.envelope import dumps
from shared.kafka.connection import KafkaConnection
from shared.kafka.producer import OutboundRecord, Producer
from shared.topics import Topic, topic_name

logger = logging.getLogger("services.gateway.publisher")

SERVICE = "gateway"


class Publisher:
    def __init__(
        self,
        kafka: KafkaConnection,
        *,
        prefix: str = "",
        client_id: str = "pulse-gateway",
        start_timeout: float = 5.0,
        send_timeout: float = 10.0,
        stop_timeout: float = 10.0,
        bounds: EventBounds,
    ) -> None:
        self.prefix = prefix
        # How far ahead of the clock what the gateway publishes may be dated (the services would refuse it).
        self.bounds = bounds
        self.start_timeout = start_timeout
        self.send_timeout = send_timeout
        self.stop_timeout = stop_timeout
        self._producer = Producer(kafka, client_id=client_id, service=SERVICE)
        self._started = False
        self._closed = False
        self._lock = asyncio.Lock()

    @property
    def started(self) -> bool:
        return self._started

    async def _ensure_started(self) -> None:
        if self._started:
            return
        async with self._lock:
            if self._started:
                return
            if self._closed:
                raise unavailable("the gateway is shutting down")
            try:
                await asyncio.wait_for(self._producer.start(), timeout=self.start_timeout)
            except TimeoutError as exc:
                logger.warning("kafka producer did not start within %.1f s", self.start_timeout)
                raise unavailable("message broker unavailable") from exc
            except Exception as exc:
                logger.warning("kafka producer failed to start: %r", exc)
                raise unavailable("message broker unavailable") from exc
            self._started = True

    async def publish(self, topic: Topic, key: str | None, value: bytes) -> None:
        """Publish one record on the (prefixed) topic; return once the broker acknowledged it, else 503."""
        await self._ensure_started()
        record = OutboundRecord(
            topic=topic_name(topic, self.prefix),
            value=value,
            key=key.encode("utf-8") if key is not None else None,
        )
        try:
            await asyncio.wait_for(self._producer.send_all([record]), timeout=self.send_timeout)
        except TimeoutError as exc:
            logger.warning("kafka publish to %s not acknowledged within %.1f s", record.topic, self.send_timeout)
            raise unavailable("message broker unavailable") from exc
        except Exception as exc:
            logger.warning("kafka publish to %s failed: %r", record.topic, exc)
            raise unavailable("message broker unavailable") from exc

    async def publish_event(self, topic: Topic, key: str | None, envelope: dict[str, Any]) -> None:
        """Publish an envelope (see `shared.events.envelope.make_envelope`), serialized with `dumps`."""
        await self.publish(topic, key, dumps(envelope))

    async def close(self) -> None:
        """Stop the producer (flushing what it holds, within `stop_timeout`)."""
        async with self._lock:
            self._closed = True
            if not self._started:
                return
            self._started = False
            try:
                await asyncio.wait_for(self._producer.stop(), timeout=self.stop_timeout)
            except Exception as exc:  # a broker gone at shutdown must not fail the shutdown
                logger.warning("kafka producer did not stop cleanly: %r", exc)


def get_publisher(request: Request) -> Publisher:
    """FastAPI dependency: the app's `Publisher`."""
    publisher = request.app.state.publisher
    assert isinstance(publisher, Publisher)
    return publisher
