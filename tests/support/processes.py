"""Pulse services as real processes (`python -m services.<name>`), as they run in production."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from shared.kafka.access import user_of
from tests.support.stack import JWT_SECRET, ROOT, free_port, login_url

PORT_SETTING = {
    "snapshotter": "PULSE_SNAPSHOTTER_PORT",
    "returns": "PULSE_RETURNS_PORT",
    "aggregator": "PULSE_AGGREGATOR_PORT",
    "alerter": "PULSE_ALERTER_PORT",
    "gateway": "PULSE_GATEWAY_PORT",
}


def service_logins(env: dict[str, str], name: str) -> dict[str, str]:
    """`env` with the database logins of service `name`, as deployed (shared.db_roles): its own login in
    DATABASE_URL (the administrator's, as tests hold it, otherwise), the schema owner's for its migrations."""
    url = env.get("DATABASE_URL")
    if url is None:
        return env
    logins = {"DATABASE_URL": login_url(url, name), "PULSE_MIGRATION_DATABASE_URL": login_url(url, "owner")}
    return {**env, **logins}


class ServiceProcess:
    """One instance of a service; instance k > 1 of several (same consumer groups) logs to <name>-k.log.
    It signs in to the database with the service's own login (`service_logins`)."""

    def __init__(self, name: str, env: dict[str, str], log_dir: Path, *, instance: int = 1) -> None:
        self.name = name
        self.instance = instance
        self.port = free_port()
        given = {"PULSE_JWT_SECRET": JWT_SECRET, **os.environ, **env, PORT_SETTING[name]: str(self.port)}
        if given.get("PULSE_KAFKA_SECURITY_PROTOCOL", "").startswith("SASL_"):
            given.setdefault("PULSE_KAFKA_SASL_USERNAME", user_of(name))  # its own Kafka user too
        self.env = service_logins(given, name)
        self.log_path = log_dir / (f"{name}.log" if instance == 1 else f"{name}-{instance}.log")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, wait: bool = True) -> ServiceProcess:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", f"services.{self.name}"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if wait:
            self.wait_healthy()
        return self

    def wait_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited with {self.proc.returncode}:\n{self.logs()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"{self.name} not healthy within {timeout} s:\n{self.logs()[-3000:]}")

    def metrics(self) -> str:
        with urllib.request.urlopen(f"{self.url}/metrics", timeout=5) as response:  # noqa: S310
            return str(response.read().decode())

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def metric_value(text: str, name: str, **labels: str) -> float:
    """The value of one sample of Prometheus text output (0 if absent)."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        head, _, value = line.rpartition(" ")
        metric, _, label_text = head.partition("{")
        if metric != name:
            continue
        pairs = dict(p.split("=", 1) for p in label_text.rstrip("}").split(",") if "=" in p)
        pairs = {k: v.strip('"') for k, v in pairs.items()}
        if all(pairs.get(k) == v for k, v in labels.items()):
            return float(value)
    return 0.0
