"""Faults for the failure suite (tests/e2e/test_failure_suite.py): a seeded plan of SIGKILLs of service
processes, a broker restart and a database restart, carried out at their moments while the test goes on; and
the questions the suite asks of one set of services: has everything converged, what is the read model.

Every fault is carried out off the event loop (the webhook receiver lives on it) and one at a time: a
restarted service is healthy again before the next fault begins."""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiosmtpd.controller import Controller

from shared.kafka.connection import KafkaConnection
from shared.kafka.lag import group_lag
from shared.topics import PARTITIONS, Topic, consumer_group, topic_name
from tests.support.processes import ServiceProcess
from tests.support.receivers import Inbox, Receiver
from tests.support.stack import ROOT, Stack, free_port

Stage = Literal["stream", "close", "derive"]
STAGES: tuple[Stage, ...] = ("stream", "close", "derive")
Kind = Literal["kill", "broker", "database"]

# What each service consumes (services/<name>/__main__.py): the consumer groups whose lag must reach 0.
SUBSCRIPTIONS: dict[str, tuple[Topic, ...]] = {
    "snapshotter": (Topic.LOAN_EVENTS, Topic.WEALTH_EVENTS, Topic.CONTROL),
    "returns": (Topic.SNAPSHOTS,),
    "aggregator": (Topic.SNAPSHOTS, Topic.RETURNS, Topic.ALERTS),
    "alerter": (Topic.LOAN_EVENTS, Topic.AGGREGATES),
}
SERVICES = tuple(SUBSCRIPTIONS)

# The read model the gateway serves, each table with its primary key. Revisions and timestamps are left out
# of every comparison: they legitimately differ between a disturbed run and a replay.
READ_MODEL_TABLES: dict[str, tuple[str, ...]] = {
    "aggregator.loan_summaries": ("scope", "business_date"),
    "aggregator.wealth_client_days": ("client_id", "as_of"),
    "aggregator.wealth_date_totals": ("as_of",),
    "aggregator.wealth_date_allocations": ("as_of", "dimension", "name"),
}
# The snapshotter's own results, which the replay must reproduce too: the replay's aggregator also reads the
# first run's snapshots from the topic, so the read model alone would not show a snapshotter that made none.
SNAPSHOTTER_TABLES: dict[str, tuple[str, ...]] = {
    "snapshotter.officer_days": ("officer_id", "business_date"),
    "snapshotter.valuations": ("client_id", "as_of"),
    "snapshotter.loan_calendar": (),
}
NOT_COMPARED = frozenset({"revision", "updated_at", "computed_at"})
# Except these: running sums over clients of cᵢ·rᵢ (and of cᵢ), 28-significant-digit products (and sums)
# of Python's default decimal context, added up batch by batch with a restated client applied as "new minus
# old" (services/aggregator/handlers.py on_returns, wealth/contributions.py). Their last digits (~1e-21) depend
# on how the updates were batched, which no two runs share; the gateway divides them and rounds to 4 places.
# They are compared to 1e-12.
APPROXIMATE: dict[str, tuple[str, ...]] = {"aggregator.wealth_date_totals": ("_weighted", "_capital")}
TOLERANCE = Decimal("1e-12")
ALERT_COLUMNS = ("alert_id", "alert_type", "severity", "scope", "business_date", "status")


# --- the plan ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Fault:
    stage: Stage
    at: float  # seconds after the stage began
    kind: Kind
    target: str  # the service killed, or "kafka" / "postgres"
    down: float  # seconds the target stays down before it is started again

    def describe(self) -> str:
        what = f"SIGKILL {self.target}" if self.kind == "kill" else f"restart {self.target}"
        return f"{self.stage:>6} +{self.at:4.1f}s  {what} (down {self.down:.1f}s)"


# When each service is busy, hence where its kills go: every service while the history streams (the
# snapshotter ingests it, returns and aggregator derive the wealth side, the alerter keeps the directory);
# the snapshotter again while it computes the day close; the others again while the close's snapshots flow
# through them (loan aggregates, alerts, notifications).
KILL_STAGES: dict[str, tuple[Stage, ...]] = {
    "snapshotter": ("stream", "close"),
    "returns": ("stream", "derive"),
    "aggregator": ("stream", "derive"),
    "alerter": ("stream", "derive"),
}


def plan_faults(rng: random.Random, windows: Mapping[Stage, tuple[float, float]]) -> list[Fault]:
    """Two SIGKILLs of each service (in the stages of KILL_STAGES), one broker restart and one database
    restart (in two different stages drawn from `rng`), each at a moment drawn from `rng` in its stage's
    window (seconds after the stage began) and down for a drawn while; in the order they happen."""
    slots: list[tuple[Stage, Kind, str]] = [
        (stage, "kill", service) for service, stages in KILL_STAGES.items() for stage in stages
    ]
    broker, database = rng.sample(STAGES, 2)
    slots += [(broker, "broker", "kafka"), (database, "database", "postgres")]
    faults = []
    for stage, kind, target in slots:
        low, high = windows[stage]
        down = round(rng.uniform(0.0, 2.0), 1) if kind == "kill" else round(rng.uniform(2.0, 5.0), 1)
        faults.append(Fault(stage, round(rng.uniform(low, high), 1), kind, target, down))
    return sorted(faults, key=lambda f: (STAGES.index(f.stage), f.at))


# --- carrying it out -----------------------------------------------------------------------------------------


@dataclass
class Chaos:
    """Carries out the faults of a plan, stage by stage, against the stack and one set of services, each run as
    one or several instances: a service's kills go to its instances in turn (the first to instance 1, the
    second to instance 2, ...)."""

    stack: Stack
    processes: Mapping[str, Sequence[ServiceProcess]]
    log: Callable[[str], None] = print
    done: list[tuple[Fault, float]] = field(default_factory=list)  # each fault and how long it took
    kills: dict[str, int] = field(default_factory=dict)  # service -> kills so far

    async def run_stage(self, faults: Sequence[Fault], stage: Stage, began: float) -> None:
        """Carry out `stage`'s faults at their moments (`began`: time.monotonic() when the stage began)."""
        for fault in (f for f in faults if f.stage == stage):
            await asyncio.sleep(max(began + fault.at - time.monotonic(), 0.0))
            started = time.monotonic()
            await self.inflict(fault)
            took = time.monotonic() - started
            self.done.append((fault, took))
            self.log(f"  chaos: {fault.describe()} at {started - began:5.1f}s; back after {took:.1f}s")

    async def inflict(self, fault: Fault) -> None:
        if fault.kind == "kill":
            instances = self.processes[fault.target]
            count = self.kills.get(fault.target, 0)
            self.kills[fault.target] = count + 1
            process = instances[count % len(instances)]
            self.log(f"  chaos: SIGKILL {fault.target} instance {process.instance} of {len(instances)}")
            await asyncio.to_thread(process.kill, signal.SIGKILL)
            await asyncio.sleep(fault.down)
            await asyncio.to_thread(process.start)  # waits until healthy
        elif fault.kind == "broker":
            await asyncio.to_thread(restart_kafka, self.stack, fault.down)
        else:
            await asyncio.to_thread(restart_postgres, self.stack, fault.down)


def restart_kafka(stack: Stack, down: float) -> None:
    """Stop the native broker (deploy/local/kafka.sh: SIGTERM, it keeps its data) and start it again."""
    if stack.kind != "native":
        raise RuntimeError("restarting the broker needs the native stack (deploy/local/kafka.sh)")
    script = str(ROOT / "deploy/local/kafka.sh")
    subprocess.run([script, "stop"], check=True, cwd=ROOT, capture_output=True, timeout=120)
    time.sleep(down)
    subprocess.run([script, "start"], check=True, cwd=ROOT, capture_output=True, timeout=180)


def restart_postgres(stack: Stack, down: float) -> None:
    stack.stop_postgres()
    time.sleep(down)
    stack.start_postgres()


# --- receivers for a second set of services ----------------------------------------------------------------


@contextlib.asynccontextmanager
async def notification_receivers() -> AsyncIterator[tuple[Inbox, int, Receiver]]:
    """A second SMTP server and webhook receiver (what the `smtp` and `receiver` fixtures give, once more)."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    hooks = Receiver()
    await hooks.start()
    try:
        yield inbox, port, hooks
    finally:
        await hooks.stop()
        controller.stop()


# --- convergence ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class State:
    """What is still in flight in one set of services."""

    lags: dict[str, int | None]  # consumer group -> records not committed yet (None: nothing committed)
    restatements: int
    outboxes: dict[str, int]  # schema -> rows not relayed yet
    deliveries: dict[str, int]  # status -> count

    @property
    def converged(self) -> bool:
        return (
            all(lag == 0 for lag in self.lags.values())
            and self.restatements == 0
            and not any(self.outboxes.values())
            and set(self.deliveries) <= {"delivered"}
        )

    def describe(self) -> str:
        behind = {g.split("pulse.", 1)[-1]: lag for g, lag in self.lags.items() if lag != 0}
        pending = {s: n for s, n in self.outboxes.items() if n}
        return (
            f"lag {behind or 0}, restatements {self.restatements}, outbox {pending or 0}, deliveries {self.deliveries}"
        )


async def state(bootstrap: str, prefix: str, group_prefix: str, database_url: str) -> State:
    lags: dict[str, int | None] = {}
    for service, topics in SUBSCRIPTIONS.items():
        for topic in topics:
            group = consumer_group(service, topic, group_prefix)
            lags[group] = await group_lag(KafkaConnection(bootstrap), group, topic_name(topic, prefix))
    conn = await asyncpg.connect(database_url)
    try:
        restatements = await conn.fetchval("SELECT count(*) FROM snapshotter.restatements")
        outboxes = {s: await conn.fetchval(f"SELECT count(*) FROM {s}.outbox") for s in SERVICES}
        rows = await conn.fetch("SELECT status, count(*) AS n FROM alerter.deliveries GROUP BY status")
    finally:
        await conn.close()
    return State(lags, int(restatements), {s: int(n) for s, n in outboxes.items()}, {r["status"]: r["n"] for r in rows})


async def wait_converged(
    bootstrap: str,
    prefix: str,
    group_prefix: str,
    database_url: str,
    *,
    timeout: float,
    log: Callable[[str], None] = print,
    every: float = 2.0,
    report_every: float = 15.0,
) -> State:
    """Wait until two readings `every` s apart both find nothing in flight; fail after `timeout` s. A reading
    that fails (the broker or the database just restarted) counts as not converged."""
    deadline = time.monotonic() + timeout
    last_report = time.monotonic()
    streak = 0
    last: State | None = None
    while time.monotonic() < deadline:
        try:
            last = await state(bootstrap, prefix, group_prefix, database_url)
        except Exception as exc:  # e.g. a schema not created yet, a restarting broker
            log(f"  (convergence not readable yet: {type(exc).__name__}: {str(exc)[:120]})")
            last, streak = None, 0
        else:
            streak = streak + 1 if last.converged else 0
            if streak >= 2:
                return last
        if time.monotonic() - last_report >= report_every and last is not None:
            log(f"  waiting: {last.describe()}")
            last_report = time.monotonic()
        await asyncio.sleep(every)
    raise AssertionError(f"not converged within {timeout:.0f} s: {last.describe() if last else 'unreadable'}")


async def dead_letter_count(bootstrap: str, prefix: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        name = topic_name(Topic.DEAD_LETTERS, prefix)
        partitions = [TopicPartition(name, p) for p in range(PARTITIONS[Topic.DEAD_LETTERS])]
        ends = await consumer.end_offsets(partitions)
        starts = await consumer.beginning_offsets(partitions)
        return int(sum(ends[tp] - starts[tp] for tp in partitions))
    finally:
        await consumer.stop()


async def topic_size(bootstrap: str, prefix: str, topic: Topic) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic_name(topic, prefix), p) for p in range(PARTITIONS[topic])]
        ends = await consumer.end_offsets(partitions)
        return int(sum(ends.values()))
    finally:
        await consumer.stop()


# --- the read model ------------------------------------------------------------------------------------------

ReadModel = dict[str, dict[tuple[Any, ...], dict[str, Any]]]


async def read_model(database_url: str) -> ReadModel:
    """Every row of the read model (and of the snapshotter's snapshots) by table and primary key, without
    revisions and timestamps; the alerts by alert_id with ALERT_COLUMNS (pending acknowledgements, status
    NULL, are not alerts)."""
    conn = await asyncpg.connect(database_url)
    try:
        model: ReadModel = {}
        for table, key in {**READ_MODEL_TABLES, **SNAPSHOTTER_TABLES}.items():
            rows = await conn.fetch(f"SELECT * FROM {table}")
            model[table] = {
                tuple(r[k] for k in key): {c: v for c, v in r.items() if c not in NOT_COMPARED} for r in rows
            }
        rows = await conn.fetch(f"SELECT {', '.join(ALERT_COLUMNS)} FROM aggregator.alerts WHERE status IS NOT NULL")
        model["aggregator.alerts"] = {(r["alert_id"],): dict(r) for r in rows}
        return model
    finally:
        await conn.close()


def same(table: str, column: str, left: Any, right: Any) -> bool:
    if left == right:
        return True
    if isinstance(left, Decimal) and isinstance(right, Decimal) and column.endswith(APPROXIMATE.get(table, ())):
        return abs(left - right) <= TOLERANCE
    return False


def differences(a: ReadModel, b: ReadModel, *, limit: int = 8) -> list[str]:
    """Human-readable differences between two read models (at most `limit` per table)."""
    out: list[str] = []
    for table in sorted(set(a) | set(b)):
        rows_a, rows_b = a.get(table, {}), b.get(table, {})
        found: list[str] = []
        for key in sorted(set(rows_a) | set(rows_b), key=repr):
            left, right = rows_a.get(key), rows_b.get(key)
            if left is None or right is None:
                found.append(f"{table} {key}: only in {'B' if left is None else 'A'}")
                continue
            cols = {c: (left[c], right.get(c)) for c in left if not same(table, c, left[c], right.get(c))}
            if cols:
                found.append(f"{table} {key}: {cols}")
        if found:
            out.append(f"{table}: {len(found)} rows differ (A {len(rows_a)} rows, B {len(rows_b)} rows)")
            out += ["  " + line for line in found[:limit]]
    return out
