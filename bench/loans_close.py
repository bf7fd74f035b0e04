"""Benchmarks of closing loan days, from a book already ingested to snapshots acknowledged by Kafka.

    uv run python -m bench.loans_close [--sizes 10000 100000 1000000] [--catch-up-loans 10000 ...]

The daily close is measured against book size (one officer per 100 loans): the days before are closed first
(`close_earlier_days_s`, not part of the figure), then the clients with an event today are marked stale, as
that day's ingest would have, and the day is closed. The catch-up is a first close computing the whole year.

Prints its figures and appends them to bench/results/loans_close.jsonl. Needs the local stack (make up or
deploy/local/stack.sh up). Each scenario uses a fresh database and topic prefix and drops them after.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import time
from pathlib import Path

from bench import loan_book
from bench.scratch import Scratch, scratch
from services.snapshotter.loans import closing, store
from services.snapshotter.loans.snapshots import publish_days
from shared import db
from shared.kafka import outbox
from shared.kafka.outbox import OutboxRelay
from shared.kafka.pipeline import UnitOfWork
from shared.kafka.producer import Producer
from shared.settings import get_settings

MIGRATIONS = Path(__file__).resolve().parents[1] / "services" / "snapshotter" / "migrations"
RESULTS = Path(__file__).resolve().parent / "results" / "loans_close.jsonl"


async def scenario(name: str, *, loans: int, officers: int, catch_up: bool) -> dict[str, object]:
    async with scratch() as space:
        return await _scenario(space, name, loans=loans, officers=officers, catch_up=catch_up)


async def _scenario(space: Scratch, name: str, *, loans: int, officers: int, catch_up: bool) -> dict[str, object]:
    settings = get_settings()
    prefix = space.prefix
    pool = await db.create_pool(space.database_url, retry=False, max_size=2)
    producer = Producer(settings.kafka(), client_id="bench", service="bench")
    try:
        await db.migrate(pool, "snapshotter", MIGRATIONS)
        today = dt.date(2025, 12, 31)
        loaded = time.perf_counter()
        async with pool.acquire() as conn:
            await loan_book.load(conn, loans=loans, officers=officers, today=today)
        load_seconds = time.perf_counter() - loaded
        earlier_days_seconds = 0.0
        if not catch_up:  # the days before were closed already; this close computes one day
            earlier = time.perf_counter()
            async with pool.acquire() as conn, conn.transaction():
                await closing.close_through(conn, today - dt.timedelta(days=1))
                await _mark_todays_clients(conn, today)
            earlier_days_seconds = time.perf_counter() - earlier
        await producer.start()
        relay = OutboxRelay(pool, "snapshotter", producer)

        started = time.perf_counter()
        async with pool.acquire() as conn, conn.transaction():
            await store.lock_days(conn)
            rows = await closing.close_through(conn, today)
            computed = time.perf_counter()
            work = UnitOfWork(conn=conn, prefix=prefix, source="snapshotter")
            await publish_days(work, rows)
            events = work.outputs
            await outbox.stage(conn, "snapshotter", events)
        staged = time.perf_counter()
        published = await relay.flush()
        finished = time.perf_counter()
        result: dict[str, object] = {
            "scenario": name,
            "loans": loans,
            "officers": officers,
            "days": 365 if catch_up else 1,
            "snapshots": len(rows),
            "published": published,
            "load_book_s": round(load_seconds, 2),
            "close_earlier_days_s": round(earlier_days_seconds, 2),
            "compute_s": round(computed - started, 2),
            "stage_outbox_s": round(staged - computed, 2),
            "publish_s": round(finished - staged, 2),
            "total_s": round(finished - started, 2),
            "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        return result
    finally:
        await producer.stop()
        await pool.close()


async def _mark_todays_clients(conn: db.Connection, today: dt.date) -> None:
    """What ingesting today's events marked: the clients with a payment, disbursement or write-off today."""
    await conn.execute(
        f"""
        INSERT INTO {store.SCHEMA}.stale_clients (client_id, from_date)
        SELECT DISTINCT l.client_id, $1::date FROM {store.SCHEMA}.loans l
        WHERE l.disbursed_on = $1 OR l.written_off_on = $1
           OR EXISTS (SELECT FROM {store.SCHEMA}.payments p WHERE p.loan_id = l.loan_id AND p.paid_on = $1)
        """,
        today,
    )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000], help="loans")
    parser.add_argument("--catch-up-loans", type=int, default=10_000)
    parser.add_argument("--catch-up-officers", type=int, default=100)
    parser.add_argument("--only", choices=["daily", "catch-up"])
    args = parser.parse_args()
    results = []
    if args.only != "catch-up":
        for loans in args.sizes:
            results.append(await scenario("daily close", loans=loans, officers=loans // 100, catch_up=False))
            print(json.dumps(results[-1]), flush=True)
    if args.only != "daily":
        results.append(
            await scenario("first close, 365-day catch-up", loans=args.catch_up_loans,
                           officers=args.catch_up_officers, catch_up=True)
        )  # fmt: skip
        print(json.dumps(results[-1]), flush=True)
    RESULTS.parent.mkdir(exist_ok=True)
    with RESULTS.open("a") as out:
        for r in results:
            out.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    asyncio.run(main())
