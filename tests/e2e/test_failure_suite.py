"""The failure suite (issue 6, item 2; CONTRACT §1 "idempotent consumers", "transient faults … never skipped",
"Replaying all topics from offset 0 into empty stores yields the same read model").

A history of more than 200,000 inbound events (the demo loan book, scaled up, and a small wealth book, dated up
to a fixed day) streams through snapshotter, returns, aggregator and alerter, three instances of each sharing
their consumer groups' partitions (run A; issue 11's scale-out proof), while an instance of each is SIGKILLed at
seeded random moments and restarted (twice per service, two different instances), the broker is restarted and
PostgreSQL is restarted. Once everything has converged, a second set of the same services, one instance each,
with empty stores and new consumer groups (run B, undisturbed) replays every topic from offset 0. Then:

(a) A's read model equals B's: every loan summary on every day, every wealth row, every alert (revisions and
    timestamps aside; wealth totals' weighted sums to 1e-12, see tests/support/chaos.py APPROXIMATE); and so do
    the snapshotter's own snapshots (officer days, valuations, the last closed day): B's aggregator also reads
    A's snapshots from the shared topic, so its read model alone would not show a replayed snapshotter that
    made none;
(b) no event was lost or counted twice: each snapshotter's event log holds exactly the distinct event ids
    published, nothing was dead-lettered, and the book's totals are those of the generated events;
(c) no notification was sent twice: A's receivers got every planned delivery, and any delivery received more
    than once came again under the same delivery id (see `check_notifications`).

`pytest -s` prints the fault plan, each phase's duration and the counts.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import heapq
import json
import os
import random
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import asyncpg
import pytest

from cli.demo.command import to_record
from cli.demo.loans import generate_loan_book
from cli.demo.wealth import generate_wealth_book
from services.alerter.notify.plan import delivery_id
from services.snapshotter.handlers import CLOSE_CONTINUED
from shared.kafka.connection import KafkaConnection
from shared.kafka.lag import wait_caught_up
from shared.kafka.producer import OutboundRecord, Producer
from shared.topics import Topic, consumer_group, topic_name
from tests.conftest import World
from tests.support.chaos import (
    SERVICES,
    Chaos,
    ReadModel,
    Stage,
    dead_letter_count,
    differences,
    notification_receivers,
    plan_faults,
    read_model,
    topic_size,
    wait_converged,
)
from tests.support.kafka import Received, eventually
from tests.support.processes import ServiceProcess
from tests.support.receivers import Inbox, Receiver
from tests.support.stack import create_database, drop_database

pytestmark = pytest.mark.e2e

SEED = 20251120  # the history
# Instances of each service in run A (PULSE_FAILURE_REPLICAS=1 runs the single-instance suite).
REPLICAS = int(os.environ.get("PULSE_FAILURE_REPLICAS", "3"))
# The fault plan's seed; PULSE_FAILURE_SEED=N tries another plan (the run prints the plan it used).
FAULT_SEED = int(os.environ.get("PULSE_FAILURE_SEED", "4"))
TODAY = dt.date(2025, 11, 20)  # fixed: the same history on every run
LAST_DAY = TODAY - dt.timedelta(days=1)
# ~204,000 loan events (8,000 clients, 15,000 loans over 13 months, 30 officers) and ~3,600 wealth events
# (12 clients: few, so that their large valuations weigh little in bytes).
LOANS = {"months": 13, "officers_per_branch": 10, "clients": 8_000, "loans": 15_000}
WEALTH = {"months": 13, "clients": 12}
MIN_EVENTS = 200_000
CHUNK = 5_000
# Faults start in these spans (seconds) after their stage began (tests/support/chaos.py KILL_STAGES):
# "stream" at the first publish (publishing and ingesting the history takes ~65 s undisturbed), "close" at the
# day close's publication (the snapshotter computes its ~400 days in ~40 s), "derive" when the close is
# committed (its ~12,000 snapshots become aggregates, alerts and notifications in ~10 s).
WINDOWS: dict[Stage, tuple[float, float]] = {"stream": (3.0, 45.0), "close": (2.0, 30.0), "derive": (0.5, 8.0)}
SECRET = "failure-suite-webhook-secret-0123456789"
ADMIN = "ceo@bank.test"
CONVERGE_TIMEOUT = 420.0
DELIVERIES = "SELECT delivery_id, alert_id, alert_event, channel, recipient, status FROM alerter.deliveries"


def log(message: str) -> None:
    print(message, flush=True)


def history() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The data events in publishing order (loans and wealth merged by occurred_at, each in its own order),
    and the control events (the day close) published once they are ingested."""
    loans = generate_loan_book(SEED, today=TODAY, **LOANS)
    wealth = generate_wealth_book(SEED, today=TODAY, **WEALTH)
    merged = list(heapq.merge(loans, wealth, key=lambda e: dt.datetime.fromisoformat(e["occurred_at"])))
    control = [e for e in merged if e["event_type"] == "business_day.closed"]
    data = [e for e in merged if e["event_type"] != "business_day.closed"]
    return data, control


async def publish(bootstrap: str, records: Sequence[OutboundRecord]) -> None:
    """In order, in chunks, each acknowledged before the next (a broker restart is retried by `send_all`; a
    re-sent chunk only duplicates records, which the consumers absorb)."""
    async with Producer(
        KafkaConnection(bootstrap), client_id="pulse-failure-suite", service="failure-suite"
    ) as producer:
        for start in range(0, len(records), CHUNK):
            await producer.send_all(records[start : start + CHUNK])


async def fetch(database_url: str, query: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(database_url)
    try:
        return list(await conn.fetch(query))
    finally:
        await conn.close()


async def closed(database_url: str) -> bool:
    """The snapshotter has committed the day close (PostgreSQL may be restarting: then not yet)."""
    try:
        rows = await fetch(database_url, "SELECT last_closed_on FROM snapshotter.loan_calendar")
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
        return False
    return bool(rows and rows[0]["last_closed_on"] == LAST_DAY)


async def start_all(processes: Sequence[ServiceProcess]) -> None:
    await asyncio.gather(*(asyncio.to_thread(p.start) for p in processes))


async def stop_all(processes: Sequence[ServiceProcess]) -> None:
    await asyncio.gather(*(asyncio.to_thread(p.stop) for p in processes))


def notification_env(smtp_port: int, hook: str) -> dict[str, str]:
    return {
        "PULSE_SMTP_PORT": str(smtp_port),
        "PULSE_SMTP_TLS": "none",
        "PULSE_WEBHOOKS": json.dumps([{"url": hook, "secrets": [SECRET]}]),
        "PULSE_ADMIN_EMAILS": json.dumps([ADMIN]),
        # The whole history is notified: a horizon of 100,000 days reaches back before its first day.
        "PULSE_NOTIFICATION_HORIZON_DAYS": "100000",
        "PULSE_NOTIFICATION_RETRY_INITIAL_SECONDS": "0.2",
        "PULSE_NOTIFICATION_RETRY_MAX_SECONDS": "2",
        "PULSE_NOTIFICATION_ATTEMPT_TIMEOUT_SECONDS": "3",
    }


# --- expected figures, straight from the generated events ------------------------------------------------------


def expected_totals(data: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """What the read model must say whatever happened on the way: the whole book's flows to date on the last
    day, and the AUM and client count of every wealth date (the latest valuation by occurred_at wins)."""
    loans: dict[str, Decimal] = {}
    payments: dict[str, Decimal] = {}
    valuations: dict[tuple[str, str], tuple[str, Decimal]] = {}
    for e in data:
        d, kind = e["data"], e["event_type"]
        if kind == "loan.disbursed":
            loans[d["loan_id"]] = Decimal(d["principal"])
        elif kind == "loan.repayment_received":
            payments[d["payment_id"]] = Decimal(d["principal"]) + Decimal(d["interest"]) + Decimal(d["fees"])
        elif kind == "portfolio.valued":
            key = (d["client_id"], d["as_of"])
            at = e["occurred_at"]
            if key not in valuations or valuations[key][0] <= at:
                valuations[key] = (at, sum((Decimal(str(p["market_value"])) for p in d["positions"]), Decimal(0)))
    aum: dict[dt.date, tuple[int, Decimal]] = {}
    for (_, as_of), (_, value) in valuations.items():
        day = dt.date.fromisoformat(as_of)
        n, total = aum.get(day, (0, Decimal(0)))
        aum[day] = (n + 1, total + value)
    return {
        "total_loans": len(loans),
        "total_disbursed": sum(loans.values(), Decimal(0)),
        "total_collected": sum(payments.values(), Decimal(0)),
        "aum": aum,
    }


def check_totals(model: ReadModel, expected: dict[str, Any], run: str) -> list[str]:
    problems = []
    row = model["aggregator.loan_summaries"].get(("all", LAST_DAY))
    if row is None:
        return [f"{run}: no loan summary of scope all on {LAST_DAY}"]
    for name in ("total_loans", "total_disbursed", "total_collected"):
        if row[name] != expected[name]:
            problems.append(f"{run}: all/{LAST_DAY} {name} = {row[name]}, the events say {expected[name]}")
    totals = model["aggregator.wealth_date_totals"]
    got = {k[0]: (r["client_count"], r["total_aum"]) for k, r in totals.items()}
    wrong = {d: (got.get(d), v) for d, v in expected["aum"].items() if got.get(d) != v}
    extra = set(got) - set(expected["aum"])
    if wrong or extra:
        problems.append(
            f"{run}: wealth totals (client_count, total_aum) differ from the valuations on {len(wrong)} dates, "
            f"e.g. {sorted(wrong.items())[:3]}; dates without valuations: {sorted(extra)[:3]}"
        )
    return problems


# --- notifications -------------------------------------------------------------------------------------------


def check_notifications(
    run: str,
    deliveries: Sequence[asyncpg.Record],
    alert_events: Sequence[dict[str, Any]],
    hooks: Sequence[Any],
    mails: Sequence[Any],
) -> tuple[list[str], dict[str, int]]:
    """No notification sent twice, every planned one sent.

    The worker sends at least once: a delivery whose attempt was cut short by a SIGKILL (sent, but its outcome
    not recorded yet) is attempted again when its lease ends, under the SAME delivery id (`X-Pulse-Delivery`,
    the email's Message-ID), which receivers dedupe on. Such a re-send is counted and reported, and must carry
    the same body. What must never happen is two DIFFERENT delivery ids for one alert change and recipient,
    or a delivery received that was never planned."""
    problems: list[str] = []
    planned = {r["delivery_id"]: r for r in deliveries}
    not_delivered = [r["delivery_id"] for r in deliveries if r["status"] != "delivered"]
    if not_delivered:
        problems.append(f"{run}: {len(not_delivered)} deliveries not delivered, e.g. {not_delivered[:3]}")

    # Every delivery id a receiver can see, back to the alert change and recipient it is for.
    changes = {e["event_id"]: e for e in alert_events}
    recipients = {r["recipient"] for r in deliveries} | {r for m in mails for r in m.rcpt_tos}
    origin: dict[str, tuple[str, str, str]] = {}
    for event_id in changes:
        for recipient in recipients:
            for channel in ("email", "webhook"):
                key = recipient.lower() if channel == "email" else recipient
                origin[delivery_id(event_id, channel, key)] = (event_id, channel, recipient.lower())

    received: list[tuple[str, str, bytes]] = []  # delivery id, channel, body
    for h in hooks:
        received.append((h.headers.get("x-pulse-delivery", ""), "webhook", h.body))
        if not h.signed_by([SECRET]):
            problems.append(f"{run}: webhook {h.headers.get('x-pulse-delivery')} with a bad signature")
    for m in mails:
        body = m.message.get_body(preferencelist=("plain",))
        text = body.get_content().encode() if body is not None else b""
        received.append((str(m.message.get("X-Pulse-Delivery", "")), "email", text))

    counts = Counter(d for d, _, _ in received)
    bodies: dict[str, set[bytes]] = defaultdict(set)
    for d, _, body in received:
        bodies[d].add(body)
    resent = {d: n for d, n in counts.items() if n > 1}
    changed_body = [d for d in resent if len(bodies[d]) > 1]
    if changed_body:
        problems.append(f"{run}: deliveries re-sent with a different body: {changed_body[:3]}")
    unplanned = sorted(set(counts) - set(planned))
    if unplanned:
        problems.append(f"{run}: {len(unplanned)} deliveries received that were never planned, e.g. {unplanned[:3]}")
    missing = sorted(set(planned) - set(counts))
    if missing:
        problems.append(f"{run}: {len(missing)} planned deliveries never received, e.g. {missing[:3]}")
    unknown = sorted(d for d in counts if d not in origin)
    if unknown:
        problems.append(f"{run}: {len(unknown)} deliveries received for no alert event on `alerts`: {unknown[:3]}")

    # One alert change, one recipient: one delivery id. An alert change is what a person sees: the scope, the
    # rule, the day, the severity and whether it was raised or resolved (not the alert id or revision, which a
    # double evaluation would make anew).
    per_change: dict[tuple[Any, ...], set[str]] = defaultdict(set)
    for d in counts:
        if d in origin:
            event_id, channel, recipient = origin[d]
            e = changes[event_id]
            a = e["data"]
            per_change[(e["event_type"], a["scope"], a["alert_type"], a["business_date"], a["severity"],
                        channel, recipient)].add(d)  # fmt: skip
    doubled = {k: v for k, v in per_change.items() if len(v) > 1}
    if doubled:
        problems.append(f"{run}: {len(doubled)} alert changes notified under several delivery ids: "
                        f"{list(doubled.items())[:3]}")  # fmt: skip
    stats = {
        "planned": len(planned),
        "webhooks received": len(hooks),
        "emails received": len(mails),
        "re-sent under the same id": sum(n - 1 for n in resent.values()),
    }
    return problems, stats


async def alert_events(world: World, bootstrap: str) -> list[dict[str, Any]]:
    """The distinct alert.raised / alert.resolved events on `alerts` (a relay re-send shows up twice)."""
    size = await topic_size(bootstrap, world.prefix, Topic.ALERTS)

    def complete(records: list[Received]) -> bool:
        return len(records) >= size

    records = await world.bus.read_until(Topic.ALERTS, complete, timeout=60)
    events = {}
    for r in records:
        e = json.loads(r.value or b"{}")
        if e.get("event_type") in ("alert.raised", "alert.resolved"):
            events[e["event_id"]] = e
    return list(events.values())


# --- the test ------------------------------------------------------------------------------------------------


@pytest.mark.timeout(900)
async def test_faults_change_nothing_and_a_replay_reproduces_the_read_model(
    world: World, smtp: tuple[Inbox, int], receiver: Receiver
) -> None:
    stack = world.stack
    if stack.kind != "native":
        pytest.skip("restarting the broker needs the native stack (deploy/local/kafka.sh)")
    bootstrap, prefix = stack.kafka_bootstrap, world.prefix
    timings: dict[str, float] = {}
    began = time.monotonic()

    # -- the history ---------------------------------------------------------------------------------------
    t = time.monotonic()
    data, control = history()
    published_ids = {e["event_id"] for e in data + control}
    records = [to_record(e, prefix) for e in data]
    closes = [to_record(e, prefix) for e in control]
    expected = expected_totals(data)
    timings["generate"] = time.monotonic() - t
    by_type = Counter(e["event_type"] for e in data + control)
    log(f"\nhistory: {len(published_ids)} events through {LAST_DAY} ({sum(len(r.value) for r in records) / 1e6:.0f}"
        f" MB): {dict(sorted(by_type.items()))}")  # fmt: skip
    assert len(published_ids) >= MIN_EVENTS

    faults = plan_faults(random.Random(FAULT_SEED), WINDOWS)
    log(f"run A: {REPLICAS} instance(s) of each of {', '.join(SERVICES)}")
    log(f"fault plan (seed {FAULT_SEED}):\n" + "\n".join("  " + f.describe() for f in faults))

    # -- run A: disturbed --------------------------------------------------------------------------------------
    inbox_a, smtp_port_a = smtp
    world.extra_env.update(notification_env(smtp_port_a, receiver.url("/hook-a")))
    t = time.monotonic()
    a = {name: [world.service(name, start=False, instance=k) for k in range(1, REPLICAS + 1)] for name in SERVICES}
    processes_a = [p for instances in a.values() for p in instances]
    await start_all(processes_a)
    chaos = Chaos(stack, a, log)
    timings["A start"] = time.monotonic() - t

    t = time.monotonic()
    stream_chaos = asyncio.create_task(chaos.run_stage(faults, "stream", t))
    await publish(bootstrap, records)
    timings["A publish"] = time.monotonic() - t
    log(f"A: published {len(records)} records in {timings['A publish']:.1f} s")
    await stream_chaos
    for topic in (Topic.LOAN_EVENTS, Topic.WEALTH_EVENTS):
        group = consumer_group("snapshotter", topic, prefix)
        lag = await wait_caught_up(
            KafkaConnection(bootstrap), group, topic_name(topic, prefix), within=CONVERGE_TIMEOUT
        )
        assert lag == 0, f"the snapshotter did not ingest {topic} (lag {lag})"
    timings["A publish + ingest"] = time.monotonic() - t
    log(f"A: ingested in {timings['A publish + ingest']:.1f} s "
        f"({len(records) / timings['A publish + ingest']:.0f} events/s with the faults)")  # fmt: skip

    t = time.monotonic()
    close_chaos = asyncio.create_task(chaos.run_stage(faults, "close", t))
    await publish(bootstrap, closes)
    await close_chaos
    await eventually(lambda: closed(world.database_url), timeout=CONVERGE_TIMEOUT, interval=0.5)
    timings["A close computed"] = time.monotonic() - t
    t = time.monotonic()
    await chaos.run_stage(faults, "derive", t)
    state_a = await wait_converged(bootstrap, prefix, prefix, world.database_url, timeout=CONVERGE_TIMEOUT, log=log)
    timings["A derived → converged"] = time.monotonic() - t
    log(f"A: close computed in {timings['A close computed']:.1f} s, converged {timings['A derived → converged']:.1f}"
        f" s later: {state_a.describe()}")  # fmt: skip
    assert len(chaos.done) == len(faults)

    # A's services stop before B starts: B writes to the same topics, which A must not consume.
    await stop_all(processes_a)
    t = time.monotonic()
    model_a = await read_model(world.database_url)
    log_a = {r["event_id"] for r in await fetch(world.database_url, "SELECT event_id FROM snapshotter.event_log")}
    deliveries_a = await fetch(world.database_url, DELIVERIES)
    # The receivers may still be answering a request the stopped alerter had sent: give them a moment.
    await asyncio.sleep(1)
    events_a = await alert_events(world, bootstrap)
    problems, notified_a = check_notifications("A", deliveries_a, events_a, receiver.to("/hook-a"), inbox_a.mails)
    timings["A read"] = time.monotonic() - t

    # -- run B: a replay of every topic from offset 0 into empty stores, undisturbed ----------------------------
    database_b = f"{world.database_url.rpartition('/')[2]}_b"
    url_b = await create_database(stack.database_url, database_b)
    group_prefix_b = f"replay-{uuid.uuid4().hex[:8]}-"
    b: list[ServiceProcess] = []
    secured = stack.kafka_secured
    if secured is not None:  # B's services read the same topics in consumer groups of their own
        await asyncio.to_thread(secured.grant, prefix, group_prefix=group_prefix_b, topics=False)
    try:
        # B notifies a receiver pair of its own rather than nobody: A's receivers see A's deliveries only (what (c)
        # is about), while B still plans and sends its notifications like any alerter, so "every delivery
        # delivered" is part of B's convergence exactly as of A's. Switching them off instead (no webhook URL,
        # a closed SMTP port) would leave B's emails pending, retried until they give up an hour later.
        async with notification_receivers() as (inbox_b, smtp_port_b, receiver_b):
            env_b = {
                **world.env,
                **notification_env(smtp_port_b, receiver_b.url("/hook-b")),
                "DATABASE_URL": url_b,
                "PULSE_GROUP_PREFIX": group_prefix_b,
            }
            (world.log_dir / "b").mkdir(exist_ok=True)
            b = [ServiceProcess(name, env_b, world.log_dir / "b") for name in SERVICES]
            t = time.monotonic()
            await start_all(b)
            state_b = await wait_converged(bootstrap, prefix, group_prefix_b, url_b, timeout=CONVERGE_TIMEOUT, log=log)
            timings["B replay → converged"] = time.monotonic() - t
            log(f"B: converged in {timings['B replay → converged']:.1f} s: {state_b.describe()}")
            await stop_all(b)
            model_b = await read_model(url_b)
            log_b = {r["event_id"] for r in await fetch(url_b, "SELECT event_id FROM snapshotter.event_log")}
            hooks_b, mails_b = receiver_b.to("/hook-b"), inbox_b.mails
            deliveries_b = await fetch(url_b, DELIVERIES)
        dead = await dead_letter_count(bootstrap, prefix)
    finally:
        await stop_all(b)
        await drop_database(stack.database_url, database_b)
        if secured is not None:
            await asyncio.to_thread(secured.withdraw, prefix, group_prefix=group_prefix_b, topics=False)

    # -- the report ----------------------------------------------------------------------------------------------
    timings["total"] = time.monotonic() - began
    log("faults carried out:\n" + "\n".join(f"  {f.describe()} → back after {took:.1f}s" for f, took in chaos.done))
    log("timings: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
    log(
        f"throughput: A {len(records) / timings['A publish + ingest']:.0f} inbound events/s ingested under faults; "
        f"B replays {len(records)} inbound events and everything derived in {timings['B replay → converged']:.1f} s"
    )
    log("counts: " + ", ".join(f"{t.split('.')[1]} A {len(model_a[t])} / B {len(model_b[t])}" for t in model_a))
    log(
        f"notifications A: {notified_a}; B: {len(hooks_b)} webhooks, {len(mails_b)} emails, "
        f"{len(deliveries_b)} planned; alert events on `alerts` {len(events_a)}; dead letters {dead}"
    )
    # For information: a replay plans its emails from the officer directory it has loaded by then (B's alerter
    # reads `aggregates` and `loan-events` at once), so B's recipients need not be A's; nothing is asserted.
    emails_a, emails_b = (
        {(r["alert_id"], r["alert_event"], r["recipient"]) for r in rows if r["channel"] == "email"}
        for rows in (deliveries_a, deliveries_b)
    )
    if emails_a != emails_b:
        log(
            f"emails planned only by A: {sorted(emails_a - emails_b)[:6]}; only by B: {sorted(emails_b - emails_a)[:6]}"
        )

    # -- the verdict ---------------------------------------------------------------------------------------------
    # (a) the disturbed run's read model is the undisturbed replay's
    problems += differences(model_a, model_b)
    # (b) nothing lost, nothing counted twice
    # A close of more than PULSE_CLOSE_MAX_DAYS goes on through control events of its own, the same in both runs.
    logs = {"A": log_a, "B": log_b}
    continued = {run: {i for i in logged if i.startswith(CLOSE_CONTINUED)} for run, logged in logs.items()}
    if not continued["A"] or continued["A"] != continued["B"]:
        problems.append(f"the close went on through {continued['A']} in A, {continued['B']} in B")
    for run, logged in ((run, logs[run] - continued[run]) for run in logs):
        if logged != published_ids:
            problems.append(f"{run}: event log holds {len(logged)} events, {len(logged - published_ids)} never "
                            f"published, {len(published_ids - logged)} published ones missing")  # fmt: skip
    if dead:
        problems.append(f"{dead} messages dead-lettered")
    problems += check_totals(model_a, expected, "A") + check_totals(model_b, expected, "B")
    # (c) B, undisturbed, sends each of its deliveries exactly once
    ids_b = Counter(
        [h.headers.get("x-pulse-delivery") for h in hooks_b] + [m.message.get("X-Pulse-Delivery") for m in mails_b]
    )
    if any(n > 1 for n in ids_b.values()) or len(ids_b) != len(deliveries_b):
        problems.append(f"B: {len(deliveries_b)} deliveries planned, {len(ids_b)} distinct received, "
                        f"{sum(n - 1 for n in ids_b.values())} received twice")  # fmt: skip
    assert not problems, "\n".join(problems)
