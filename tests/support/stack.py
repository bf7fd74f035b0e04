"""Where the tests' Kafka and PostgreSQL come from: testcontainers where a Docker engine answers, otherwise
the native stack that `make test` starts (deploy/local), or whatever KAFKA_BOOTSTRAP_SERVERS and
DATABASE_URL name. Never a mock broker or an in-memory database.

On the native stack the services run as deployed: each signs in to PostgreSQL with its own login
(`create_database` provisions them) and to Kafka's SASL_SSL listener as its own user, allowed only the
topics of its test's prefix (`SecuredKafka`)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from shared.db_roles import RolePlan, provision
from shared.kafka.access import DEV_PASSWORD, USERS, spec, user_of, withdrawal

ROOT = Path(__file__).resolve().parents[2]
NATIVE_KAFKA = "127.0.0.1:9092"
NATIVE_DATABASE = "postgresql://pulse:pulse@127.0.0.1:5433/pulse"
# The native broker's SASL_SSL listener and the CA of its certificate (deploy/local/kafka.sh).
NATIVE_KAFKA_SECURED = "127.0.0.1:9094"
NATIVE_KAFKA_CA = ROOT / ".local/kafka/tls/ca.pem"


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


class SecuredKafka:
    """The broker's SASL_SSL listener, where each service signs in as its own SCRAM user (the local stack's
    development password) and may use only the topics and groups that shared/kafka/access.py grants it, for
    each test's topic prefix while the test lasts. The ACLs go through one `kafka.sh access --serve` JVM for
    the session (~3 s to start; then a few ms per prefix)."""

    def __init__(self, bootstrap: str, ca_file: Path) -> None:
        self.bootstrap = bootstrap
        self.ca_file = ca_file
        self._server: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()

    def env(self) -> dict[str, str]:
        """The settings of a service on this listener (the user is the service's own: `ServiceProcess`)."""
        return {
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "PULSE_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "PULSE_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            "PULSE_KAFKA_SASL_PASSWORD": DEV_PASSWORD,
            "PULSE_KAFKA_SSL_CA_FILE": str(self.ca_file),
        }

    def settings(self, service: str) -> dict[str, str]:
        """`shared.settings.Settings` fields of `service` signed in as itself, for a service built in-process."""
        return {
            "kafka_bootstrap_servers": self.bootstrap,
            "kafka_security_protocol": "SASL_SSL",
            "kafka_sasl_mechanism": "SCRAM-SHA-512",
            "kafka_sasl_username": user_of(service),
            "kafka_sasl_password": DEV_PASSWORD,
            "kafka_ssl_ca_file": str(self.ca_file),
        }

    def grant(self, prefix: str, *, group_prefix: str | None = None, topics: bool = True) -> None:
        """The services' rights on the topics of `prefix` (unless not `topics`) and the consumer groups of
        `group_prefix` (the topic prefix when None), and their users on the first call."""
        users = [] if self._server is not None else spec("", dict.fromkeys(USERS, DEV_PASSWORD))
        granted = spec(prefix, {}, group_prefix=group_prefix)
        self.apply([line for line in users if line.startswith("user ")] + _only_groups(granted, not topics))

    def withdraw(self, prefix: str, *, group_prefix: str | None = None, topics: bool = True) -> None:
        """Every right on the topics of `prefix` (unless not `topics`) and the groups of `group_prefix`, taken
        away (deleting a topic leaves its ACLs behind)."""
        self.apply(_only_groups(withdrawal(prefix, group_prefix=group_prefix), not topics))

    def apply(self, lines: list[str]) -> None:
        with self._lock:
            if self._server is None or self._server.poll() is not None:
                self._server = subprocess.Popen(
                    [str(ROOT / "deploy/local/kafka.sh"), "access", "--serve"],
                    cwd=ROOT,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                )
            assert self._server.stdin is not None
            assert self._server.stdout is not None
            self._server.stdin.write("\n".join([*lines, "apply"]) + "\n")
            self._server.stdin.flush()
            for answer in self._server.stdout:
                if answer.startswith("ok "):
                    return
                if answer.startswith("error "):
                    raise RuntimeError(f"kafka.sh access: {answer.strip()}")
            raise RuntimeError("kafka.sh access --serve ended (see .local/kafka/access.log)")

    def close(self) -> None:
        if self._server is not None:
            assert self._server.stdin is not None
            self._server.stdin.close()
            self._server.wait(timeout=30)


def _only_groups(lines: list[str], only_groups: bool) -> list[str]:
    return [line for line in lines if " GROUP " in line] if only_groups else lines


def secured_kafka(bootstrap: str) -> SecuredKafka | None:
    """The native broker's SASL_SSL listener, unless the tests run elsewhere or PULSE_TEST_KAFKA_SECURED=0."""
    if bootstrap != NATIVE_KAFKA or os.environ.get("PULSE_TEST_KAFKA_SECURED", "1") == "0":
        return None
    if not NATIVE_KAFKA_CA.exists():
        return None
    host, _, port = NATIVE_KAFKA_SECURED.partition(":")
    try:
        socket.create_connection((host, int(port)), timeout=2).close()
    except OSError:
        return None
    return SecuredKafka(NATIVE_KAFKA_SECURED, NATIVE_KAFKA_CA)


@dataclass
class Stack:
    kafka_bootstrap: str  # anonymous super users: the tests themselves, standing in for upstream systems
    database_url: str  # the server's maintenance database; tests create their own databases
    kind: str  # "native" or "docker"
    _pg_container: object | None = None
    kafka_secured: SecuredKafka | None = None  # where the services sign in, where there is such a listener

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
        bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", NATIVE_KAFKA)
        return (
            Stack(
                kafka_bootstrap=bootstrap,
                database_url=os.environ.get("DATABASE_URL", NATIVE_DATABASE),
                kind="native",
                kafka_secured=secured_kafka(bootstrap),
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
