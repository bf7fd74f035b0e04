"""Fixtures shared by integration and e2e tests: the real stack, and an isolated world per test (its own
topic prefix, its own database, its own service processes)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import pytest

from tests.support.kafka import Bus, create_topics, delete_topics
from tests.support.processes import ServiceProcess
from tests.support.receivers import local_ca, receiver, smtp  # noqa: F401  # fixtures: SMTP, webhooks, a CA
from tests.support.snapshotter import SnapshotterHarness, harness
from tests.support.stack import JWT_SECRET, Stack, create_database, drop_database, start_stack


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    the_stack, containers = start_stack()
    yield the_stack
    if the_stack.kafka_secured is not None:
        the_stack.kafka_secured.close()
    for container in containers:
        container.stop()  # type: ignore[attr-defined]


@dataclass
class World:
    """One test's private slice of the stack."""

    stack: Stack
    prefix: str
    database_url: str
    bus: Bus
    log_dir: Path
    processes: list[ServiceProcess] = field(default_factory=list)
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        return {
            "KAFKA_BOOTSTRAP_SERVERS": self.stack.kafka_bootstrap,
            "DATABASE_URL": self.database_url,
            "PULSE_TOPIC_PREFIX": self.prefix,
            "PULSE_JWT_SECRET": JWT_SECRET,
            # The receivers speak plain http and SMTP, as on a developer's machine.
            "PULSE_DEV_MODE": "true",
            "PULSE_SMTP_TLS": "none",
            "PULSE_RETRY_MAX_SECONDS": "2",
            "PULSE_BATCH_TIMEOUT_MS": "50",
            "PULSE_SCHEDULE_ENABLED": "false",
            "PULSE_WEEKLY_SUMMARY_ENABLED": "false",
            **(self.stack.kafka_secured.env() if self.stack.kafka_secured else {}),
            **self.extra_env,
        }

    def kafka_settings(self, service: str) -> dict[str, str]:
        """The Kafka `Settings` fields of `service` built in-process: signed in as itself where it can be."""
        if self.stack.kafka_secured is None:
            return {"kafka_bootstrap_servers": self.stack.kafka_bootstrap}
        return self.stack.kafka_secured.settings(service)

    def service(self, name: str, *, start: bool = True, instance: int = 1) -> ServiceProcess:
        process = ServiceProcess(name, self.env, self.log_dir, instance=instance)
        self.processes.append(process)
        return process.start() if start else process

    async def connect(self) -> asyncpg.Connection:
        return await asyncpg.connect(self.database_url)


@asynccontextmanager
async def open_world(stack: Stack, log_dir: Path) -> AsyncIterator[World]:
    """A private slice of the stack (topic prefix, database), and everything in it gone afterwards. On a
    secured broker the services may use the prefix's topics, each its own, for as long as the world lasts."""
    suffix = uuid.uuid4().hex[:10]
    prefix = f"t{suffix}-"
    database = f"pulse_t{suffix}"
    url = await create_database(stack.database_url, database)
    await create_topics(stack.kafka_bootstrap, prefix)
    if stack.kafka_secured is not None:
        await asyncio.to_thread(stack.kafka_secured.grant, prefix)
    the_world = World(stack, prefix, url, Bus(stack.kafka_bootstrap, prefix), log_dir)
    try:
        yield the_world
    finally:
        for process in the_world.processes:
            process.stop()
        await the_world.bus.close()
        await delete_topics(stack.kafka_bootstrap, prefix)
        if stack.kafka_secured is not None:
            await asyncio.to_thread(stack.kafka_secured.withdraw, prefix)
        await drop_database(stack.database_url, database)


@pytest.fixture
async def world(stack: Stack, tmp_path: Path) -> AsyncIterator[World]:
    async with open_world(stack, tmp_path) as the_world:
        yield the_world


BookFactory = Callable[[], Awaitable[SnapshotterHarness]]


@pytest.fixture
async def new_book(stack: Stack) -> AsyncIterator[BookFactory]:
    """Makes fresh databases, each holding only the snapshotter's schema."""
    made: list[tuple[str, asyncpg.Pool]] = []

    async def make() -> SnapshotterHarness:
        name = f"pulse_l{uuid.uuid4().hex[:10]}"
        the_harness, pool = await harness(await create_database(stack.database_url, name))
        made.append((name, pool))
        return the_harness

    yield make
    for name, pool in made:
        await pool.close()
        await drop_database(stack.database_url, name)


@pytest.fixture
async def book(new_book: BookFactory) -> SnapshotterHarness:
    return await new_book()
