"""Ingest throughput of the snapshotter's loan-events consumer against a bare aiokafka consumer that reads
the same messages and does nothing, in the same run (the ratio is the figure that matters).

    uv run python -m bench.loans_ingest [--clients 20000 --payments-per-loan 4 --instances 1]

`--instances N` runs N snapshotter processes in one consumer group (issue 11's scale-out).

Needs the local stack. Appends to bench/results/loans_ingest.jsonl.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import time
import uuid
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaConsumer

from bench.proc import CpuSampler
from bench.scratch import Scratch, scratch
from shared.events.envelope import dumps, make_envelope
from shared.kafka.connection import KafkaConnection
from shared.kafka.lag import group_lag
from shared.kafka.producer import OutboundRecord, Producer
from shared.settings import get_settings
from shared.topics import Topic, consumer_group, topic_name
from tests.support.processes import ServiceProcess

RESULTS = Path(__file__).resolve().parent / "results" / "loans_ingest.jsonl"


def book(clients: int, payments_per_loan: int) -> list[tuple[str, dict[str, object]]]:
    """(key, envelope) in per-client order: registration, disbursement, repayments."""
    start = dt.date(2025, 1, 1)
    out: list[tuple[str, dict[str, object]]] = []
    for n in range(clients):
        c, loan = f"C{n}", f"L{n}"
        out.append((c, make_envelope("client.registered",
                                     {"client_id": c, "officer_id": f"O{n % 100}", "registered_on": str(start)},
                                     source="bench", event_id=f"r{n}")))  # fmt: skip
        schedule = [{"due_on": str(start + dt.timedelta(days=7 * k)), "principal": "250", "interest": "5"}
                    for k in range(1, 5)]  # fmt: skip
        out.append((c, make_envelope("loan.disbursed",
                                     {"loan_id": loan, "client_id": c, "disbursed_on": str(start),
                                      "principal": "1000", "schedule": schedule},
                                     source="bench", event_id=f"d{n}")))  # fmt: skip
        for k in range(1, payments_per_loan + 1):
            out.append((c, make_envelope("loan.repayment_received",
                                         {"payment_id": f"P{n}-{k}", "loan_id": loan, "client_id": c,
                                          "paid_on": str(start + dt.timedelta(days=7 * k)), "principal": "250",
                                          "interest": "5", "fees": "0"},
                                         source="bench", event_id=f"p{n}-{k}")))  # fmt: skip
    return out


async def bare_consumer(bootstrap: str, topic: str, total: int) -> float:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=f"bare-{uuid.uuid4().hex[:6]}",
                                auto_offset_reset="earliest", enable_auto_commit=False)  # fmt: skip
    await consumer.start()
    seen, started = 0, time.perf_counter()
    try:
        while seen < total:
            for records in (await consumer.getmany(timeout_ms=500, max_records=5000)).values():
                seen += len(records)
        return time.perf_counter() - started
    finally:
        await consumer.stop()


async def steady_catch_up(bootstrap: str, group: str, topic: str, total: int) -> tuple[int, float, int | None]:
    """(events, seconds, last lag): the events the group committed from its first commit until it caught up,
    and how long that took. Taken = committed by the consumer group (after the database commit), asked of the
    broker, not of PostgreSQL (a count(*) every 0.2 s cost the database 1.7 CPU s of a 24 s run). Timed from
    the first commit, not from start-up: instances that become healthy one after another would otherwise
    start consuming before the clock does."""
    deadline = time.monotonic() + 3600
    first: tuple[float, int] | None = None
    lag: int | None = None
    while time.monotonic() < deadline:
        lag = await group_lag(KafkaConnection(bootstrap), group, topic)
        now = time.perf_counter()
        if first is None and lag is not None and lag < total:
            first = (now, lag)
        if lag == 0 and first is not None:
            return first[1], now - first[0], 0
        await asyncio.sleep(0.1)
    return 0, 0.0, lag


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=20_000)
    parser.add_argument("--payments-per-loan", type=int, default=4)
    parser.add_argument("--instances", type=int, default=1)
    args = parser.parse_args()
    events = book(args.clients, args.payments_per_loan)
    async with scratch() as space:
        bare_seconds, pulse_seconds, cpu = await measure(space, events, instances=args.instances)
    result = {
        "events": len(events),
        "instances": args.instances,
        "snapshotter_events_per_s": round(len(events) / pulse_seconds),
        "bare_consumer_events_per_s": round(len(events) / bare_seconds),
        "ratio": round(bare_seconds / pulse_seconds, 3),
        "cpu": cpu,
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    print(json.dumps(result))
    RESULTS.parent.mkdir(exist_ok=True)
    with RESULTS.open("a") as out:
        out.write(json.dumps(result) + "\n")


async def measure(
    space: Scratch, events: list[tuple[str, dict[str, object]]], *, instances: int = 1
) -> tuple[float, float, dict[str, object]]:
    """Seconds for the bare consumer and for the snapshotter to take every event, and the CPU seconds per
    process group from the instances' start-up until they caught up (`bench.proc`)."""
    settings = get_settings()
    prefix, url = space.prefix, space.database_url
    topic = topic_name(Topic.LOAN_EVENTS, prefix)
    async with Producer(settings.kafka(), client_id="bench", service="bench") as producer:
        for i in range(0, len(events), 5000):
            await producer.send_all(OutboundRecord(topic, dumps(e), k.encode()) for k, e in events[i : i + 5000])
    bare_seconds = await bare_consumer(settings.kafka_bootstrap_servers, topic, len(events))

    logs = Path("/tmp") / f"bench-{prefix}"
    logs.mkdir(exist_ok=True)
    env = {"DATABASE_URL": url, "PULSE_TOPIC_PREFIX": prefix, "PULSE_SCHEDULE_ENABLED": "false",
           "PULSE_LOG_LEVEL": "WARNING"}  # fmt: skip
    services = [ServiceProcess("snapshotter", env, logs, instance=k) for k in range(1, instances + 1)]
    group = consumer_group("snapshotter", Topic.LOAN_EVENTS, prefix)
    catch_up = asyncio.create_task(steady_catch_up(settings.kafka_bootstrap_servers, group, topic, len(events)))
    try:
        for service in services:
            service.start(wait=False)
        sampler = CpuSampler({s.proc.pid: s.name for s in services if s.proc is not None})
        sampler.start()
        for service in services:
            await asyncio.to_thread(service.wait_healthy)
        taken, pulse_seconds, lag = await catch_up
        if lag == 0 and not taken:
            raise SystemExit("caught up before the first reading: too few events to time (more --clients)")
        pulse_seconds *= len(events) / max(taken, 1)  # the rate of the steady part, over every event
        cpu = await sampler.stop()
    finally:
        catch_up.cancel()
        for service in services:
            service.stop()
    if lag != 0:
        raise SystemExit(f"the snapshotter did not catch up: {lag} records behind")
    conn = await asyncpg.connect(url)
    try:
        logged = await conn.fetchval("SELECT count(*) FROM snapshotter.event_log")
    finally:
        await conn.close()
    if logged != len(events):
        raise SystemExit(f"the snapshotter logged {logged} of {len(events)} events")
    return bare_seconds, pulse_seconds, cpu


if __name__ == "__main__":
    asyncio.run(main())
