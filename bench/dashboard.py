"""The dashboard's pages under people (issue 10): page latency of `/loans?scope=all` and `/wealth?client=ALL`
at 50 concurrent viewers, and the time from an event published to Kafka to an open page showing it, on the
demo book (`pulse demo`'s loans and wealth, for a fixed day), in a scratch slice of the stack with the five
services running as processes.

    uv run python -m bench.dashboard [--viewers 50] [--seconds 30] [--think 1.0] [--changes-every 5] [--repeat 10]
                                     [--small]

1. Viewers (bench/viewers.py, a process of its own): half on each page, each holding the page's event stream
   open, loading the page again after an exponential think time (mean `--think` s), and re-fetching its live
   region when the stream says the read model changed. Meanwhile the read model does change: every
   `--changes-every` s a custodian restates a valuation or a late repayment restates the last closed day,
   so pages are rebuilt, not only served from what was built. Then again with no think time (each viewer
   reloads the moment its page arrives): what the gateway serves at saturation.
2. Event → page: a real browser (Chromium, as the tests drive it) holds both pages open; a restated valuation,
   then a late repayment, is published `--repeat` times each, and the time until the open page shows the new
   figure (its `data-value`) is measured, without a reload.

CPU seconds of the gateway and PostgreSQL per phase say what limits each figure. Appends to
bench/results/dashboard.jsonl.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import subprocess
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench.load_generator import percentile
from bench.proc import CpuSampler
from bench.scratch import scratch
from cli.demo.command import DERIVED, generate, to_record, wait_for_read_model
from cli.demo.loans import generate_loan_book
from cli.demo.wealth import generate_wealth_book
from shared.auth import Role, issue_token
from shared.events.envelope import make_envelope
from shared.kafka.producer import Producer
from shared.settings import get_settings
from shared.topics import Topic
from tests.support.browser import launch
from tests.support.processes import ServiceProcess
from tests.support.stack import JWT_SECRET

RESULTS = Path(__file__).resolve().parent / "results" / "dashboard.jsonl"
TODAY = dt.date(2025, 11, 20)  # the same demo book on every run
LAST_DAY = TODAY - dt.timedelta(days=1)
SERVICES = ("snapshotter", "returns", "aggregator", "alerter", "gateway")
PAGES = ("/loans?scope=all", "/wealth?client=ALL")


class Changes:
    """Events that change what the two pages show: a wealth client's valuation of the latest date restated
    with one more position, and a late repayment of a running loan on the last closed day."""

    def __init__(self, events: list[dict[str, Any]], producer: Producer, prefix: str) -> None:
        self.producer, self.prefix = producer, prefix
        self.valuation = max(
            (e for e in events if e["event_type"] == "portfolio.valued"), key=lambda e: e["data"]["as_of"]
        )
        self.loan = _running_loan(events)
        self.extra = Decimal(0)

    async def restate_valuation(self) -> Decimal:
        """Publish the restatement; the increase of the all-clients AUM it makes."""
        self.extra += Decimal("1000.00")
        data = dict(self.valuation["data"])
        data["positions"] = [*data["positions"], {
            "instrument_id": "XS0000000001", "asset_class": "Cash", "custodian": "UBS",
            "market_value": str(self.extra),
        }]  # fmt: skip
        await self._publish(make_envelope("portfolio.valued", data, source="bench", occurred_at=_now()))
        return Decimal("1000.00")

    async def repay(self) -> Decimal:
        """Publish a repayment of 1.00 of principal dated the last closed day; the fall of GLP it makes."""
        data = {
            "payment_id": f"bench-{uuid.uuid4().hex[:12]}",
            "loan_id": self.loan["loan_id"],
            "client_id": self.loan["client_id"],
            "paid_on": LAST_DAY.isoformat(),
            "principal": "1.00",
            "interest": "0",
            "fees": "0",
        }
        await self._publish(make_envelope("loan.repayment_received", data, source="bench", occurred_at=_now()))
        return Decimal("-1.00")

    async def _publish(self, envelope: dict[str, Any]) -> None:
        await self.producer.send_all([to_record(envelope, self.prefix)])


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _running_loan(events: list[dict[str, Any]]) -> dict[str, Any]:
    """A loan disbursed 1 to 8 weeks before the last day, falling due well after it, never written off."""
    written_off = {e["data"]["loan_id"] for e in events if e["event_type"] == "loan.written_off"}
    for e in events:
        data = e["data"]
        if e["event_type"] != "loan.disbursed" or data["loan_id"] in written_off:
            continue
        disbursed = dt.date.fromisoformat(data["disbursed_on"])
        last_due = dt.date.fromisoformat(data["schedule"][-1]["due_on"])
        if LAST_DAY - dt.timedelta(days=56) <= disbursed <= LAST_DAY - dt.timedelta(days=7) and last_due > TODAY:
            return dict(data)
    raise SystemExit("no running loan in the demo book")


def viewers(url: str, cookie: str, count: int, seconds: float, think: float) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.viewers", "--url", url, "--cookie", cookie, "--viewers", str(count),
               "--seconds", str(seconds), "--think", str(think), *PAGES]  # fmt: skip
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    result: dict[str, Any] = json.loads(out)
    return result


async def keep_changing(changes: Changes, every: float) -> int:
    made = 0
    try:
        while True:
            await asyncio.sleep(every)
            await (changes.restate_valuation() if made % 2 == 0 else changes.repay())
            made += 1
    except asyncio.CancelledError:
        return made


async def under_viewers(
    gateway: ServiceProcess, token: str, changes: Changes, args: argparse.Namespace, think: float, every: float
) -> dict[str, Any]:
    pids = {gateway.proc.pid: "gateway"} if gateway.proc is not None else {}
    sampler = CpuSampler(pids)
    sampler.start()
    changer = asyncio.create_task(keep_changing(changes, every)) if every > 0 else None
    result = await asyncio.to_thread(viewers, gateway.url, f"pulse_session={token}", args.viewers, args.seconds, think)
    if changer is not None:
        changer.cancel()
        result["changes"] = await changer
    result["cpu"] = await sampler.stop()
    print(json.dumps(result), flush=True)
    return result


async def event_to_page(url: str, token: str, changes: Changes, repeat: int) -> dict[str, Any]:
    """Seconds from publishing to the open page's figure changing, per kind of event."""
    timings: dict[str, list[float]] = {"valuation_to_wealth_page": [], "repayment_to_loans_page": []}
    async for browser in launch():
        context = await browser.new_context()
        pages = {}
        for path in PAGES:
            pages[path] = await context.new_page()
            await pages[path].goto(f"{url}/?token={token}")
            await pages[path].goto(url + path)
        for _ in range(repeat):
            for kind, path, metric, publish in (
                ("valuation_to_wealth_page", "/wealth?client=ALL", "total_aum", changes.restate_valuation),
                ("repayment_to_loans_page", "/loans?scope=all", "total_outstanding", changes.repay),
            ):
                page = pages[path]
                selector = f'[data-metric="{metric}"]'
                before = Decimal(await page.locator(selector).first.get_attribute("data-value") or "0")
                started = time.perf_counter()
                delta = await publish()
                await page.wait_for_function(
                    "([selector, value]) => document.querySelector(selector).dataset.value === value",
                    arg=[selector, format((before + delta).quantize(Decimal("0.01")), "f")],
                    timeout=60_000,
                )
                timings[kind].append(time.perf_counter() - started)
                await asyncio.sleep(1.0)  # let the pipeline settle between samples
        await context.close()
    return {
        kind: {
            "samples": len(values),
            "p50_s": round(percentile(sorted(values), 50), 2),
            "max_s": round(max(values), 2),
        }
        for kind, values in timings.items()
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    settings = get_settings()
    if args.small:  # a smoke run: the demo's shape at a tenth of its size
        events = [
            *generate_loan_book(7, today=TODAY, months=4, officers_per_branch=3, clients=300, loans=450),
            *generate_wealth_book(7, today=TODAY, months=3, clients=20),
        ]
    else:
        events = generate("all", 7, TODAY)
    result: dict[str, Any] = {"events": len(events), "viewers": args.viewers, "think_s": args.think}
    async with scratch() as space:
        prefix, url = space.prefix, space.database_url
        logs = Path("/tmp") / f"bench-{prefix}"
        logs.mkdir(exist_ok=True)
        env = {"DATABASE_URL": url, "PULSE_TOPIC_PREFIX": prefix, "PULSE_SCHEDULE_ENABLED": "false",
               "PULSE_WEEKLY_SUMMARY_ENABLED": "false", "PULSE_LOG_LEVEL": "WARNING"}  # fmt: skip
        services = {name: ServiceProcess(name, env, logs) for name in SERVICES}
        try:
            await asyncio.gather(*(asyncio.to_thread(s.start) for s in services.values()))
            started = time.perf_counter()
            records = [to_record(e, prefix) for e in events]
            control = [r for r in records if r.topic.endswith("control")]
            async with Producer(settings.kafka(), client_id="bench", service="bench") as producer:
                await producer.send_all([r for r in records if r not in control])
                await producer.send_all(control)
                groups = [("snapshotter", t) for t in (Topic.LOAN_EVENTS, Topic.WEALTH_EVENTS, Topic.CONTROL)]
                await wait_for_read_model(settings.kafka(), prefix, [*groups, *DERIVED], 1800)
                result["demo_loaded_s"] = round(time.perf_counter() - started, 1)
                print(f"demo loaded in {result['demo_loaded_s']} s", flush=True)
                gateway = services["gateway"]
                token = issue_token(Role.ADMIN, sub="tester@bank.test", secret=JWT_SECRET)
                changes = Changes(events, producer, prefix)
                await asyncio.to_thread(viewers, gateway.url, f"pulse_session={token}", 10, 5.0, 0.5)  # warm up
                result["viewers_think"] = await under_viewers(
                    gateway, token, changes, args, args.think, args.changes_every
                )
                result["viewers_saturated"] = await under_viewers(
                    gateway, token, changes, args, 0.0, args.changes_every
                )
                result["event_to_page"] = await event_to_page(gateway.url, token, changes, args.repeat)
                print(json.dumps(result["event_to_page"]), flush=True)
                result["regions"] = _region_counts(gateway)
        finally:
            await asyncio.gather(*(asyncio.to_thread(s.stop) for s in services.values()))
    result["at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    return result


def _region_counts(gateway: ServiceProcess) -> dict[str, float]:
    counts = {}
    for line in gateway.metrics().splitlines():
        if line.startswith("pulse_page_regions_total{"):
            counts[line.split('"')[1]] = float(line.rsplit(" ", 1)[1])
    return counts


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--viewers", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--think", type=float, default=1.0, help="mean seconds between a viewer's page loads")
    parser.add_argument("--changes-every", type=float, default=5.0, help="seconds between read-model changes")
    parser.add_argument("--repeat", type=int, default=10, help="events of each kind timed to the open page")
    parser.add_argument("--small", action="store_true", help="a smaller book than the demo's (a smoke run)")
    args = parser.parse_args()
    result = await run(args)
    RESULTS.parent.mkdir(exist_ok=True)
    with RESULTS.open("a") as out:
        out.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    asyncio.run(main())
