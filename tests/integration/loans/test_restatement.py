"""Late and corrected data restate closed days (revision + 1) and converge to the in-order numbers."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from services.snapshotter.loans.days import VALUE_COLUMNS
from tests.integration.loans.conftest import BookFactory
from tests.integration.loans.test_branch_equals_pooled_book import book_events
from tests.support.snapshotter import SnapshotterHarness, aggregator_harness, event

pytestmark = pytest.mark.integration

D = dt.date
OWNERS = {"A": "O1", "B": "O1", "C": "O2", "E": "O2", "C2": "O1"}
LAST = D(2025, 5, 15)


def values(rows: list[Any]) -> dict[tuple[str, dt.date], tuple[Any, ...]]:
    return {(r["officer_id"], r["business_date"]): tuple(r[c] for c in VALUE_COLUMNS) for r in rows}


async def test_late_events_converge_to_the_in_order_book(new_book: BookFactory) -> None:
    in_order = await new_book()
    assert (await in_order.ingest(*book_events(OWNERS))).rejected == {}
    await in_order.close(LAST)

    late = await new_book()
    events = book_events(OWNERS)
    # Hold back every repayment of B and C, the reassignment, and the write-off; close; then send them.
    held = [
        e
        for e in events
        if e["data"].get("client_id") in {"B", "C"}
        and e["event_type"] != "client.registered"
        and e["event_type"] != "loan.disbursed"
    ] + [e for e in events if e["event_type"] == "loan.written_off"]
    early = [e for e in events if e not in held]
    assert (await late.ingest(*early)).rejected == {}
    await late.close(LAST)
    before = values(await late.all_days())
    assert before != values(await in_order.all_days())

    assert (await late.ingest(*held)).rejected == {}
    restated = await late.restate()
    assert restated, "late events must restate closed days"
    assert values(await late.all_days()) == values(await in_order.all_days())
    # Restated days carry revision 2; days before the earliest late event keep revision 1.
    revisions = {(e["data"]["officer_id"], e["data"]["business_date"]): e["data"]["revision"] for e in restated}
    assert set(revisions.values()) == {2}
    assert min(d for _, d in revisions) == "2025-01-20"  # PB1, the earliest held event


async def test_a_redelivered_close_and_a_repeated_restatement_change_nothing(book: SnapshotterHarness) -> None:
    assert (await book.ingest(*book_events(OWNERS))).rejected == {}
    first = await book.close(LAST)
    assert first.emitted
    again = await book.close(LAST)
    assert again.emitted == []
    forced = await book.control(event("snapshot.requested", business_date=D(2025, 3, 1), officer_id="O1", force=True))
    assert [(e["data"]["officer_id"], e["data"]["business_date"], e["data"]["revision"]) for e in forced.emitted] == [
        ("O1", "2025-03-01", 2)
    ]
    unforced = await book.control(event("snapshot.requested", business_date=D(2025, 3, 1), force=False))
    assert unforced.emitted == []


async def test_a_branch_move_refiles_the_officer_history_and_the_aggregates_follow(book: SnapshotterHarness) -> None:
    aggregator = await aggregator_harness(book.pool)
    assert (await book.ingest(*book_events(OWNERS))).rejected == {}
    await aggregator.apply((await book.close(LAST)).emitted)
    old = await aggregator.summary("branch:B", D(2025, 3, 1))
    assert (await book.ingest(
        event("officer.upserted", officer_id="O2", branch_id="B9", name="Two", email="o2@x.org", role="loan_officer")
    )).rejected == {}  # fmt: skip
    moved = await book.restate()
    assert {e["data"]["branch_id"] for e in moved} == {"B9"}
    assert {e["data"]["officer_id"] for e in moved} == {"O2"}
    await aggregator.apply(moved)
    branch_b = await aggregator.summary("branch:B", D(2025, 3, 1))
    branch_b9 = await aggregator.summary("branch:B9", D(2025, 3, 1))
    everyone = await aggregator.summary("all", D(2025, 3, 1))
    assert branch_b["total_clients"] + branch_b9["total_clients"] == old["total_clients"] == everyone["total_clients"]
    assert branch_b["total_outstanding"] + branch_b9["total_outstanding"] == everyone["total_outstanding"]


async def test_branch_figures_wait_until_every_officer_of_the_day_is_here(book: SnapshotterHarness) -> None:
    aggregator = await aggregator_harness(book.pool)
    assert (await book.ingest(*book_events(OWNERS))).rejected == {}
    emitted = (await book.close(D(2025, 3, 1))).emitted
    of_o1 = [e for e in emitted if e["data"]["officer_id"] == "O1"]
    others = [e for e in emitted if e["data"]["officer_id"] != "O1"]
    assert of_o1
    assert others
    # O1's rows are missing: no branch or all-portfolio figure may be published without them.
    published = await aggregator.apply(others)
    assert {e["data"]["kind"] for e in published} == {"officer"}
    published = await aggregator.apply(of_o1)
    assert {"branch", "all"} <= {e["data"]["kind"] for e in published}
    march = await aggregator.summary("all", D(2025, 3, 1))
    assert march["total_clients"] == 3  # A, B and C; E exits on 03-01, and a client exiting on D is not counted on D


async def test_a_payment_corrected_onto_another_loan_restates_both_owners(new_book: BookFactory) -> None:
    def book(payment_loan: str, payment_client: str) -> list[dict[str, Any]]:
        schedule = [{"due_on": "2025-02-01", "principal": "1000", "interest": "10"}]
        return [
            event("client.registered", client_id="K1", officer_id="O1", registered_on=D(2025, 1, 1)),
            event("client.registered", client_id="K2", officer_id="O2", registered_on=D(2025, 1, 1)),
            event("loan.disbursed", loan_id="L1", client_id="K1", disbursed_on=D(2025, 1, 2), principal="1000",
                  schedule=schedule),
            event("loan.disbursed", loan_id="L2", client_id="K2", disbursed_on=D(2025, 1, 2), principal="1000",
                  schedule=schedule),
            event("loan.repayment_received", payment_id="P1", loan_id=payment_loan, client_id=payment_client,
                  paid_on=D(2025, 1, 10), principal="100", interest="5", fees="0"),
        ]  # fmt: skip

    in_order = await new_book()
    assert (await in_order.ingest(*book("L2", "K2"))).rejected == {}
    await in_order.close(D(2025, 1, 31))

    corrected = await new_book()
    assert (await corrected.ingest(*book("L1", "K1"))).rejected == {}
    await corrected.close(D(2025, 1, 31))
    # The payment was L2's all along: the correction moves it (same payment_id), after the days were closed.
    moved = event("loan.repayment_received", payment_id="P1", loan_id="L2", client_id="K2", paid_on=D(2025, 1, 10),
                  principal="100", interest="5", fees="0")  # fmt: skip
    assert (await corrected.ingest(moved)).rejected == {}
    await corrected.restate()
    assert values(await corrected.all_days()) == values(await in_order.all_days())
    # By hand: O1 holds L1 untouched (1,000 outstanding), O2 holds L2 after 100 repaid (900).
    assert (await corrected.metrics("O1", D(2025, 1, 31))).total_outstanding == 1000
    assert (await corrected.metrics("O2", D(2025, 1, 31))).total_outstanding == 900
