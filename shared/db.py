"""PostgreSQL plumbing: the asyncpg pool, and per-service schema migrations applied under an advisory lock.

Every service owns one schema. Its migrations are the `NNN_name.sql` files of its `migrations/` folder,
applied in order after the platform's own tables (the idempotent inbox and the outbox).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import asyncpg
import msgspec

from shared.logging import get_logger
from shared.retry import retry_transient

log = get_logger(__name__)

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    # What `pool.acquire()` yields is a proxy of a connection; code takes either.
    Connection: TypeAlias = asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]
else:
    Connection = asyncpg.Connection

# Applied first in every service schema; `{schema}` is substituted (one of our identifiers, never input).
PLATFORM_MIGRATION = """
CREATE TABLE IF NOT EXISTS {schema}.inbox (
    consumer     text        NOT NULL,
    event_id     text        NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
CREATE TABLE IF NOT EXISTS {schema}.outbox (
    id         bigserial   PRIMARY KEY,
    topic      text        NOT NULL,
    key        bytea,
    value      bytea       NOT NULL,
    headers    jsonb       NOT NULL DEFAULT '[]',
    created_at timestamptz NOT NULL DEFAULT now()
);
"""


# An outbox record the broker refused for what it is (too large, say): kept, with the reason, and skipped by
# the relay (`shared.kafka.outbox`).
PLATFORM_OUTBOX_REFUSED = "ALTER TABLE {schema}.outbox ADD COLUMN IF NOT EXISTS refused text;"

_JSON_ENCODER = msgspec.json.Encoder()
_JSON_DECODER = msgspec.json.Decoder()


def _encode_jsonb(value: Any) -> bytes:
    # Binary jsonb is a version byte (1) and the JSON text; binary codecs also serve COPY.
    return b"\x01" + _JSON_ENCODER.encode(value)


def _decode_jsonb(data: bytes) -> Any:
    return _JSON_DECODER.decode(memoryview(data)[1:])


def json_text(value: Any) -> str:
    """`value` as JSON text, for a jsonb parameter that asyncpg cannot take as a value (inside an array)."""
    return _JSON_ENCODER.encode(value).decode()


async def _init_connection(conn: Connection) -> None:
    await conn.set_type_codec(
        "jsonb", encoder=_encode_jsonb, decoder=_decode_jsonb, schema="pg_catalog", format="binary"
    )
    await conn.set_type_codec("json", encoder=json_text, decoder=_JSON_DECODER.decode, schema="pg_catalog")


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 5, retry: bool = True) -> asyncpg.Pool:
    """A pool whose connections decode json/jsonb; waits (with backoff) for the database when `retry`."""

    async def connect() -> asyncpg.Pool:
        return await asyncpg.create_pool(
            dsn,
            min_size=min_size,
            max_size=max_size,
            init=_init_connection,
            command_timeout=300,
            # asyncpg prepares every statement; after five runs PostgreSQL would switch to a generic plan that
            # knows neither the day nor which filters are NULL, and our set-based statements get plans
            # ten times slower. Planning each run costs milliseconds.
            # JIT compilation off: it costs ~1 s for each run of a statement whose estimated cost crosses
            # jit_above_cost (a day close over 100,000 loans: 2.7 s with it, 1.65 s without), and our
            # statements are planned, hence compiled, anew on every run.
            server_settings={"plan_cache_mode": "force_custom_plan", "jit": "off"},
        )

    if not retry:
        return await connect()
    return await retry_transient(connect, what="database connect", initial=0.2, maximum=5.0)


# The keys' 64-bit hashes, each once, in ascending order: the outer SELECT takes the locks in the subquery's
# order (a subquery with ORDER BY is not flattened), so every transaction takes shared keys in one global
# order and two of them never wait on each other in a cycle.
_LOCK_KEYS = """
SELECT count(pg_advisory_xact_lock(h)) FROM (
    SELECT DISTINCT hashtextextended($1 || k, 0) AS h FROM unnest($2::text[]) AS k ORDER BY 1
) AS ordered
"""


async def lock_keys(conn: Connection, namespace: str, keys: Iterable[str]) -> None:
    """Serialise the transactions that write the same `keys` (clients, dates, ...) of `namespace` until they
    commit, in one round trip, whether or not a key has a row yet. Several instances of a service each own
    their partitions' keys; these locks make the rare writes that cross partitions (and a partition read by
    its old and its new owner for a moment during a rebalance) safe. A hash collision only serialises two
    unrelated keys. Each key holds a slot of the lock table until the commit: size
    `max_locks_per_transaction` for batches of `PULSE_BATCH_MAX_RECORDS` keys."""
    unique = sorted(set(keys))
    if unique:
        await conn.fetchval(_LOCK_KEYS, f"{namespace}:", unique)


async def stage_rows(
    conn: Connection, staging: str, like: str, columns: Sequence[str], records: Iterable[Sequence[Any]]
) -> None:
    """COPY `records` into the session's temporary table `staging`, shaped like the table `like` and emptied
    first: a batch's rows reach PostgreSQL in one COPY, for one set-based statement to upsert from."""
    await conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS {staging} AS TABLE {like} WITH NO DATA")
    await conn.execute(f"TRUNCATE {staging}")
    await conn.copy_records_to_table(staging, columns=list(columns), records=records)


def _migration_files(folder: Path | None) -> list[tuple[str, str]]:
    if folder is None or not folder.is_dir():
        return []
    return [(path.stem, path.read_text()) for path in sorted(folder.glob("*.sql"))]


def quote_ident(name: str) -> str:
    """`name` as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


async def _act_as_schema_owner(conn: Connection, schema: str) -> None:
    # Whoever runs the migrations (the migration role, or an administrator by hand or in tests), what they
    # create belongs to the schema's owner, so that the grants made for its objects (shared.db_roles) apply.
    owner = await conn.fetchval(
        "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = $1 AND nspowner <> current_user::regrole"
        " AND pg_has_role(current_user, nspowner, 'USAGE')",
        schema,
    )
    if owner is not None:
        await conn.execute(f"SET ROLE {quote_ident(owner)}")


async def migrate(pool: asyncpg.Pool, schema: str, folder: Path | None) -> list[str]:
    """Create `schema` and apply its pending migrations, as the schema's owner; concurrent starters wait on an
    advisory lock."""
    applied_now: list[str] = []
    async with pool.acquire() as conn:
        await conn.execute("SELECT pg_advisory_lock(hashtext($1))", f"pulse-migrations:{schema}")
        try:
            await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            await _act_as_schema_owner(conn, schema)
            await conn.execute(
                f"CREATE TABLE IF NOT EXISTS {schema}.schema_migrations ("
                " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {r["version"] for r in await conn.fetch(f"SELECT version FROM {schema}.schema_migrations")}
            pending = [
                ("000_platform", PLATFORM_MIGRATION.format(schema=schema)),
                ("000_platform_outbox_refused", PLATFORM_OUTBOX_REFUSED),
                *_migration_files(folder),
            ]
            for version, sql in pending:
                if version in done:
                    continue
                async with conn.transaction():
                    await conn.execute(sql.replace("{schema}", schema))
                    await conn.execute(f"INSERT INTO {schema}.schema_migrations (version) VALUES ($1)", version)
                applied_now.append(version)
            if applied_now:
                # Imported here: shared.db_roles builds on this module.
                from shared.db_roles import limit_tables

                await limit_tables(conn, schema)
        finally:
            await conn.execute("RESET ROLE")
            await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", f"pulse-migrations:{schema}")
    if applied_now:
        log.info("migrations applied", schema=schema, versions=applied_now)
    return applied_now


async def migrate_at(dsn: str, schema: str, folder: Path | None, *, retry: bool = True) -> list[str]:
    """`migrate` through a connection of its own to `dsn`: the schema owner's login is held only while
    migrating, and the process runs with its own rights."""
    pool = await create_pool(dsn, min_size=1, max_size=1, retry=retry)
    try:
        return await migrate(pool, schema, folder)
    finally:
        await pool.close()


def pool_stats(pool: asyncpg.Pool) -> dict[str, Any]:
    size = pool.get_size()
    return {"size": size, "in_use": size - pool.get_idle_size()}
