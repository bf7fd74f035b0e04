"""A benchmark's own slice of the local stack: a throw-away database and topic prefix, dropped after, also
when the benchmark is stopped with SIGTERM or Ctrl-C (both unwind through `scratch`'s `finally`)."""

from __future__ import annotations

import signal
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg

from shared.settings import get_settings
from tests.support.kafka import create_topics, delete_topics


@dataclass(frozen=True, slots=True)
class Scratch:
    database_url: str
    prefix: str  # topic prefix ("" when no topics were made)


# SIGTERM (`kill`, a CI timeout) would end the process at once and leave the database, the topics and any
# service processes behind; as KeyboardInterrupt it cancels the benchmark and runs the clean-ups.
signal.signal(signal.SIGTERM, signal.default_int_handler)


@asynccontextmanager
async def scratch(*, topics: bool = True) -> AsyncIterator[Scratch]:
    settings = get_settings()
    database = f"pulse_bench_{uuid.uuid4().hex[:8]}"
    prefix = f"bench{uuid.uuid4().hex[:6]}-" if topics else ""
    admin = await asyncpg.connect(settings.database_url)
    await admin.execute(f'CREATE DATABASE "{database}"')
    await admin.close()
    if topics:
        await create_topics(settings.kafka_bootstrap_servers, prefix)
    try:
        yield Scratch(settings.database_url.rpartition("/")[0] + f"/{database}", prefix)
    finally:
        if topics:
            await delete_topics(settings.kafka_bootstrap_servers, prefix)
        admin = await asyncpg.connect(settings.database_url)
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()
