from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest

from tests.support.snapshotter import SnapshotterHarness, harness
from tests.support.stack import Stack

BookFactory = Callable[[], Awaitable[SnapshotterHarness]]


@pytest.fixture
async def new_book(stack: Stack) -> AsyncIterator[BookFactory]:
    """Makes fresh databases, each holding only the snapshotter's schema."""
    made: list[tuple[str, asyncpg.Pool]] = []
    base = stack.database_url.rpartition("/")[0]

    async def make() -> SnapshotterHarness:
        name = f"pulse_l{uuid.uuid4().hex[:10]}"
        admin = await asyncpg.connect(stack.database_url)
        await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.close()
        the_harness, pool = await harness(f"{base}/{name}")
        made.append((name, pool))
        return the_harness

    yield make
    for name, pool in made:
        await pool.close()
        admin = await asyncpg.connect(stack.database_url)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def book(new_book: BookFactory) -> SnapshotterHarness:
    return await new_book()
