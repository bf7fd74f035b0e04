"""A benchmark's own slice of the local stack: a throw-away database and topic prefix, dropped after, also
when the benchmark is stopped with SIGTERM or Ctrl-C (both unwind through `scratch`'s clean-ups)."""

from __future__ import annotations

import signal
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from shared.settings import get_settings
from tests.support.kafka import create_topics, delete_topics
from tests.support.stack import scratch_database


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
    prefix = f"bench{uuid.uuid4().hex[:6]}-" if topics else ""
    async with scratch_database(settings.database_url, "pulse_bench_") as url:
        if topics:
            await create_topics(settings.kafka_bootstrap_servers, prefix)
        try:
            yield Scratch(url, prefix)
        finally:
            if topics:
                await delete_topics(settings.kafka_bootstrap_servers, prefix)
