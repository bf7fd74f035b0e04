"""Several snapshotter instances on one database (issue 11): no global lock. Ingest goes on beside a close and
what it changes on the days being closed is restated afterwards; instances ingest their own clients at the
same time, and wait for each other only on a client they share (a payment moving between two clients' loans).

Each test holds one instance's transaction open (`closing`, `ingesting`) while another instance's batch runs."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from tests.integration.loans.conftest import BookFactory
from tests.integration.loans.test_branch_equals_pooled_book import book_events
from tests.integration.loans.test_restatement import LAST, OWNERS, values
from tests.support.snapshotter import SnapshotterHarness, aggregator_harness, event

pytestmark = pytest.mark.integration

D = dt.date
PAY = "loan.repayment_received"


async def test_ingest_goes_on_beside_a_close_and_what_it_changes_is_restated(new_book: BookFactory) -> None:
    in_order = await new_book()
    assert (await in_order.ingest(*book_events(OWNERS))).rejected == {}
    await in_order.close(LAST)

    book = await new_book()
    events = book_events(OWNERS)
    late = [e for e in events if e["data"].get("payment_id") in {"PB2", "PC3"} or e["event_type"] == "loan.written_off"]
    assert len(late) == 3
    assert (await book.ingest(*[e for e in events if e not in late])).rejected == {}
    async with book.closing(LAST) as close:
        assert close.emitted  # every day computed; the close's transaction is still open
        # Another instance ingests meanwhile: it does not wait for the close to commit.
        ingested = await asyncio.wait_for(book.ingest(*late), timeout=10)
        assert ingested.rejected == {}
    # The close read the book before the late events were in: its days lack them, and the restatement job
    # (which runs after the close) makes them right.
    assert values(await book.all_days()) != values(await in_order.all_days())
    restated = await book.restate()
    restated_days = {e["data"]["business_date"] for e in restated}
    # From PB2's day (2025-02-01) on; PC3 is paid on 2025-03-04, LA written off on 2025-04-10.
    assert min(restated_days) == "2025-02-01"
    assert restated_days >= {"2025-03-04", "2025-04-10", LAST.isoformat()}
    assert values(await book.all_days()) == values(await in_order.all_days())


async def test_instances_ingest_their_own_clients_at_once_and_wait_on_a_client_they_share(
    book: SnapshotterHarness,
) -> None:
    events = book_events(OWNERS)
    assert (await book.ingest(*[e for e in events if e["event_type"] != PAY])).rejected == {}
    pb1 = event(PAY, payment_id="PB1", loan_id="LB", client_id="B", paid_on=D(2025, 1, 20), principal="150",
                interest="8", fees="0")  # fmt: skip
    # PB1 was meant for A's loan: the correction (keyed by A, so read by A's instance) moves it off B's loan.
    moved = event(PAY, payment_id="PB1", loan_id="LA", client_id="A", paid_on=D(2025, 1, 20), principal="150",
                  interest="8", fees="0")  # fmt: skip
    assert (await book.ingest(pb1)).rejected == {}
    exit_b = event("client.exited", client_id="B", exited_on=D(2025, 6, 1))
    # The instance of B's partition, its batch not committed yet (it writes no row the move writes: what the
    # move waits for is the client).
    async with book.ingesting(exit_b) as first:
        assert first.rejected == {}
        pc1 = event(PAY, payment_id="PC1", loan_id="LC", client_id="C", paid_on=D(2025, 2, 18), principal="300",
                    interest="30", fees="0")  # fmt: skip
        other = await asyncio.wait_for(book.ingest(pc1), timeout=10)  # another client: no waiting
        assert other.rejected == {}
        moving = asyncio.create_task(book.ingest(moved))
        await asyncio.sleep(1.0)
        assert not moving.done(), "a batch moving a payment off B's loan must wait for the batch writing B"
    assert (await asyncio.wait_for(moving, timeout=10)).rejected == {}
    async with book.pool.acquire() as conn:
        rows = await conn.fetch("SELECT payment_id, loan_id FROM snapshotter.payments ORDER BY payment_id")
        exited = await conn.fetchval("SELECT exited_on FROM snapshotter.clients WHERE client_id = 'B'")
    assert [(r["payment_id"], r["loan_id"]) for r in rows] == [("PB1", "LA"), ("PC1", "LC")]
    assert exited == D(2025, 6, 1)


async def test_the_aggregator_batch_that_completes_a_day_sees_the_other_instances_officers(
    book: SnapshotterHarness,
) -> None:
    aggregator = await aggregator_harness(book.pool)
    assert (await book.ingest(*book_events(OWNERS))).rejected == {}
    closed = (await book.close(LAST)).emitted
    day = D(2025, 3, 1).isoformat()
    # Branch B's two officers on one day, their snapshots read by two aggregator instances (two partitions).
    o1, o2 = ([e for e in closed if e["data"]["business_date"] == day and e["data"]["officer_id"] == officer]
              for officer in ("O1", "O2"))  # fmt: skip
    assert len(o1) == len(o2) == 1
    assert o1[0]["data"]["officers_on_day"] == 2
    async with aggregator.applying(o1) as first:  # one instance's batch, not committed yet
        second = asyncio.create_task(aggregator.apply(o2))
        await asyncio.sleep(1.0)
        assert not second.done(), "the other instance's batch of the same day must wait for it"
    assert {e["data"]["scope"] for e in first} == {"officer:O1"}  # alone, the day was not complete
    # The second batch saw O1 once the first committed: the day is complete, its branch and portfolio summed.
    emitted = await asyncio.wait_for(second, timeout=10)
    assert {e["data"]["scope"] for e in emitted} == {"officer:O2", "branch:B", "all"}
    branch = await aggregator.summary("branch:B", D(2025, 3, 1))
    officers = [await aggregator.summary(f"officer:{o}", D(2025, 3, 1)) for o in ("O1", "O2")]
    assert branch["total_clients"] == sum(o["total_clients"] for o in officers)
