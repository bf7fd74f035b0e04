"""Wealth throughput, publish → all-clients aggregate: valuations (and flows) of `clients` × `days` through
the snapshotter, returns and aggregator processes, against a bare aiokafka consumer that reads the same
messages and does nothing, in the same run.

    uv run python -m bench.wealth_pipeline [--clients 10000 --days 250]

Needs the local stack. Appends to bench/results/wealth_pipeline.jsonl.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import time
from pathlib import Path

import asyncpg

from bench.loans_ingest import bare_consumer
from bench.proc import CpuSampler
from bench.scratch import Scratch, scratch
from shared.events.envelope import dumps, make_envelope
from shared.kafka.producer import OutboundRecord, Producer
from shared.settings import get_settings
from shared.topics import Topic, topic_name
from tests.support.processes import ServiceProcess

RESULTS = Path(__file__).resolve().parent / "results" / "wealth_pipeline.jsonl"


def business_days(start: dt.date, n: int) -> list[dt.date]:
    days: list[dt.date] = []
    day = start
    while len(days) < n:
        if day.weekday() < 5:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def events(clients: int, days: int) -> list[tuple[str, bytes]]:
    """In day order (as a custodian feed sends them): each client's valuation, and a flow every 20 days."""
    out: list[tuple[str, bytes]] = []
    for d, day in enumerate(business_days(dt.date(2025, 1, 2), days)):
        for c in range(clients):
            client = f"W{c}"
            value = 100_000 + c + d * 37 + (c * d) % 997
            if d % 20 == 10:
                out.append((client, dumps(make_envelope("cash_flow.recorded", {
                    "flow_id": f"F{c}-{d}", "client_id": client, "flow_date": day.isoformat(), "amount": "1000",
                    "kind": "contribution"}, source="bench", event_id=f"f{c}-{d}"))))  # fmt: skip
            out.append((client, dumps(make_envelope("portfolio.valued", {
                "client_id": client, "as_of": day.isoformat(), "positions": [
                    {"instrument_id": "EQ1", "asset_class": "Equity", "custodian": "Bank 1",
                     "market_value": str(value * 6 // 10)},
                    {"instrument_id": "BD1", "asset_class": "Fixed Income", "custodian": "Bank 2",
                     "market_value": str(value * 4 // 10), "maturity_date": "2031-06-30", "est_annual_income": "800"},
                ]}, source="bench", event_id=f"v{c}-{d}"))))  # fmt: skip
    return out


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=250)
    args = parser.parse_args()
    messages = events(args.clients, args.days)
    async with scratch() as space:
        bare_seconds, pulse_seconds, cpu = await measure(space, messages, valuations=args.clients * args.days)
    result = {
        "clients": args.clients, "days": args.days, "events": len(messages),
        "pipeline_events_per_s": round(len(messages) / pulse_seconds),
        "bare_consumer_events_per_s": round(len(messages) / bare_seconds),
        "ratio": round(bare_seconds / pulse_seconds, 4),
        "pipeline_seconds": round(pulse_seconds, 1),
        "cpu": cpu,
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }  # fmt: skip
    print(json.dumps(result))
    RESULTS.parent.mkdir(exist_ok=True)
    with RESULTS.open("a") as out:
        out.write(json.dumps(result) + "\n")


async def measure(
    space: Scratch, messages: list[tuple[str, bytes]], *, valuations: int
) -> tuple[float, float, dict[str, object]]:
    """Seconds for the bare consumer and for the pipeline to reach the all-clients aggregate of everything, and
    the CPU seconds of each process group meanwhile (bench/proc.py)."""
    settings = get_settings()
    prefix, url = space.prefix, space.database_url
    topic = topic_name(Topic.WEALTH_EVENTS, prefix)
    async with Producer(settings.kafka(), client_id="bench", service="bench") as producer:
        for i in range(0, len(messages), 10_000):
            await producer.send_all(OutboundRecord(topic, v, k.encode()) for k, v in messages[i : i + 10_000])
    bare_seconds = await bare_consumer(settings.kafka_bootstrap_servers, topic, len(messages))

    logs = Path("/tmp") / f"bench-{prefix}"
    logs.mkdir(exist_ok=True)
    env = {"DATABASE_URL": url, "PULSE_TOPIC_PREFIX": prefix, "PULSE_SCHEDULE_ENABLED": "false",
           "PULSE_LOG_LEVEL": "WARNING"}  # fmt: skip
    services = [ServiceProcess(name, env, logs) for name in ("snapshotter", "returns", "aggregator")]
    for s in services:
        s.start()
    sampler = CpuSampler({s.proc.pid: s.name for s in services if s.proc is not None})
    sampler.start()
    started = time.perf_counter()
    conn = await asyncpg.connect(url)
    try:
        while True:
            try:
                done = await conn.fetchval("SELECT coalesce(sum(client_count), 0) FROM aggregator.wealth_date_totals")
            except asyncpg.UndefinedTableError:
                done = 0
            if done >= valuations:
                break
            await asyncio.sleep(0.5)
        pulse_seconds = time.perf_counter() - started
        cpu = await sampler.stop()
    finally:
        await conn.close()
        for s in services:
            s.stop()
    return bare_seconds, pulse_seconds, cpu


if __name__ == "__main__":
    asyncio.run(main())
