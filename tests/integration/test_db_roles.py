"""PostgreSQL logins on the real server (shared.db_roles): a service writes its own schema only, the gateway
never writes the read model (only its own sign-in ledger, in a transaction that says so), only the migration
role changes the schemas, and the server stops a statement that runs longer than its login allows."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from shared import db
from shared.db_roles import SERVICE_SCHEMAS, RolePlan, provision
from tests.support.stack import ROLE_PASSWORD, ROOT, Stack, database_url, login_url, scratch_database

pytestmark = pytest.mark.integration

SERVICES = Path(ROOT) / "services"


@pytest.fixture
async def migrated(stack: Stack) -> AsyncIterator[str]:
    """A database with Pulse's logins (made by `create_database`) and every service's schema migrated by the
    migration role, as the services do at start-up."""
    async with scratch_database(stack.database_url, "pulse_troles") as url:
        for schema in SERVICE_SCHEMAS:
            owner = await db.create_pool(login_url(url, "owner"), retry=False, max_size=1)
            try:
                await db.migrate(owner, schema, SERVICES / schema / "migrations")
            finally:
                await owner.close()
        yield url


async def as_login(url: str, name: str) -> asyncpg.Connection:
    return await asyncpg.connect(login_url(url, name))


async def test_the_migration_role_owns_every_table_of_every_service_schema(migrated: str) -> None:
    conn = await asyncpg.connect(migrated)
    try:
        owners = await conn.fetch(
            "SELECT DISTINCT n.nspname AS schema, c.relowner::regrole::text AS owner FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ANY($1::text[]) ORDER BY 1",
            list(SERVICE_SCHEMAS),
        )
    finally:
        await conn.close()
    assert {(r["schema"], r["owner"]) for r in owners} == {(s, "pulse_owner") for s in SERVICE_SCHEMAS}


@pytest.mark.parametrize("service", SERVICE_SCHEMAS)
async def test_a_service_writes_its_own_schema_and_nobody_else_s(migrated: str, service: str) -> None:
    conn = await as_login(migrated, service)
    try:
        async with conn.transaction():
            # The gateway writes only in a transaction that says so (services/gateway/signin.py).
            await conn.execute("SET TRANSACTION READ WRITE")
            await conn.execute(f"INSERT INTO {service}.inbox (consumer, event_id) VALUES ('t', 'e1')")
            await conn.execute(f"UPDATE {service}.inbox SET processed_at = now() WHERE event_id = 'e1'")
            await conn.execute(f"DELETE FROM {service}.inbox WHERE event_id = 'e1'")
            # The outbox's id comes from a sequence the service may use.
            await conn.execute(f"INSERT INTO {service}.outbox (topic, value) VALUES ('t', '\\x00')")
        await conn.execute("SET default_transaction_read_only = off")  # the gateway's default: see below
        # Which migrations ran is the migration role's record alone (shared.db_roles.READ_ONLY_TABLES).
        assert await conn.fetchval(f"SELECT count(*) FROM {service}.schema_migrations") > 0
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(f"INSERT INTO {service}.schema_migrations (version) VALUES ('999_forged')")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(f"DELETE FROM {service}.schema_migrations")
        for other in SERVICE_SCHEMAS:
            if other == service:
                continue
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(f"INSERT INTO {other}.inbox (consumer, event_id) VALUES ('t', 'e1')")
            if (service, other) != ("gateway", "aggregator"):  # the one schema another may read
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await conn.fetch(f"SELECT * FROM {other}.inbox")
        # No DDL: the schema changes only through migrations.
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(f"CREATE TABLE {service}.mine (x int)")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(f"DROP TABLE {service}.inbox")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CREATE SCHEMA elsewhere")
    finally:
        await conn.close()


async def test_the_gateway_reads_the_read_model_and_never_writes_it(migrated: str) -> None:
    conn = await as_login(migrated, "gateway")
    ack = "INSERT INTO aggregator.alert_acknowledgements SELECT * FROM aggregator.alert_acknowledgements"
    try:
        assert await conn.fetchval("SHOW default_transaction_read_only") == "on"
        assert await conn.fetchval("SELECT count(*) FROM aggregator.alerts") == 0
        with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
            await conn.execute(ack)
        with pytest.raises(asyncpg.ReadOnlySQLTransactionError):  # its own ledger too, unless it says so
            await conn.execute("INSERT INTO gateway.signin_links (jti, expires_at) VALUES ('l1', now())")
        # Read-only is only the default, which a session may change: the rights are what stop it.
        async with conn.transaction(readonly=False):
            await conn.execute("SET TRANSACTION READ WRITE")
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(ack)
        await conn.execute("SET default_transaction_read_only = off")
        for statement in (ack, "DELETE FROM aggregator.alerts", "UPDATE aggregator.alerts SET status = 'x'"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(statement)
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetch("SELECT * FROM snapshotter.inbox")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CREATE TABLE aggregator.mine (x int)")
    finally:
        await conn.close()


async def test_each_login_has_a_server_side_statement_timeout(migrated: str) -> None:
    for name, expected in [("snapshotter", "5min"), ("alerter", "5min"), ("gateway", "30s"), ("owner", "0")]:
        conn = await as_login(migrated, name)
        try:
            assert await conn.fetchval("SHOW statement_timeout") == expected, name
        finally:
            await conn.close()


async def test_the_server_stops_a_statement_longer_than_the_login_allows(stack: Stack) -> None:
    # Roles of their own (role settings are cluster-wide): a 200 ms limit for the services, 100 ms the gateway.
    plan = RolePlan(f"pulse_t{uuid.uuid4().hex[:6]}_", "200ms", "100ms")
    name = f"pulse_tto{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(stack.database_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = database_url(stack.database_url, name)
    try:
        conn = await asyncpg.connect(url)
        try:
            await provision(conn, plan, dict.fromkeys(plan.names(), ROLE_PASSWORD))
        finally:
            await conn.close()
        host = url.partition("@")[2]
        for login in (plan.login("returns"), plan.login("gateway")):
            conn = await asyncpg.connect(f"postgresql://{login}:{ROLE_PASSWORD}@{host}")
            try:
                assert await conn.fetchval("SELECT pg_sleep(0.05)::text") == ""
                with pytest.raises(asyncpg.QueryCanceledError, match="statement timeout"):
                    await conn.fetchval("SELECT pg_sleep(2)")
            finally:
                await conn.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        for login in plan.names():
            await admin.execute(f'DROP ROLE IF EXISTS "{plan.login(login)}"')
        await admin.close()


async def test_provisioning_again_hands_over_what_another_login_created_and_changes_nothing_else(
    migrated: str,
) -> None:
    admin = await asyncpg.connect(migrated)
    try:
        # A migration run by the administrator (a database from before the roles): its table is not the owner's.
        await admin.execute("CREATE TABLE returns.legacy (id bigserial PRIMARY KEY, x int)")
        plan = RolePlan()
        await provision(admin, plan, {})
        await provision(admin, plan, {})
        owner = await admin.fetchval(
            "SELECT relowner::regrole::text FROM pg_class WHERE oid = 'returns.legacy'::regclass"
        )
        assert owner == "pulse_owner"
    finally:
        await admin.close()
    conn = await as_login(migrated, "returns")  # the passwords were left as they were
    try:
        await conn.execute("INSERT INTO returns.legacy (x) VALUES (1)")
        assert await conn.fetchval("SELECT count(*) FROM returns.legacy") == 1
    finally:
        await conn.close()
    owner_conn = await as_login(migrated, "owner")
    try:
        await owner_conn.execute("ALTER TABLE returns.legacy ADD COLUMN y int")
    finally:
        await owner_conn.close()


async def test_pulse_db_roles_sets_the_passwords_from_the_environment(stack: Stack) -> None:
    async with scratch_database(stack.database_url, "pulse_tcli") as url:
        password = uuid.uuid4().hex
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "PULSE_DB_PASSWORD_GATEWAY": password,
            **{f"PULSE_DB_PASSWORD_{n.upper()}": ROLE_PASSWORD for n in RolePlan().names() if n != "gateway"},
        }
        try:
            result = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-m", "cli.main", "db", "roles"],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert result.returncode == 0, result.stderr
            assert "pulse_gateway: password set" in result.stdout
            host = url.partition("@")[2]
            conn = await asyncpg.connect(f"postgresql://pulse_gateway:{password}@{host}")
            await conn.close()
            with pytest.raises(asyncpg.InvalidPasswordError):
                await asyncpg.connect(login_url(url, "gateway"))
        finally:
            # Every test database shares the cluster's logins: the gateway's password back as the others know it.
            admin = await asyncpg.connect(url)
            try:
                await provision(admin, RolePlan(), {"gateway": ROLE_PASSWORD})
            finally:
                await admin.close()


async def test_the_gateway_reads_the_revoked_tokens_and_cannot_take_one_back(migrated: str) -> None:
    """`pulse revoke` writes them as an administrator; the gateway's login may only read them, after the
    migration that made the table and after provisioning again (whose schema-wide grants would give it more)."""
    admin = await asyncpg.connect(migrated)
    try:
        revoke = "INSERT INTO gateway.revoked_tokens (jti, expires_at, revoked_by) VALUES ('j1', now() + '1 h', 'ops')"
        await admin.execute(revoke)
        for provisioned_again in (False, True):
            if provisioned_again:
                await provision(admin, RolePlan(), {})
            conn = await as_login(migrated, "gateway")
            try:
                assert await conn.fetchval("SELECT jti FROM gateway.revoked_tokens") == "j1"
                async with conn.transaction(readonly=False):
                    await conn.execute("SET TRANSACTION READ WRITE")
                    # Its sign-in ledger it does write (services/gateway/signin.py)...
                    await conn.execute(
                        "INSERT INTO gateway.signin_links (jti, expires_at) VALUES ($1, now())", f"l{provisioned_again}"
                    )
                for statement in (  # ...the revocations never.
                    "DELETE FROM gateway.revoked_tokens",
                    "UPDATE gateway.revoked_tokens SET expires_at = now()",
                    "INSERT INTO gateway.revoked_tokens (jti, expires_at, revoked_by) VALUES ('j2', now(), 'x')",
                    "TRUNCATE gateway.revoked_tokens",
                ):
                    async with conn.transaction(readonly=False):
                        await conn.execute("SET TRANSACTION READ WRITE")
                        with pytest.raises(asyncpg.InsufficientPrivilegeError):
                            await conn.execute(statement)
            finally:
                await conn.close()
    finally:
        await admin.close()
