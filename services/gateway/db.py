"""The gateway's PostgreSQL pool, opened lazily and robustly.

The gateway starts even when the database is down: `Database.connect()` only logs the failure, and every
later `ping()` (each `/readyz`) or `acquire()` (each endpoint query) tries to open the pool again.
Endpoints get a connection with::

    async with db.acquire() as conn:  # db: Database = Depends(get_database)
        rows = await conn.fetch(...)

which raises `ApiError(503, "unavailable")` if the database cannot be reached. Reads of the aggregator's
read model use `db.read_model("loans")` instead, which also answers 503 while the aggregator has not
created its tables yet.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from asyncpg import Record
from asyncpg.pool import PoolConnectionProxy
from fastapi import Request

from services.gateway.errors import unavailable

logger = logging.getLogger("services.gateway.db")

# Errors meaning "the database is not reachable right now", as opposed to a bug in a query.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.InvalidAuthorizationSpecificationError,
    asyncpg.exceptions.InvalidCatalogNameError,
)
_UNREACHABLE_OR_REFUSED: tuple[type[BaseException], ...] = (*TRANSIENT_ERRORS, asyncpg.PostgresError)


async def _init_connection(conn: asyncpg.Connection) -> None:
    # Same codecs as the services' pools (shared.db): json/jsonb columns come back as Python objects.
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    await conn.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


class Database:
    def __init__(
        self,
        dsn: str,
        *,
        min_size: int = 1,
        max_size: int = 5,
        connect_timeout: float = 3.0,
        command_timeout: float = 30.0,
    ) -> None:
        self._dsn = dsn
        self._min_size = min(min_size, max_size)
        self._max_size = max_size
        self._connect_timeout = connect_timeout
        self._command_timeout = command_timeout
        self._pool: asyncpg.Pool | None = None
        self._lock = asyncio.Lock()
        self._closed = False
        self.last_error: str | None = None

    @property
    def pool(self) -> asyncpg.Pool | None:
        return self._pool

    def size(self) -> int:
        """Open connections (0 without a pool)."""
        return self._pool.get_size() if self._pool is not None else 0

    def in_use(self) -> int:
        """Connections checked out of the pool."""
        if self._pool is None:
            return 0
        return max(self._pool.get_size() - self._pool.get_idle_size(), 0)

    async def connect(self) -> bool:
        """Open the pool if it is not open; `False` (logged, not raised) if the database is unreachable."""
        if self._pool is not None:
            return True
        async with self._lock:
            if self._pool is not None:
                return True
            if self._closed:
                return False
            try:
                self._pool = await asyncpg.create_pool(
                    self._dsn,
                    min_size=self._min_size,
                    max_size=self._max_size,
                    timeout=self._connect_timeout,
                    command_timeout=self._command_timeout,
                    init=_init_connection,
                )
            except _UNREACHABLE_OR_REFUSED as exc:  # incl. a role or database that does not exist yet
                self._note_failure(exc)
                return False
            self.last_error = None
            logger.info("database pool open (min=%d, max=%d)", self._min_size, self._max_size)
            return True

    def _note_failure(self, exc: BaseException) -> None:
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if reason != self.last_error:  # do not repeat the same warning on every /readyz
            logger.warning("database unreachable: %s", reason)
        self.last_error = reason

    async def ping(self) -> bool:
        """`SELECT 1` works (opening the pool first if needed)."""
        if not await self.connect():
            return False
        assert self._pool is not None
        try:
            async with self._pool.acquire(timeout=self._connect_timeout) as conn:
                await conn.fetchval("SELECT 1", timeout=self._connect_timeout)
        except _UNREACHABLE_OR_REFUSED as exc:
            self._note_failure(exc)
            return False
        self.last_error = None
        return True

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[PoolConnectionProxy[Record]]:
        """A pooled connection; 503 `unavailable` if the database cannot be reached or drops meanwhile."""
        if not await self.connect():
            raise unavailable("database unavailable")
        pool = self._pool
        assert pool is not None
        try:
            conn = await pool.acquire(timeout=self._connect_timeout)
        except TRANSIENT_ERRORS as exc:
            self._note_failure(exc)
            raise unavailable("database unavailable") from exc
        try:
            yield conn
        except TRANSIENT_ERRORS as exc:
            self._note_failure(exc)
            raise unavailable("database unavailable") from exc
        finally:
            await pool.release(conn)

    @asynccontextmanager
    async def read_model(self, area: str) -> AsyncIterator[PoolConnectionProxy[Record]]:
        """`acquire()` for reading the aggregator's read model: 503 if its tables do not exist yet."""
        async with self.acquire() as conn:
            try:
                yield conn
            except (asyncpg.exceptions.UndefinedTableError, asyncpg.exceptions.InvalidSchemaNameError) as exc:
                raise unavailable(f"the {area} read model is not available yet") from exc

    async def close(self) -> None:
        async with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            try:
                await asyncio.wait_for(pool.close(), timeout=10)
            except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.exceptions.InterfaceError):
                pool.terminate()


def get_database(request: Request) -> Database:
    """FastAPI dependency: the app's `Database`."""
    db = request.app.state.db
    assert isinstance(db, Database)
    return db
