"""The one Kafka producer configuration Pulse uses: every write acknowledged by all replicas, idempotent."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from aiokafka import AIOKafkaProducer

from shared.kafka.connection import KafkaConnection
from shared.metrics import PUBLISHED
from shared.retry import retry_transient
from shared.topics import DEAD_LETTER_MAX_BYTES

Headers = Sequence[tuple[str, bytes]]


@dataclass(frozen=True, slots=True)
class OutboundRecord:
    topic: str  # broker-side name (prefix applied)
    value: bytes
    key: bytes | None = None
    headers: Headers = field(default_factory=tuple)


class Producer:
    def __init__(self, kafka: KafkaConnection, *, client_id: str, service: str) -> None:
        self.service = service
        self.kafka = kafka
        self.client_id = client_id
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        if self._producer is None:
            self._producer = await self._connected()

    async def renew(self) -> None:
        """Replace the producer session with a new one (a new idempotent producer id). After the broker refused
        a record for what it is, the old session's sequence numbers for that partition are out of step and it
        would refuse every later record there (OutOfOrderSequenceNumber). The new session is connected before
        the old one is closed, so nothing sends in between."""
        old, self._producer = self._producer, await self._connected()
        if old is not None:
            await old.stop()

    async def _connected(self) -> AIOKafkaProducer:
        async def start() -> AIOKafkaProducer:
            # aiokafka binds a producer to the running loop: it is built here, not in __init__.
            producer = AIOKafkaProducer(
                **self.kafka.options(),
                client_id=self.client_id,
                acks="all",
                enable_idempotence=True,
                linger_ms=5,
                max_batch_size=256 * 1024,
                max_request_size=DEAD_LETTER_MAX_BYTES + 64 * 1024,  # a dead letter of the largest message
                request_timeout_ms=30_000,
            )
            try:
                await producer.start()
            except BaseException:
                await producer.stop()
                raise
            return producer

        return await retry_transient(start, what="kafka producer start", initial=0.2, maximum=5.0)

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def __aenter__(self) -> Producer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def send_all(self, records: Iterable[OutboundRecord]) -> None:
        """Send records in order and wait until the broker has acknowledged every one of them.

        Transient broker faults are retried: a resend after a timeout may duplicate a record, which
        consumers absorb (they are idempotent by event_id).
        """
        batch = list(records)
        if not batch:
            return

        if self._producer is None:
            raise RuntimeError("the producer has not started")
        producer = self._producer

        async def send() -> None:
            futures = [await producer.send(r.topic, r.value, key=r.key, headers=list(r.headers)) for r in batch]
            # Every outcome is retrieved (a refused record must not leave its neighbours' unread); the first
            # fault is raised.
            outcomes = await asyncio.gather(*futures, return_exceptions=True)
            for outcome in outcomes:
                if isinstance(outcome, BaseException):
                    raise outcome

        await retry_transient(send, what="kafka publish", initial=0.2, maximum=10.0)
        for r in batch:
            PUBLISHED.labels(self.service, r.topic).inc()
