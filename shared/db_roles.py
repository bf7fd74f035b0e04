"""Who may do what in Pulse's database: the one access policy of PostgreSQL logins.

- The migration role (`pulse_owner`) owns every service's schema and everything in it; services run their
  migrations with it (`PULSE_MIGRATION_DATABASE_URL`) and nothing else does.
- Each service's runtime role (`pulse_snapshotter`, ...) reads and writes the rows of its own schema's tables:
  no DDL, no other schema ("one schema per service" is enforced, not a convention).
- The gateway's role (`pulse_gateway`) reads the aggregator's read model, and its transactions are
  read-only by default; it writes only its own schema (sign-in links used), in a transaction that says so,
  and only reads the revoked tokens (`READ_ONLY_TABLES`).
- Every runtime role has a server-side `statement_timeout`, so a runaway statement stops whatever the client.

`provision()` creates or corrects all of it, idempotently, for the current database; roles are cluster-wide,
grants per database. `pulse db roles` runs it as an administrator (a superuser, or a role with CREATEROLE that
owns the database).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass

import asyncpg

from shared.db import Connection, quote_ident
from shared.logging import get_logger

log = get_logger(__name__)

# Each of these services owns the schema of its name (shared.service.Service.schema); the gateway's holds only
# its sign-in links and the revoked tokens' ids.
SERVICE_SCHEMAS: tuple[str, ...] = ("snapshotter", "returns", "aggregator", "alerter", "gateway")
# Readers of another's schema, read-only, and read-only by default in their own: the gateway serves the
# aggregator's read model (and writes only when it redeems a sign-in link, saying so).
READERS: Mapping[str, tuple[str, ...]] = {"gateway": ("aggregator",)}
# Tables of a schema that its own runtime role may only read, narrower than the schema's rights: the record of
# applied migrations is the migration role's alone, and the revoked tokens are written by an administrator
# (`pulse revoke`), so a gateway made to run a statement of someone else's cannot take a revocation back.
READ_ONLY_TABLES: Mapping[str, tuple[str, ...]] = {
    **dict.fromkeys(SERVICE_SCHEMAS, ("schema_migrations",)),
    "gateway": ("schema_migrations", "revoked_tokens"),
}
OWNER = "owner"

_TABLE_RIGHTS = "SELECT, INSERT, UPDATE, DELETE"
_SEQUENCE_RIGHTS = "USAGE, SELECT, UPDATE"


@dataclass(frozen=True, slots=True)
class RolePlan:
    """Role names and the server-side limits set on them."""

    prefix: str = "pulse_"
    # The services' longest statements are a close's (100 days of 100,000 loans per transaction at most,
    # PULSE_CLOSE_MAX_DAYS); the pools' own client-side limit is 300 s as well.
    service_statement_timeout: str = "5min"
    # The gateway's pool gives up after 30 s (services.gateway.db); the server stops the statement too.
    reader_statement_timeout: str = "30s"

    @property
    def owner(self) -> str:
        return f"{self.prefix}{OWNER}"

    def login(self, name: str) -> str:
        """The runtime role of service `name` (or of `OWNER`)."""
        return f"{self.prefix}{name}"

    def names(self) -> tuple[str, ...]:
        """Every login: the owner, the services, the readers (the keys of `passwords` in `provision`)."""
        return (OWNER, *SERVICE_SCHEMAS, *(r for r in READERS if r not in SERVICE_SCHEMAS))


async def provision(conn: Connection, plan: RolePlan, passwords: Mapping[str, str]) -> None:
    """Create or correct the roles of `plan`, the schemas and the grants in the current database.

    `passwords` maps names of `plan.names()` to passwords; a role without one keeps the password it has (a new
    one gets none: it cannot sign in with a password until an administrator sets one)."""
    unknown = set(passwords) - set(plan.names())
    if unknown:
        raise ValueError(f"no such Pulse login: {', '.join(sorted(unknown))}")
    for name in plan.names():
        await _ensure_login(conn, plan.login(name), passwords.get(name))
    owner = quote_ident(plan.owner)
    database = await conn.fetchval("SELECT current_database()")
    async with conn.transaction():
        # Migrations create their schema if it is missing (CREATE SCHEMA IF NOT EXISTS needs this right).
        await conn.execute(f"GRANT CREATE ON DATABASE {quote_ident(database)} TO {owner}")
        for schema in SERVICE_SCHEMAS:
            await _own_schema(conn, schema, plan.owner)
            await _grant(conn, schema, plan.owner, plan.login(schema), _TABLE_RIGHTS, _SEQUENCE_RIGHTS)
        for reader, schemas in READERS.items():
            for schema in schemas:
                await _grant(conn, schema, plan.owner, plan.login(reader), "SELECT", "SELECT")
        for schema in READ_ONLY_TABLES:
            await limit_tables(conn, schema)
    for schema in SERVICE_SCHEMAS:
        if schema not in READERS:
            await _set(conn, plan.login(schema), "statement_timeout", plan.service_statement_timeout)
    for reader in READERS:
        await _set(conn, plan.login(reader), "statement_timeout", plan.reader_statement_timeout)
        await _set(conn, plan.login(reader), "default_transaction_read_only", "on")
    log.info("database roles provisioned", database=database, roles=[plan.login(n) for n in plan.names()])


# Who besides the table's owner may change a table's rows.
_WRITERS = """
SELECT DISTINCT pg_get_userbyid(a.grantee) FROM pg_class c, aclexplode(c.relacl) a
WHERE c.oid = to_regclass($1::text) AND a.grantee <> c.relowner AND a.grantee <> 0
  AND a.privilege_type IN ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE')
"""


async def limit_tables(conn: Connection, schema: str) -> None:
    """Take the right to change the rows of `READ_ONLY_TABLES[schema]` from every role but the owner. Run by
    `provision` (its schema-wide grants gave it) and after each migration of the schema (the default
    privileges give it to a table a migration creates), as the owner or an administrator."""
    for table in READ_ONLY_TABLES.get(schema, ()):
        name = f"{quote_ident(schema)}.{quote_ident(table)}"
        if await conn.fetchval("SELECT to_regclass($1)", name) is None:
            continue  # not created yet: the migration that creates it limits it
        for (writer,) in await conn.fetch(_WRITERS, name):
            await conn.execute(f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON {name} FROM {quote_ident(writer)}")


async def _ensure_login(conn: Connection, role: str, password: str | None) -> None:
    if not await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role):
        # Created meanwhile by another provisioning of the same cluster (another database): as good.
        with contextlib.suppress(asyncpg.DuplicateObjectError, asyncpg.UniqueViolationError):
            await conn.execute(f"CREATE ROLE {quote_ident(role)} LOGIN")
    if password is not None:
        # A utility statement takes no parameters: the server quotes the literal.
        statement = await conn.fetchval(
            "SELECT format('ALTER ROLE %I WITH LOGIN PASSWORD %L', $1::text, $2::text)", role, password
        )
        await conn.execute(statement)


async def _set(conn: Connection, role: str, setting: str, value: str) -> None:
    statement = await conn.fetchval(
        "SELECT format('ALTER ROLE %I SET %s = %L', $1::text, $2::text, $3::text)", role, setting, value
    )
    await conn.execute(statement)


# Objects of a schema created before it had an owner role (a cluster from before the roles, where the
# superuser ran the migrations): handed over, so that the migration role can alter them. Sequences owned by a
# column follow their table; indexes follow theirs.
_FOREIGN_OBJECTS = """
SELECT format('ALTER %s %s OWNER TO %I',
              CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
                             WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END,
              c.oid::regclass, $2::text)
FROM pg_class c
WHERE c.relnamespace = $1::regnamespace AND c.relowner <> $2::regrole
  AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
  AND NOT (c.relkind = 'S' AND EXISTS (
      SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('a', 'i')))
UNION ALL
SELECT format('ALTER FUNCTION %s OWNER TO %I', p.oid::regprocedure, $2::text)
FROM pg_proc p WHERE p.pronamespace = $1::regnamespace AND p.proowner <> $2::regrole
"""


async def _own_schema(conn: Connection, schema: str, owner: str) -> None:
    await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(schema)} AUTHORIZATION {quote_ident(owner)}")
    await conn.execute(f"ALTER SCHEMA {quote_ident(schema)} OWNER TO {quote_ident(owner)}")
    for statement in await conn.fetch(_FOREIGN_OBJECTS, schema, owner):
        await conn.execute(statement[0])
    await conn.execute(f"REVOKE ALL ON SCHEMA {quote_ident(schema)} FROM PUBLIC")


async def _grant(conn: Connection, schema: str, owner: str, role: str, tables: str, sequences: str) -> None:
    s, o, r = quote_ident(schema), quote_ident(owner), quote_ident(role)
    await conn.execute(f"GRANT USAGE ON SCHEMA {s} TO {r}")
    await conn.execute(f"GRANT {tables} ON ALL TABLES IN SCHEMA {s} TO {r}")
    await conn.execute(f"GRANT {sequences} ON ALL SEQUENCES IN SCHEMA {s} TO {r}")
    # What the migration role creates later gets the same rights.
    await conn.execute(f"ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA {s} GRANT {tables} ON TABLES TO {r}")
    await conn.execute(f"ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA {s} GRANT {sequences} ON SEQUENCES TO {r}")
