"""End to end, publish → read model, for a history of about 1,000,000 events: the demo loan book scaled up
(38,000 clients, 72,000 loans, 150 officers over 13 months, then the day close) and a wealth book (200 clients,
daily valuations and flows), published in business order into running services (snapshotter, returns,
aggregator, alerter, gateway) until nothing is in flight. Against a bare aiokafka consumer reading the same
messages in the same run. Then the gateway's latency at fixed rates on that read model
(bench/gateway_latency.py), and the memory of each service at the end.

    uv run python -m bench.end_to_end [--clients 38000 --loans 72000 --wealth-clients 200]

CPU seconds per process group (each service, PostgreSQL, the broker) say what limited each phase. Needs the
local stack. Appends to bench/results/end_to_end.jsonl.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import heapq
import json
import time
from pathlib import Path
from typing import Any

import asyncpg

from bench import gateway_latency
from bench.loans_ingest import bare_consumer
from bench.proc import CpuSampler, memory_mib
from bench.scratch import scratch
from cli.demo.command import to_record
from cli.demo.loans import generate_loan_book
from cli.demo.wealth import generate_wealth_book
from shared.kafka.connection import KafkaConnection
from shared.kafka.lag import wait_caught_up
from shared.kafka.producer import OutboundRecord, Producer
from shared.settings import get_settings
from shared.topics import Topic, consumer_group, topic_name
from tests.support.chaos import wait_converged
from tests.support.processes import ServiceProcess
from tests.support.stack import JWT_SECRET

RESULTS = Path(__file__).resolve().parent / "results" / "end_to_end.jsonl"
# A fixed, past history: the same events on every run, and every business day older than the alerter's
# notification horizon, so alerts are raised but nobody is emailed (no SMTP server in a benchmark).
TODAY = dt.date(2025, 11, 20)
LAST_DAY = TODAY - dt.timedelta(days=1)
SERVICES = ("snapshotter", "returns", "aggregator", "alerter", "gateway")
CHUNK = 10_000


def history(clients: int, loans: int, wealth_clients: int) -> list[dict[str, Any]]:
    """Loans and wealth merged by occurred_at (each in its own order); the day close comes last."""
    loan_events = generate_loan_book(1, today=TODAY, months=13, officers_per_branch=50, clients=clients, loans=loans)
    wealth_events = generate_wealth_book(1, today=TODAY, months=13, clients=wealth_clients)
    return list(heapq.merge(loan_events, wealth_events, key=lambda e: dt.datetime.fromisoformat(e["occurred_at"])))


async def publish(bootstrap: str, records: list[OutboundRecord]) -> None:
    async with Producer(KafkaConnection(bootstrap), client_id="bench", service="bench") as producer:
        for start in range(0, len(records), CHUNK):
            await producer.send_all(records[start : start + CHUNK])


async def last_closed(database_url: str) -> dt.date | None:
    conn = await asyncpg.connect(database_url)
    try:
        value: dt.date | None = await conn.fetchval("SELECT max(last_closed_on) FROM snapshotter.loan_calendar")
        return value
    except asyncpg.UndefinedTableError:
        return None
    finally:
        await conn.close()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    settings = get_settings()
    bootstrap = settings.kafka_bootstrap_servers
    generated = time.perf_counter()
    events = history(args.clients, args.loans, args.wealth_clients)
    generate_s = time.perf_counter() - generated
    result: dict[str, Any] = {"events": len(events), "generate_s": round(generate_s, 1)}
    print(f"history: {len(events)} events generated in {generate_s:.0f} s", flush=True)

    async with scratch() as space:
        prefix, url = space.prefix, space.database_url
        records = [to_record(e, prefix) for e in events]
        result["megabytes"] = round(sum(len(r.value) for r in records) / 1e6)
        logs = Path("/tmp") / f"bench-{prefix}"
        logs.mkdir(exist_ok=True)
        env = {"DATABASE_URL": url, "PULSE_TOPIC_PREFIX": prefix, "PULSE_SCHEDULE_ENABLED": "false",
               "PULSE_LOG_LEVEL": "WARNING"}  # fmt: skip
        services = {name: ServiceProcess(name, env, logs) for name in SERVICES}
        try:
            await asyncio.gather(*(asyncio.to_thread(s.start) for s in services.values()))
            sampler = CpuSampler({s.proc.pid: name for name, s in services.items() if s.proc is not None})
            phases: dict[str, Any] = {}

            # Publish → ingested → day closed → everything derived, each phase's CPU by process group.
            sampler.start()
            started = time.perf_counter()
            await publish(bootstrap, records)
            phases["publish_s"] = round(time.perf_counter() - started, 1)
            for topic in (Topic.LOAN_EVENTS, Topic.WEALTH_EVENTS):
                group = consumer_group("snapshotter", topic, prefix)
                await wait_caught_up(KafkaConnection(bootstrap), group, topic_name(topic, prefix), within=3600)
            ingested = time.perf_counter()
            phases["ingest"] = {"until_s": round(ingested - started, 1), **await sampler.stop(), **memory(services)}
            sampler.start()
            deadline = time.monotonic() + 3600
            while await last_closed(url) != LAST_DAY:
                if time.monotonic() > deadline:
                    raise SystemExit(f"the snapshotter did not close {LAST_DAY} within an hour")
                await asyncio.sleep(0.5)
            closed = time.perf_counter()
            phases["close"] = {"until_s": round(closed - started, 1), **await sampler.stop(), **memory(services)}
            sampler.start()
            await wait_converged(bootstrap, prefix, prefix, url, timeout=3600, every=1.0, report_every=60.0)
            finished = time.perf_counter()
            phases["derive"] = {"until_s": round(finished - started, 1), **await sampler.stop(), **memory(services)}
            total_s = finished - started
            result |= {"pipeline_s": round(total_s, 1), "pipeline_events_per_s": round(len(events) / total_s)}
            result["phases"] = phases
            print(json.dumps(result), flush=True)

            # The bare consumer of the same messages (the three inbound topics), after the pipeline is done.
            bare_s = 0.0
            for topic in (Topic.LOAN_EVENTS, Topic.WEALTH_EVENTS, Topic.CONTROL):
                count = sum(1 for r in records if r.topic == topic_name(topic, prefix))
                bare_s += await bare_consumer(bootstrap, topic_name(topic, prefix), count)
            result |= {"bare_consumer_events_per_s": round(len(events) / bare_s), "ratio": round(bare_s / total_s, 4)}
            result["counts"] = await counts(url)

            gateway = services["gateway"]
            result["gateway_latency"] = await gateway_latency.measure(
                gateway.url,
                url,
                args.rates,
                args.seconds,
                keys=JWT_SECRET,  # the services' (tests.support.processes.ServiceProcess)
                gateway_pid=gateway.proc.pid if gateway.proc else None,
            )
            result["memory_at_end"] = memory(services)["memory"]
        finally:
            await asyncio.gather(*(asyncio.to_thread(s.stop) for s in services.values()))
    result["at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    return result


def memory(services: dict[str, ServiceProcess]) -> dict[str, dict[str, dict[str, float]]]:
    """Each service's resident memory now and its peak so far (MiB)."""
    return {"memory": {name: memory_mib(s.proc.pid) for name, s in services.items() if s.proc is not None}}


async def counts(database_url: str) -> dict[str, int]:
    conn = await asyncpg.connect(database_url)
    try:
        return {
            table: int(await conn.fetchval(f"SELECT count(*) FROM {table}"))
            for table in ("snapshotter.event_log", "snapshotter.officer_days", "aggregator.loan_summaries",
                          "aggregator.wealth_client_days", "aggregator.alerts")
        }  # fmt: skip
    finally:
        await conn.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=38_000)
    parser.add_argument("--loans", type=int, default=72_000)
    parser.add_argument("--wealth-clients", type=int, default=200)
    parser.add_argument("--rates", type=float, nargs="+", default=list(gateway_latency.RATES))
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    result = await run(args)
    print(json.dumps({k: v for k, v in result.items() if k != "gateway_latency"}, indent=1))
    RESULTS.parent.mkdir(exist_ok=True)
    with RESULTS.open("a") as out:
        out.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    asyncio.run(main())
