"""Where the tests' Kafka and PostgreSQL come from: testcontainers where a Docker engine answers, otherwise
the native stack that `make test` starts (deploy/local), or whatever KAFKA_BOOTSTRAP_SERVERS and
DATABASE_URL name. Never a mock broker or an in-memory database."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from shared.db_roles import RolePlan, provision

ROOT = Path(__file__).resolve().parents[2]
NATIVE_KAFKA = "127.0.0.1:9092"
NATIVE_DATABASE = "postgresql://pulse:pulse@127.0.0.1:5433/pulse"


def docker_available() -> bool:
    if os.environ.get("PULSE_TEST_DOCKER", "auto") == "0" or shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Stack:
    kafka_bootstrap: str
    database_url: str  # the server's maintenance database; tests create their own databases
    kind: str  # "native" or "docker"
    _pg_container: object | None = None

    def stop_postgres(self) -> None:
        if self.kind == "docker":
            self._pg_container.get_wrapped_container().stop()  # type: ignore[attr-defined]
        else:
            _run(ROOT / "deploy/local/postgres.sh", "stop")

    def start_postgres(self) -> None:
        if self.kind == "docker":
            self._pg_container.get_wrapped_container().start()  # type: ignore[attr-defined]
        else:
            _run(ROOT / "deploy/local/postgres.sh", "start")


def database_url(server_url: str, name: str) -> str:
    """The URL of database `name` on the server that `server_url` (any of its databases) points at."""
    return f"{server_url.rpartition('/')[0]}/{name}"


async def _execute(server_url: str, statement: str) -> None:
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(statement)
    finally:
        await admin.close()


# Pulse's logins in every test database, as `pulse db roles` makes them (the local stack's development
# password, deploy/local/lib.sh): services run with their own login (`ServiceProcess`), as deployed.
ROLES = RolePlan()
ROLE_PASSWORD = "pulse"
# The key of the tokens the tests sign, and of the services they start (`ServiceProcess`).
JWT_SECRET = "pulse-tests-jwt-secret-0123456789abcdef"


def login_url(url: str, name: str) -> str:
    """`url` signed in as Pulse login `name` (a service, `gateway` or `owner`, shared.db_roles)."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{ROLES.login(name)}:{ROLE_PASSWORD}@{host}"))


async def create_database(server_url: str, name: str) -> str:
    """Create database `name` on the server of `server_url`, with Pulse's logins and schemas; its URL."""
    await _execute(server_url, f'CREATE DATABASE "{name}"')
    url = database_url(server_url, name)
    conn = await asyncpg.connect(url)
    try:
        await provision(conn, ROLES, dict.fromkeys(ROLES.names(), ROLE_PASSWORD))
    finally:
        await conn.close()
    return url


async def drop_database(server_url: str, name: str) -> None:
    await _execute(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@asynccontextmanager
async def scratch_database(server_url: str, prefix: str) -> AsyncIterator[str]:
    """The URL of a new, empty database named `prefix` + a random suffix, dropped afterwards."""
    name = f"{prefix}{uuid.uuid4().hex[:10]}"
    url = await create_database(server_url, name)
    try:
        yield url
    finally:
        await drop_database(server_url, name)


def _run(script: Path, *args: str) -> None:
    subprocess.run([str(script), *args], check=True, cwd=ROOT, capture_output=True, timeout=120)


def start_stack() -> tuple[Stack, list[object]]:
    """The stack for this session, and the containers to stop at its end."""
    if "KAFKA_BOOTSTRAP_SERVERS" in os.environ or "DATABASE_URL" in os.environ or not docker_available():
        return (
            Stack(
                kafka_bootstrap=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", NATIVE_KAFKA),
                database_url=os.environ.get("DATABASE_URL", NATIVE_DATABASE),
                kind="native",
            ),
            [],
        )
    from testcontainers.kafka import KafkaContainer
    from testcontainers.postgres import PostgresContainer

    kafka = KafkaContainer("apache/kafka:4.1.1").with_kraft()
    # A fixed host port, so that a stopped and restarted PostgreSQL comes back at the same address.
    postgres = PostgresContainer("postgres:15", username="pulse", password="pulse", dbname="pulse", driver=None)
    postgres.with_bind_ports(5432, free_port())
    kafka.start()
    postgres.start()
    url = postgres.get_connection_url()
    return Stack(kafka.get_bootstrap_server(), url, "docker", postgres), [kafka, postgres]
