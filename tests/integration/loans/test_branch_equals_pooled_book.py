"""Branch figures are sums of numerators, never averages: a branch of two officers must report, on every
day, exactly what one officer holding all of its loans reports (the same book, other owners)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.integration.loans.conftest import BookFactory
from tests.support.snapshotter import AggregatorHarness, aggregator_harness, event

pytestmark = pytest.mark.integration

D = dt.date
FIELDS = (
    "total_clients", "active_clients", "total_loans", "active_loans", "total_disbursed", "total_outstanding",
    "total_collected", "par_30", "par_60", "par_90", "default_rate", "collection_rate", "portfolio_yield",
    "growth_rate", "new_clients_30d", "exited_clients_30d", "health_score", "health_category",
)  # fmt: skip


def weekly(start: dt.date, n: int, principal: int, interest: str) -> list[dict[str, str]]:
    part = principal // n
    rows = []
    for k in range(1, n + 1):
        p = part if k < n else principal - part * (n - 1)
        rows.append(
            {"due_on": (start + dt.timedelta(days=7 * k)).isoformat(), "principal": str(p), "interest": interest}
        )
    return rows


def book_events(owner: dict[str, str]) -> list[dict[str, Any]]:
    """A small book whose clients belong to `owner[client]`; O2 starts lending 40 days after O1."""
    o = owner
    pay = "loan.repayment_received"
    return [
        event("officer.upserted", officer_id="O1", branch_id="B", name="One", email="o1@x.org", role="loan_officer"),
        event("officer.upserted", officer_id="O2", branch_id="B", name="Two", email="o2@x.org", role="loan_officer"),
        event("officer.upserted", officer_id="X", branch_id="P", name="Pool", email="x@x.org", role="loan_officer"),
        event("client.registered", client_id="A", officer_id=o["A"], registered_on=D(2025, 1, 1)),
        event("client.registered", client_id="B", officer_id=o["B"], registered_on=D(2025, 1, 3)),
        event("client.registered", client_id="C", officer_id=o["C"], registered_on=D(2025, 2, 10)),
        event("client.registered", client_id="E", officer_id=o["E"], registered_on=D(2025, 2, 12)),
        event("loan.disbursed", loan_id="LA", client_id="A", disbursed_on=D(2025, 1, 2), principal="1200",
              schedule=weekly(D(2025, 1, 2), 6, 1200, "12.50")),
        event("loan.disbursed", loan_id="LB", client_id="B", disbursed_on=D(2025, 1, 5), principal="800",
              schedule=weekly(D(2025, 1, 5), 4, 800, "8")),
        event("loan.disbursed", loan_id="LC", client_id="C", disbursed_on=D(2025, 2, 11), principal="3000",
              schedule=weekly(D(2025, 2, 11), 10, 3000, "30")),
        event("loan.disbursed", loan_id="LE", client_id="E", disbursed_on=D(2025, 2, 12), principal="500",
              schedule=weekly(D(2025, 2, 12), 2, 500, "5")),
        # A pays the first three installments on time, then stops; B pays partly and late, then prepays.
        *[event(pay, payment_id=f"PA{k}", loan_id="LA", client_id="A", paid_on=D(2025, 1, 2) + dt.timedelta(days=7 * k),
                principal="200", interest="12.50", fees="0") for k in (1, 2, 3)],
        event(pay, payment_id="PB1", loan_id="LB", client_id="B", paid_on=D(2025, 1, 20), principal="150",
              interest="8", fees="25"),
        event(pay, payment_id="PB2", loan_id="LB", client_id="B", paid_on=D(2025, 2, 1), principal="650",
              interest="8", fees="0"),
        # C pays the first four weeks, then is reassigned between officers; E pays off and exits.
        *[event(pay, payment_id=f"PC{k}", loan_id="LC", client_id="C",
                paid_on=D(2025, 2, 11) + dt.timedelta(days=7 * k), principal="300", interest="30", fees="0")
          for k in (1, 2, 3, 4)],
        event("client.reassigned", client_id="C", officer_id=o["C2"], effective_on=D(2025, 3, 20)),
        event(pay, payment_id="PE1", loan_id="LE", client_id="E", paid_on=D(2025, 2, 26), principal="500",
              interest="10", fees="0"),
        event("client.exited", client_id="E", exited_on=D(2025, 3, 1)),
        # A's loan is written off after long arrears.
        event("loan.written_off", loan_id="LA", client_id="A", written_off_on=D(2025, 4, 10)),
    ]  # fmt: skip


async def run(new_book: BookFactory, owner: dict[str, str], last: dt.date) -> AggregatorHarness:
    book = await new_book()
    aggregator = await aggregator_harness(book.pool)
    ledger = await book.ingest(*book_events(owner))
    assert ledger.rejected == {}
    closed = await book.close(last)
    await aggregator.apply(closed.emitted)
    return aggregator


async def test_branch_of_two_officers_equals_one_officer_with_the_whole_book(new_book: BookFactory) -> None:
    last = D(2025, 5, 15)
    # O2 starts lending 40 days after O1 (so the branch's window starts before O2's), C moves from O2 to O1.
    two = await run(new_book, {"A": "O1", "B": "O1", "C": "O2", "E": "O2", "C2": "O1"}, last)
    one = await run(new_book, {"A": "X", "B": "X", "C": "X", "E": "X", "C2": "X"}, last)
    mismatches = []
    day = D(2025, 1, 1)
    while day <= last:
        branch, pooled = await two.summary("branch:B", day), await one.summary("officer:X", day)
        mismatches += [(day, f, branch[f], pooled[f]) for f in FIELDS if branch[f] != pooled[f]]
        day += dt.timedelta(days=1)
    assert mismatches == []
    # The book is not trivial: arrears, a write-off, a prepayment, an exit all happened.
    april = await one.summary("officer:X", D(2025, 4, 10))
    assert april["total_loans"] == 4
    assert april["default_rate"] > 0
    # LA's 4th installment (due 01-30) is never covered: 30 days past due on 03-01, 31 on 03-02.
    assert (await one.summary("officer:X", D(2025, 3, 1)))["par_30"] == 0
    assert (await one.summary("officer:X", D(2025, 3, 2)))["par_30"] > 0
