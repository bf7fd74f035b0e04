"""The loans pipeline on the real stack, services as processes: events published out of order (late
payments after the close, redeliveries) converge to the read model of the same book applied in order."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest

from shared.auth import issue_token
from shared.topics import Topic, key_for
from tests.conftest import World
from tests.integration.loans.conftest import BookFactory
from tests.integration.loans.test_branch_equals_pooled_book import FIELDS, book_events
from tests.support.kafka import eventually
from tests.support.snapshotter import aggregator_harness, event
from tests.support.stack import JWT_SECRET

pytestmark = pytest.mark.e2e

OWNERS = {"A": "O1", "B": "O1", "C": "O2", "E": "O2", "C2": "O1"}
LAST = dt.date(2025, 5, 15)


async def expected_read_model(new_book: BookFactory) -> dict[tuple[str, dt.date], tuple[Any, ...]]:
    book = await new_book()
    aggregator = await aggregator_harness(book.pool)
    assert (await book.ingest(*book_events(OWNERS))).rejected == {}
    await aggregator.apply((await book.close(LAST)).emitted)
    async with book.pool.acquire() as conn:
        rows = await conn.fetch("SELECT * FROM aggregator.loan_summaries")
    return {(r["scope"], r["business_date"]): tuple(r[f] for f in FIELDS) for r in rows}


async def read_model(world: World) -> dict[tuple[str, dt.date], tuple[Any, ...]]:
    conn = await world.connect()
    try:
        rows = await conn.fetch("SELECT * FROM aggregator.loan_summaries")
    except Exception:  # the aggregator has not created its schema yet
        return {}
    finally:
        await conn.close()
    return {(r["scope"], r["business_date"]): tuple(r[f] for f in FIELDS) for r in rows}


async def publish(world: World, envelopes: list[dict[str, Any]]) -> None:
    for e in envelopes:
        topic = Topic.CONTROL if e["event_type"] == "business_day.closed" else Topic.LOAN_EVENTS
        await world.bus.send(topic, e, key=key_for(topic, e["event_type"], e["data"]))


async def test_out_of_order_and_redelivered_events_converge_to_the_in_order_read_model(
    world: World, new_book: BookFactory
) -> None:
    expected = await expected_read_model(new_book)
    world.service("snapshotter")
    world.service("aggregator")
    gateway = world.service("gateway")

    events = book_events(OWNERS)
    late = [e for e in events if e["event_type"] in ("loan.repayment_received", "loan.written_off")][::2]
    on_time = [e for e in events if e not in late]
    await publish(world, on_time)
    # The close must follow the on-time events: control is another topic, read by another consumer.
    await eventually(lambda: _event_log_count(world, len(on_time)), timeout=60)
    await publish(world, [event("business_day.closed", business_date=LAST)])
    await eventually(lambda: _has_day(world, LAST), timeout=120)
    # Late events restate closed days; a redelivered batch changes nothing.
    await publish(world, late)
    await publish(world, on_time[:5] + late[:3])

    async def converged() -> bool:
        return await read_model(world) == expected

    await eventually(converged, timeout=180, interval=1.0)

    token = issue_token("admin", sub="tester@bank.test", secret=JWT_SECRET)
    async with httpx.AsyncClient(base_url=gateway.url, headers={"Authorization": f"Bearer {token}"}) as http:
        response = await http.get("/v1/loans/summary", params={"scope": "branch:B", "date": LAST.isoformat()})
    assert response.status_code == 200
    body = response.json()
    assert (body["scope"], body["as_of"]) == ("branch:B", LAST.isoformat())
    row = expected[("branch:B", LAST)]
    assert body["total_outstanding"] == float(round(row[FIELDS.index("total_outstanding")], 2))


async def _event_log_count(world: World, n: int) -> bool:
    conn = await world.connect()
    try:
        count = await conn.fetchval("SELECT count(*) FROM snapshotter.event_log WHERE topic = 'loan-events'")
    except Exception:
        return False
    finally:
        await conn.close()
    return bool(count == n)


async def _has_day(world: World, day: dt.date) -> bool:
    conn = await world.connect()
    try:
        return bool(await conn.fetchval("SELECT count(*) FROM aggregator.loan_summaries WHERE business_date = $1", day))
    except Exception:
        return False
    finally:
        await conn.close()
