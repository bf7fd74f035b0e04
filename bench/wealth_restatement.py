"""Cost of one client's restatement in the wealth aggregate with 1,000 and with 100,000 clients on the date:
it must be flat (running sums; no other client is read).

    uv run python -m bench.wealth_restatement [--sizes 1000 100000] [--repeat 50]

Loads `returns.computed`-shaped rows straight into the aggregator's tables (COPY), then times the
aggregator's handler applying one client's new revision, `repeat` times. Appends to
bench/results/wealth_restatement.jsonl.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import statistics
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench.scratch import scratch
from services.aggregator import handlers
from services.aggregator.wealth.contributions import TOTAL_COLUMNS, contribution
from shared import db
from shared.events.envelope import dumps, make_envelope
from shared.events.registry import parse_event
from shared.kafka.deadletter import InboundRecord
from shared.kafka.pipeline import Batch, Incoming
from shared.topics import Topic

MIGRATIONS = Path(__file__).resolve().parents[1] / "services" / "aggregator" / "migrations"
RESULTS = Path(__file__).resolve().parent / "results" / "wealth_restatement.jsonl"
DAY = dt.date(2025, 6, 30)


def returns(client: str, revision: int, value: Decimal) -> dict[str, object]:
    return {
        "client_id": client, "as_of": DAY.isoformat(), "revision": revision, "total_value": str(value),
        "estimated_annual_income": "100", "net_external_flows": "0",
        "asset_allocation": [{"name": "Equity", "value": str(value)}],
        "custodian_allocation": [{"name": "Bank 1", "value": str(value)}], "bond_maturity": [],
        "period_start_date": "2025-06-27", "period_return_dollar": "10", "period_return_percent": "0.5",
        "period_average_capital": "2000", "month_start_date": "2025-05-30", "monthly_return_dollar": "40",
        "monthly_return_percent": "2", "monthly_average_capital": "2000", "ytd_start_date": "2024-12-31",
        "ytd_return_dollar": "100", "ytd_return_percent": "5", "ytd_average_capital": "2000",
        "inception_date": "2024-01-02", "inception_dollar_performance": "200", "inception_return_pct": "10",
        "inception_average_capital": "2000",
    }  # fmt: skip


async def preload(conn: db.Connection, clients: int) -> None:
    rows: list[dict[str, Any]] = [returns(f"W{n}", 1, Decimal(2000 + n % 100)) for n in range(clients)]
    columns = [c for c in rows[0] if c not in ("client_id", "as_of")]
    await conn.copy_records_to_table(
        "wealth_client_days", schema_name="aggregator", columns=["client_id", "as_of", *columns],
        records=[
            (r["client_id"], DAY, *(
                r[c] if isinstance(r[c], list) else
                (dt.date.fromisoformat(r[c]) if c.endswith(("_date",)) and r[c] else
                 (Decimal(r[c]) if isinstance(r[c], str) else r[c]))
                for c in columns))
            for r in rows
        ],
    )  # fmt: skip
    totals = dict.fromkeys(TOTAL_COLUMNS, Decimal(0))
    for r in rows:
        for k, v in contribution(r).items():
            totals[k] += v
    await conn.execute(
        f"INSERT INTO aggregator.wealth_date_totals (as_of, {', '.join(TOTAL_COLUMNS)})"
        f" VALUES ($1, {', '.join(f'${n}' for n in range(2, len(TOTAL_COLUMNS) + 2))})",
        DAY, *(totals[c] for c in TOTAL_COLUMNS),
    )  # fmt: skip
    await conn.execute("ANALYZE")


async def measure(url: str, clients: int, repeat: int) -> dict[str, object]:
    pool = await db.create_pool(url, retry=False)
    try:
        await db.migrate(pool, "aggregator", MIGRATIONS)
        async with pool.acquire() as conn:
            await preload(conn, clients)
        timings = []
        for revision in range(2, repeat + 2):
            raw = dumps(
                make_envelope("returns.computed", returns("W7", revision, Decimal(3000 + revision)), source="b")
            )
            incoming = [
                Incoming(InboundRecord("returns", 0, revision, None, raw, (), 0), parse_event(Topic.RETURNS, raw))
            ]
            started = time.perf_counter()
            async with pool.acquire() as conn, conn.transaction():
                await handlers.on_returns(Batch(conn=conn, events=incoming, prefix="", source="bench"))
            timings.append(time.perf_counter() - started)
        return {"clients": clients, "restatements": repeat, "median_ms": round(statistics.median(timings) * 1000, 2),
                "p90_ms": round(sorted(timings)[int(0.9 * len(timings))] * 1000, 2)}  # fmt: skip
    finally:
        await pool.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 100_000])
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    results = []
    for size in args.sizes:
        async with scratch(topics=False) as space:
            results.append(await measure(space.database_url, size, args.repeat))
    stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    RESULTS.parent.mkdir(exist_ok=True)
    with RESULTS.open("a") as out:
        for r in results:
            r["at"] = stamp
            print(json.dumps(r))
            out.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    asyncio.run(main())
