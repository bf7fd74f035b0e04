"""Small loan books whose metrics (CONTRACT §2) are worked out by hand, one book per rule.

Every expected number below comes from the contract's definitions, with the arithmetic in the comments; none
was copied from the code's output. Two identities used throughout, for a window W of n days with Σ GLP the
sum of the end-of-day GLPs over W (average GLP = Σ GLP / n):
  portfolio_yield = 100 × I / (Σ GLP / n) × 365 / n = 36,500 × I / Σ GLP   (I = interest + fees in W)
  default_rate    = 100 × WO / (Σ GLP / n)          = 100 × WO × n / Σ GLP (WO = principal written off in W)
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from tests.integration.loans.conftest import BookFactory
from tests.support.snapshotter import SnapshotterHarness, aggregator_harness, event

pytestmark = pytest.mark.integration

D = dt.date
FOUR = Decimal("0.0001")
ZERO = Decimal(0)
Envelope = dict[str, Any]


def q(value: Decimal) -> Decimal:
    return value.quantize(FOUR)


# -- the events of a book ---------------------------------------------------------------------------------
def officer(officer_id: str, branch_id: str = "B1") -> Envelope:
    return event("officer.upserted", officer_id=officer_id, branch_id=branch_id, name=f"Officer {officer_id}",
                 email=f"{officer_id.lower()}@x.org", role="loan_officer")  # fmt: skip


def register(client_id: str, officer_id: str, on: dt.date) -> Envelope:
    return event("client.registered", client_id=client_id, officer_id=officer_id, registered_on=on)


def reassign(client_id: str, officer_id: str, on: dt.date) -> Envelope:
    return event("client.reassigned", client_id=client_id, officer_id=officer_id, effective_on=on)


def exit_(client_id: str, on: dt.date) -> Envelope:
    return event("client.exited", client_id=client_id, exited_on=on)


def disburse(
    loan_id: str, client_id: str, on: dt.date, principal: str, *schedule: tuple[dt.date, str, str]
) -> Envelope:
    """`schedule`: (due_on, principal, interest) per installment."""
    rows = [{"due_on": d.isoformat(), "principal": p, "interest": i} for d, p, i in schedule]
    return event("loan.disbursed", loan_id=loan_id, client_id=client_id, disbursed_on=on, principal=principal,
                 schedule=rows)  # fmt: skip


def pay(payment_id: str, loan_id: str, client_id: str, on: dt.date, principal: str, interest: str = "0",
        fees: str = "0") -> Envelope:  # fmt: skip
    return event("loan.repayment_received", payment_id=payment_id, loan_id=loan_id, client_id=client_id,
                 paid_on=on, principal=principal, interest=interest, fees=fees)  # fmt: skip


def write_off(loan_id: str, client_id: str, on: dt.date) -> Envelope:
    return event("loan.written_off", loan_id=loan_id, client_id=client_id, written_off_on=on)


async def load(book: SnapshotterHarness, *envelopes: Envelope) -> None:
    ledger = await book.ingest(*envelopes)
    assert ledger.rejected == {}


# == 1. Coverage in due order, a partial payment, a prepayment ==============================================
# O1/C1 (registered 2025-01-01); L1 disbursed 2025-01-01, principal 3,000, three monthly installments:
#   #1 due 02-01: 1,000 + 30 = 1,030 (cumulative 1,030)
#   #2 due 03-01: 1,000 + 20 = 1,020 (cumulative 2,050)
#   #3 due 04-01: 1,000 + 10 = 1,010 (cumulative 3,060)
# Nothing is paid until P1 on 03-10: 1,200 principal + 30 interest (P+I 1,230: covers #1 and 200 of #2).
# P2 on 03-20 prepays the whole remaining principal 3,000 − 1,200 = 1,800 plus only the current interest 20
#   (P+I to date 3,050 < 3,060: #3 is never fully covered, but the loan is repaid on 03-20, before #3 is due).
# End-of-day GLP: 01-01..03-09 3,000 (31 + 28 + 9 = 68 days); 03-10..03-19 1,800 (10 days); from 03-20 0.
BOOK_1_DAY = D(2025, 4, 15)


async def book_1(book: SnapshotterHarness) -> None:
    await load(
        book,
        officer("O1"),
        register("C1", "O1", D(2025, 1, 1)),
        disburse("L1", "C1", D(2025, 1, 1), "3000",
                 (D(2025, 2, 1), "1000", "30"), (D(2025, 3, 1), "1000", "20"), (D(2025, 4, 1), "1000", "10")),
        pay("P1", "L1", "C1", D(2025, 3, 10), "1200", "30"),
        pay("P2", "L1", "C1", D(2025, 3, 20), "1800", "20"),
    )  # fmt: skip
    await book.close(BOOK_1_DAY)


async def test_unpaid_first_installment_is_late_in_due_order(book: SnapshotterHarness) -> None:
    await book_1(book)
    # 03-03: #1 (due 02-01) uncovered, 03-03 − 02-01 = 30 days past due → not in PAR30.
    assert (await book.metrics("O1", D(2025, 3, 3))).par_30 == 0
    m = await book.metrics("O1", D(2025, 3, 4))
    # 03-04: 31 days past due → the whole 3,000 is PAR30 (of GLP 3,000); not PAR60.
    assert m.total_outstanding == Decimal(3000)
    assert m.par_30 == Decimal(100)
    assert m.par_60 == 0
    # Due in (02-02, 03-04]: only #2 (due 03-01), 1,020; covered max(0 − 1,030, 0) = 0 → 0 %.
    assert m.collection_rate == 0


async def test_a_partial_payment_covers_the_first_installment_then_part_of_the_second(
    book: SnapshotterHarness,
) -> None:
    await book_1(book)
    for day in (D(2025, 3, 10), D(2025, 3, 19)):
        m = await book.metrics("O1", day)
        # P+I paid 1,230 ≥ 1,030 covers #1; #2 (cumulative 2,050) is the oldest late one, due 03-01:
        # 9 days (03-10) / 18 days (03-19) past due → no PAR.
        assert m.total_outstanding == Decimal(1800)  # 3,000 − 1,200
        assert (m.active_loans, m.active_clients) == (1, 1)
        assert (m.par_30, m.par_60, m.par_90) == (ZERO, ZERO, ZERO)
        # Due in (D − 30, D] (from 02-08 / 02-17): only #2, 1,020; covered 1,230 − 1,030 = 200.
        # 100 × 200 / 1,020 = 19.6078431…
        assert q(m.collection_rate) == Decimal("19.6078")
        assert m.total_collected == Decimal(1230)


async def test_a_prepayment_repays_the_loan_and_later_installments_are_no_longer_due(
    book: SnapshotterHarness,
) -> None:
    await book_1(book)
    m = await book.metrics("O1", D(2025, 3, 20))
    # Outstanding 3,000 − 1,200 − 1,800 = 0: the loan is no longer active.
    assert (m.total_outstanding, m.active_loans, m.active_clients, m.total_clients) == (ZERO, 0, 0, 1)
    assert (m.total_loans, m.total_disbursed) == (1, Decimal(3000))
    assert m.total_collected == Decimal(3050)  # 1,230 + 1,820
    assert m.par_30 == 0  # GLP 0
    # Due in (02-18, 03-20]: #2 (1,020), covered min(3,050 − 1,030, 1,020) = 1,020 → 100 %.
    assert m.collection_rate == Decimal(100)
    # GLP on 02-18 was 3,000, now 0 → −100 %.
    assert m.growth_rate == Decimal(-100)
    # W = 01-01..03-20 (79 days); Σ GLP = 68 × 3,000 + 10 × 1,800 + 0 = 222,000; interest 30 + 20 = 50.
    # Yield = 36,500 × 50 / 222,000 = 8.2207207…
    assert q(m.portfolio_yield) == Decimal("8.2207")
    assert m.default_rate == 0

    for day in (D(2025, 4, 1), BOOK_1_DAY):
        m = await book.metrics("O1", day)
        # Due in (03-02, 04-01] / (03-16, 04-15]: only #3 (due 04-01), which falls due after the loan was
        # repaid (03-20): no longer due, so nothing falls due → 100 (not 100 × (3,050 − 2,050) / 1,010 = 99.01).
        assert m.collection_rate == Decimal(100)
        assert (m.total_outstanding, m.active_loans, m.par_30) == (ZERO, 0, ZERO)
        # GLP stays 0 after 03-20: Σ GLP over W (01-01..D) is still 222,000, interest still 50 → 8.2207…
        assert q(m.portfolio_yield) == Decimal("8.2207")


# == 2. A reassignment in the middle of the window ==========================================================
# Officers A and B, both in branch BR.
#   C1 registered 2025-01-01 with A, reassigned to B effective 2025-03-01; C3 registered 2025-01-01 with A (no
#   loan); C2 registered 2025-01-01 with B.
#   L1 (C1) disbursed 01-01, 1,200: #1 02-01 100 + 10, #2 03-01 100 + 10, #3 12-01 1,000 + 10.
#     P1 02-01 (A's day): 100 + 10 interest + 5 fees (covers #1).
#     P2 03-01 (B's day, the effective day): 50 + 10 (P+I to date 170: covers 60 of #2).
#     Written off 04-15 (B's day): outstanding 1,200 − 150 = 1,050.
#   L2 (C2) disbursed 01-01, 600: one installment 12-31 600 + 60; nothing paid.
# End-of-day GLP:
#   A: 01-01..01-31 1,200 (31 days); 02-01..02-28 1,100 (28 days); from 03-01 0.
#   B: 01-01..02-28 600 (59 days); 03-01..04-14 600 + 1,050 = 1,650 (31 + 14 = 45 days); from 04-15 600.
ADDITIVE = ("total_clients", "active_clients", "total_loans", "active_loans", "total_disbursed",
            "total_outstanding", "total_collected", "new_clients_30d", "exited_clients_30d")  # fmt: skip
BOOK_2_DAYS = (D(2025, 2, 28), D(2025, 3, 1), D(2025, 4, 14), D(2025, 4, 15))


async def book_2(book: SnapshotterHarness) -> list[Envelope]:
    await load(
        book,
        officer("A", "BR"),
        officer("B", "BR"),
        register("C1", "A", D(2025, 1, 1)),
        register("C3", "A", D(2025, 1, 1)),
        register("C2", "B", D(2025, 1, 1)),
        disburse("L1", "C1", D(2025, 1, 1), "1200",
                 (D(2025, 2, 1), "100", "10"), (D(2025, 3, 1), "100", "10"), (D(2025, 12, 1), "1000", "10")),
        disburse("L2", "C2", D(2025, 1, 1), "600", (D(2025, 12, 31), "600", "60")),
        pay("P1", "L1", "C1", D(2025, 2, 1), "100", "10", "5"),
        reassign("C1", "B", D(2025, 3, 1)),
        pay("P2", "L1", "C1", D(2025, 3, 1), "50", "10"),
        write_off("L1", "C1", D(2025, 4, 15)),
    )  # fmt: skip
    return (await book.close(D(2025, 4, 15))).emitted


async def test_before_the_reassignment_the_old_officer_holds_the_loan(book: SnapshotterHarness) -> None:
    await book_2(book)
    a, b = await book.metrics("A", D(2025, 2, 28)), await book.metrics("B", D(2025, 2, 28))
    # A: C1 and C3; L1 active (outstanding 1,100); P1 collected 115.
    assert (a.total_clients, a.active_clients, a.total_loans, a.active_loans) == (2, 1, 1, 1)
    assert (a.total_disbursed, a.total_outstanding, a.total_collected) == (Decimal(1200), Decimal(1100), Decimal(115))
    # A's W = 01-01..02-28; Σ GLP = 31 × 1,200 + 28 × 1,100 = 68,000; I = 10 + 5 = 15.
    # Yield = 36,500 × 15 / 68,000 = 8.0514705…
    assert q(a.portfolio_yield) == Decimal("8.0515")
    # Due in (01-29, 02-28]: #1 (110), covered → 100 %.
    assert a.collection_rate == Decimal(100)
    # B: C2 only, L2 600, nothing collected.
    assert (b.total_clients, b.active_clients, b.total_loans, b.active_loans) == (1, 1, 1, 1)
    assert (b.total_disbursed, b.total_outstanding, b.total_collected) == (Decimal(600), Decimal(600), ZERO)
    assert b.portfolio_yield == 0


async def test_from_the_effective_day_the_new_officer_holds_the_stock_flows_stay(book: SnapshotterHarness) -> None:
    await book_2(book)
    a, b = await book.metrics("A", D(2025, 3, 1)), await book.metrics("B", D(2025, 3, 1))
    # A keeps C3 only; the disbursement of L1 (01-01) and P1 (02-01) stay A's flows.
    assert (a.total_clients, a.active_clients, a.total_loans, a.active_loans) == (1, 0, 1, 0)
    assert (a.total_disbursed, a.total_outstanding, a.total_collected) == (Decimal(1200), ZERO, Decimal(115))
    assert a.growth_rate == Decimal(-100)  # A's GLP on 01-30 was 1,200, now 0
    # A's W = 01-01..03-01, Σ GLP = 68,000 + 0, I = 15 → 8.0514705…
    assert q(a.portfolio_yield) == Decimal("8.0515")
    assert a.collection_rate == Decimal(100)  # A holds no installments any more: nothing falls due
    # B: C1 and C2; L1 (1,050) and L2 (600) active; L1 was not disbursed by B; P2 (03-01) is B's.
    assert (b.total_clients, b.active_clients, b.total_loans, b.active_loans) == (2, 2, 1, 2)
    assert (b.total_disbursed, b.total_outstanding, b.total_collected) == (Decimal(600), Decimal(1650), Decimal(60))
    # Due in (01-30, 03-01] for B's loans on D: L1 #1 (02-01, 110) and #2 (03-01, 110) = 220;
    # covered 110 + (170 − 110) = 170 → 100 × 170 / 220 = 77.2727…
    assert q(b.collection_rate) == Decimal("77.2727")
    # B's GLP on 01-30 was 600 → 100 × (1,650 − 600) / 600 = 175.
    assert b.growth_rate == Decimal(175)
    # B's W = 01-01..03-01 (60 days); Σ GLP = 59 × 600 + 1,650 = 37,050; I = 10 (P2).
    # Yield = 36,500 × 10 / 37,050 = 9.8515519…
    assert q(b.portfolio_yield) == Decimal("9.8516")


async def test_late_loans_and_the_write_off_belong_to_the_owner_on_the_day(book: SnapshotterHarness) -> None:
    await book_2(book)
    a, b = await book.metrics("A", D(2025, 4, 14)), await book.metrics("B", D(2025, 4, 14))
    # 04-14: L1's #2 (due 03-01) is covered 60 of 110: 44 days past due → B's PAR30 = 1,050 / 1,650.
    assert q(b.par_30) == Decimal("63.6364")  # 100 × 1,050 / 1,650 = 63.6363…
    assert b.par_60 == 0
    assert a.par_30 == 0

    a, b = await book.metrics("A", D(2025, 4, 15)), await book.metrics("B", D(2025, 4, 15))
    # The write-off (04-15) is B's flow: 1,050.
    # B's W = 01-01..04-15 (105 days); Σ GLP = 59 × 600 + 45 × 1,650 + 600 = 35,400 + 74,250 + 600 = 110,250
    # (average 1,050). Default = 100 × 1,050 / 1,050 = 100.
    assert b.default_rate == Decimal(100)
    # Yield = 36,500 × 10 / 110,250 = 3.3106575…
    assert q(b.portfolio_yield) == Decimal("3.3107")
    assert (b.total_outstanding, b.active_loans, b.active_clients, b.total_clients) == (Decimal(600), 1, 1, 2)
    assert (b.total_loans, b.total_disbursed, b.total_collected) == (1, Decimal(600), Decimal(60))
    # B's GLP on 03-16 was 1,650 → 100 × (600 − 1,650) / 1,650 = −63.6363…
    assert q(b.growth_rate) == Decimal("-63.6364")
    # A wrote nothing off; Σ GLP over 01-01..04-15 still 68,000, I = 15.
    assert a.default_rate == 0
    assert q(a.portfolio_yield) == Decimal("8.0515")
    assert (a.total_loans, a.total_disbursed, a.total_collected, a.total_outstanding) == (
        1, Decimal(1200), Decimal(115), ZERO)  # fmt: skip


async def test_the_branch_is_the_sum_of_the_two_officers(book: SnapshotterHarness) -> None:
    emitted = await book_2(book)
    aggregator = await aggregator_harness(book.pool)
    await aggregator.apply(emitted)
    for day in BOOK_2_DAYS:
        a, b = await aggregator.summary("officer:A", day), await aggregator.summary("officer:B", day)
        branch = await aggregator.summary("branch:BR", day)
        assert {f: branch[f] for f in ADDITIVE} == {f: a[f] + b[f] for f in ADDITIVE}, day
    # 02-28: 3 clients, GLP 1,100 + 600, disbursed 1,800, collected 115.
    s = await aggregator.summary("branch:BR", D(2025, 2, 28))
    assert (s["total_clients"], s["total_loans"], s["total_outstanding"], s["total_collected"]) == (3, 2, 1700, 115)
    s = await aggregator.summary("branch:BR", D(2025, 4, 15))
    assert (s["total_clients"], s["active_clients"], s["total_loans"], s["active_loans"]) == (3, 1, 2, 1)
    assert (s["total_disbursed"], s["total_outstanding"], s["total_collected"]) == (1800, 600, 175)
    # Branch W = 01-01..04-15 (105 days); Σ GLP = 68,000 (A) + 110,250 (B) = 178,250; written off 1,050.
    # Default = 100 × 1,050 × 105 / 178,250 = 61.8513323…
    assert q(s["default_rate"]) == Decimal("61.8513")
    # Yield = 36,500 × (15 + 10) / 178,250 = 5.1192145…
    assert q(s["portfolio_yield"]) == Decimal("5.1192")
    # GLP on 03-16: 0 + 1,650 → 100 × (600 − 1,650) / 1,650 = −63.6363…
    assert q(s["growth_rate"]) == Decimal("-63.6364")
    # Due in (03-16, 04-15]: no installment of L1 or L2 → 100.
    assert s["collection_rate"] == 100


# == 3. An exited client, registrations and exits over 30 days ==============================================
# O1, O2 in branch B1.
#   C1 registered 01-01 with O1, exits 02-10.      C2 registered 01-20 with O1.
#   C3 registered 01-05 with O2, exits 02-01.      C4 registered 01-10 with O2, reassigned to O1 from 01-15.
# Registrations and exits count for the owner on their day: C4's registration is O2's.
async def book_3(book: SnapshotterHarness) -> None:
    await load(
        book,
        officer("O1"),
        officer("O2"),
        register("C1", "O1", D(2025, 1, 1)),
        register("C3", "O2", D(2025, 1, 5)),
        register("C4", "O2", D(2025, 1, 10)),
        reassign("C4", "O1", D(2025, 1, 15)),
        register("C2", "O1", D(2025, 1, 20)),
        exit_("C3", D(2025, 2, 1)),
        exit_("C1", D(2025, 2, 10)),
    )
    await book.close(D(2025, 3, 15))


async def test_exits_and_registrations_over_thirty_days(book: SnapshotterHarness) -> None:
    await book_3(book)

    async def o1(day: dt.date) -> tuple[int, int, int]:
        m = await book.metrics("O1", day)
        return m.total_clients, m.new_clients_30d, m.exited_clients_30d

    assert await o1(D(2025, 1, 10)) == (1, 1, 0)  # C1
    assert await o1(D(2025, 1, 15)) == (2, 1, 0)  # C1, C4; C4 was registered by O2
    assert await o1(D(2025, 1, 30)) == (3, 2, 0)  # registered in (12-31, 01-30]: C1, C2
    assert await o1(D(2025, 1, 31)) == (3, 1, 0)  # (01-01, 01-31]: C2 only
    assert await o1(D(2025, 2, 9)) == (3, 1, 0)
    assert await o1(D(2025, 2, 10)) == (2, 1, 1)  # C1 exits on 02-10: not counted on 02-10
    assert await o1(D(2025, 2, 18)) == (2, 1, 1)  # (01-19, 02-18] holds C2's 01-20
    assert await o1(D(2025, 2, 19)) == (2, 0, 1)  # (01-20, 02-19] does not
    assert await o1(D(2025, 3, 11)) == (2, 0, 1)  # (02-09, 03-11] holds the 02-10 exit
    assert await o1(D(2025, 3, 12)) == (2, 0, 0)  # (02-10, 03-12] does not


async def test_an_officer_whose_only_client_exits_has_no_snapshot_day(book: SnapshotterHarness) -> None:
    await book_3(book)
    m = await book.metrics("O2", D(2025, 1, 14))
    assert (m.total_clients, m.new_clients_30d) == (2, 2)  # C3, C4
    m = await book.metrics("O2", D(2025, 1, 15))
    assert (m.total_clients, m.new_clients_30d) == (1, 2)  # C4 left, but both registrations were O2's
    assert (await book.day("O2", D(2025, 1, 31)))["has_clients"] is True
    m = await book.metrics("O2", D(2025, 2, 1))
    # C3 exits on 02-01: O2 owns no client who has not exited.
    assert (m.total_clients, m.new_clients_30d, m.exited_clients_30d) == (0, 2, 1)
    for day in (D(2025, 2, 1), D(2025, 2, 15), D(2025, 3, 15)):
        assert (await book.day("O2", day))["has_clients"] is False, day
    assert (await book.day("O1", D(2025, 3, 15)))["has_clients"] is True


# == 4. A portfolio younger than 30 and than 365 days ======================================================
# O1; C1 and C2 registered 2025-03-01.
#   L1 (C1) disbursed 03-05, 1,000: 04-05 500 + 20, 05-05 500 + 20. P0 03-10: fees 10 only.
#     P1 04-05: 500 + 20. (#2 is never paid.)
#   L2 (C2) disbursed 03-15, 400: 04-15 400 + 16. Never paid; written off 05-15 (400).
# End-of-day GLP: 03-01..03-04 0; 03-05..03-14 1,000 (10 days); 03-15..04-04 1,400 (17 + 4 = 21 days);
#   04-05..05-14 900 (26 + 14 = 40 days); 05-15 500.
async def book_4(book: SnapshotterHarness) -> None:
    await load(
        book,
        officer("O1"),
        register("C1", "O1", D(2025, 3, 1)),
        register("C2", "O1", D(2025, 3, 1)),
        disburse("L1", "C1", D(2025, 3, 5), "1000", (D(2025, 4, 5), "500", "20"), (D(2025, 5, 5), "500", "20")),
        pay("P0", "L1", "C1", D(2025, 3, 10), "0", "0", "10"),
        disburse("L2", "C2", D(2025, 3, 15), "400", (D(2025, 4, 15), "400", "16")),
        pay("P1", "L1", "C1", D(2025, 4, 5), "500", "20"),
        write_off("L2", "C2", D(2025, 5, 15)),
    )
    await book.close(D(2025, 5, 15))


async def test_a_young_portfolio_before_any_glp(book: SnapshotterHarness) -> None:
    await book_4(book)
    m = await book.metrics("O1", D(2025, 3, 4))
    # Never any GLP > 0 yet: no window → yield and default rate 0; growth 0.
    assert (m.total_clients, m.total_outstanding) == (2, ZERO)
    assert (m.portfolio_yield, m.default_rate, m.growth_rate) == (ZERO, ZERO, ZERO)
    assert m.collection_rate == Decimal(100)


async def test_a_window_shorter_than_a_year_starts_at_the_first_day_with_glp(book: SnapshotterHarness) -> None:
    await book_4(book)
    m = await book.metrics("O1", D(2025, 3, 20))
    # W = 03-05..03-20 (16 days); Σ GLP = 10 × 1,000 + 6 × 1,400 = 18,400; I = 10 (P0's fees).
    # Yield = 36,500 × 10 / 18,400 = 19.8369565…
    assert q(m.portfolio_yield) == Decimal("19.8370")
    assert m.growth_rate == 0  # GLP on 02-18: 0 (no portfolio yet)

    m = await book.metrics("O1", D(2025, 5, 15))
    # W = 03-05..05-15 = 27 + 30 + 15 = 72 days (not 365, and not from the first client on 03-01).
    assert (await book.day("O1", D(2025, 5, 15)))["window_days"] == 72
    # Σ GLP = 10 × 1,000 + 21 × 1,400 + 40 × 900 + 500 = 10,000 + 29,400 + 36,000 + 500 = 75,900.
    # Default = 100 × 400 × 72 / 75,900 = 37.9446640…
    assert q(m.default_rate) == Decimal("37.9447")
    # Yield = 36,500 × (10 + 20) / 75,900 = 14.4268774…
    assert q(m.portfolio_yield) == Decimal("14.4269")
    assert (m.total_outstanding, m.active_loans) == (Decimal(500), 1)


async def test_growth_is_zero_while_the_glp_thirty_days_ago_was_zero(book: SnapshotterHarness) -> None:
    await book_4(book)
    # 04-03: D − 30 = 03-04, GLP 0 then → 0, although GLP is 1,400 now.
    assert (await book.metrics("O1", D(2025, 4, 3))).growth_rate == 0
    # 04-04: D − 30 = 03-05, GLP 1,000 → 100 × (1,400 − 1,000) / 1,000 = 40.
    assert (await book.metrics("O1", D(2025, 4, 4))).growth_rate == Decimal(40)
    # 04-05: D − 30 = 03-06, GLP 1,000 → 100 × (900 − 1,000) / 1,000 = −10.
    assert (await book.metrics("O1", D(2025, 4, 5))).growth_rate == Decimal(-10)


# == 5. Nothing falls due in (D − 30, D] ====================================================================
# O1; C1, C2 registered 2025-01-01. L1 (C1) 01-01, 1,000: one installment 06-30 1,000 + 50.
# L2 (C2) 01-01, 200: one installment 01-15 200 + 10. Nothing is ever paid. GLP 1,200 every day.
async def test_collection_rate_is_100_when_nothing_falls_due(book: SnapshotterHarness) -> None:
    await load(
        book,
        officer("O1"),
        register("C1", "O1", D(2025, 1, 1)),
        register("C2", "O1", D(2025, 1, 1)),
        disburse("L1", "C1", D(2025, 1, 1), "1000", (D(2025, 6, 30), "1000", "50")),
        disburse("L2", "C2", D(2025, 1, 1), "200", (D(2025, 1, 15), "200", "10")),
    )
    await book.close(D(2025, 2, 15))
    # 01-01: nothing due in (12-02, 01-01] → 100.
    assert (await book.metrics("O1", D(2025, 1, 1))).collection_rate == Decimal(100)
    # 02-13: (01-14, 02-13] holds L2's installment (210), uncovered → 0.
    assert (await book.metrics("O1", D(2025, 2, 13))).collection_rate == 0
    m = await book.metrics("O1", D(2025, 2, 14))
    # 02-14: (01-15, 02-14] holds nothing → 100; L2 is 30 days past due → not PAR30.
    assert (m.collection_rate, m.par_30) == (Decimal(100), ZERO)
    m = await book.metrics("O1", D(2025, 2, 15))
    # 02-15: still nothing due → 100, although L2 (31 days past due) is PAR30: 100 × 200 / 1,200 = 16.6666…
    assert m.collection_rate == Decimal(100)
    assert q(m.par_30) == Decimal("16.6667")
    # Health: 0.4 × 100 + 0.3 × (100 − 0) + 0.2 × (0 + 50) + 0.1 × 0 = 40 + 30 + 10 = 80 → excellent (80 ≤ x).
    # (growth: GLP on 01-16 1,200 = now; no interest received → yield 0)
    assert m.health_score == Decimal(80)
    assert m.health_category == "excellent"


# == 6. The published PAR table (Sa-Dhan) ===================================================================
# D = 2025-12-31; one officer, seven clients (all registered 2024-06-01), one loan each:
#   LCUR 156,000 disbursed 2025-06-30: 10-31 28,000 + 1,000; 12-31 64,000 + 1,000; 2026-02-28 64,000 + 1,000;
#        paid 10-31 28,000 + 1,000 → outstanding 128,000; #2 is due ON D (not late: due_on < D fails) → 0 days.
#   L30  17,500 disbursed 2025-09-01: 12-01 17,500 + 500; unpaid → 12-31 − 12-01 = 30 days (1–30).
#   L60  12,000 disbursed 2025-08-01: 10-01 2,000 + 200; 11-30 10,000 + 200; paid 10-01 2,000 + 200
#        → outstanding 10,000; #2 late → 12-31 − 11-30 = 31 days (31–60).
#   L90  6,000 disbursed 2025-07-01: 10-02 3,000 + 100; 11-02 3,000 + 100; paid 10-20 1,000 + 100 (P+I 1,100
#        < 3,100: #1 stays late) → outstanding 5,000; 12-31 − 10-02 = 29 + 30 + 31 = 90 days (61–90).
#   L180 3,500 disbursed 2025-05-01: 10-01 3,500 + 300; paid 10-05 interest 300 only (300 < 3,800)
#        → outstanding 3,500; 12-31 − 10-01 = 91 days (91–180).
#   L365 2,500 disbursed 2024-12-01: 2025-01-01 2,500 + 100; unpaid → 364 days (181–365).
#   LOLD 1,500 disbursed 2024-06-01: 2024-07-01 1,500 + 50; unpaid → 184 + 364 = 548 days (> 365).
# GLP = 128,000 + 17,500 + 10,000 + 5,000 + 3,500 + 2,500 + 1,500 = 168,000.
PAR_DAY = D(2025, 12, 31)


async def test_the_published_par_table(book: SnapshotterHarness) -> None:
    clients = ("CUR", "30", "60", "90", "180", "365", "OLD")
    await load(
        book,
        officer("O1"),
        *[register(f"C{c}", "O1", D(2024, 6, 1)) for c in clients],
        disburse("LCUR", "CCUR", D(2025, 6, 30), "156000", (D(2025, 10, 31), "28000", "1000"),
                 (D(2025, 12, 31), "64000", "1000"), (D(2026, 2, 28), "64000", "1000")),
        pay("PCUR", "LCUR", "CCUR", D(2025, 10, 31), "28000", "1000"),
        disburse("L30", "C30", D(2025, 9, 1), "17500", (D(2025, 12, 1), "17500", "500")),
        disburse("L60", "C60", D(2025, 8, 1), "12000", (D(2025, 10, 1), "2000", "200"),
                 (D(2025, 11, 30), "10000", "200")),
        pay("P60", "L60", "C60", D(2025, 10, 1), "2000", "200"),
        disburse("L90", "C90", D(2025, 7, 1), "6000", (D(2025, 10, 2), "3000", "100"), (D(2025, 11, 2), "3000", "100")),
        pay("P90", "L90", "C90", D(2025, 10, 20), "1000", "100"),
        disburse("L180", "C180", D(2025, 5, 1), "3500", (D(2025, 10, 1), "3500", "300")),
        pay("P180", "L180", "C180", D(2025, 10, 5), "0", "300"),
        disburse("L365", "C365", D(2024, 12, 1), "2500", (D(2025, 1, 1), "2500", "100")),
        disburse("LOLD", "COLD", D(2024, 6, 1), "1500", (D(2024, 7, 1), "1500", "50")),
    )  # fmt: skip
    await book.close(PAR_DAY)
    m = await book.metrics("O1", PAR_DAY)
    assert (m.total_outstanding, m.active_loans, m.active_clients) == (Decimal(168000), 7, 7)
    # PAR30: > 30 days: 10,000 + 5,000 + 3,500 + 2,500 + 1,500 = 22,500 → 100 × 22,500 / 168,000 = 13.392857…
    assert q(m.par_30) == Decimal("13.3929")
    # PAR60: > 60 days: 5,000 + 3,500 + 2,500 + 1,500 = 12,500 → 7.4404761…
    assert q(m.par_60) == Decimal("7.4405")
    # PAR90: > 90 days: 3,500 + 2,500 + 1,500 = 7,500 → 4.4642857…
    assert q(m.par_90) == Decimal("4.4643")

    # The day before, each late loan is one day younger: L60 30 (not PAR30), L90 89 (PAR60), L180 90 (not PAR90).
    m = await book.metrics("O1", PAR_DAY - dt.timedelta(days=1))
    assert m.total_outstanding == Decimal(168000)
    # PAR30 = PAR60 = 5,000 + 3,500 + 2,500 + 1,500 = 12,500 → 7.4404761…; PAR90 = 2,500 + 1,500 → 2.3809523…
    assert (q(m.par_30), q(m.par_60), q(m.par_90)) == (Decimal("7.4405"), Decimal("7.4405"), Decimal("2.3810"))


# == 7. Business-rule rejections and corrections ============================================================
# O1; C1, C2 registered 2025-01-01.
#   L1 (C1) disbursed 01-10, 1,000: 02-10 500 + 20; 03-10 500 + 20. P1 02-10: 500 + 20.
#   L2 (C2) disbursed 01-10, 300: 02-10 300 + 15. Never paid; written off 03-01 (300).
# End-of-day GLP: 01-10..02-09 1,300 (22 + 9 = 31 days); 02-10..02-28 800 (19 days); from 03-01 500.
def book_7() -> list[Envelope]:
    return [
        officer("O1"),
        register("C1", "O1", D(2025, 1, 1)),
        register("C2", "O1", D(2025, 1, 1)),
        disburse("L1", "C1", D(2025, 1, 10), "1000", (D(2025, 2, 10), "500", "20"), (D(2025, 3, 10), "500", "20")),
        disburse("L2", "C2", D(2025, 1, 10), "300", (D(2025, 2, 10), "300", "15")),
        pay("P1", "L1", "C1", D(2025, 2, 10), "500", "20"),
        write_off("L2", "C2", D(2025, 3, 1)),
    ]


METRIC_DAYS = [D(2025, 1, 1) + dt.timedelta(days=n) for n in range(70)]  # 01-01..03-11


async def test_rejected_events_change_nothing(new_book: BookFactory) -> None:
    book = await new_book()
    await load(book, *book_7())
    await book.close(D(2025, 3, 10))
    unknown_loan = pay("PX", "L9", "C1", D(2025, 3, 11), "100")
    overpayment = pay("PY", "L1", "C1", D(2025, 3, 11), "501")  # outstanding on 03-11: 500
    too_early = pay("PZ", "L1", "C1", D(2025, 1, 5), "100")  # L1 disbursed 01-10
    written_off = pay("PW", "L2", "C2", D(2025, 3, 11), "100")  # L2 written off 03-01
    no_client = disburse("L3", "GHOST", D(2025, 3, 11), "100", (D(2025, 4, 11), "100", "0"))
    fee = pay("P2", "L1", "C1", D(2025, 3, 11), "0", "0", "5")  # a good event after the bad ones
    ledger = await book.ingest(unknown_loan, overpayment, too_early, written_off, no_client, fee)
    assert ledger.rejected == {
        unknown_loan["event_id"]: "unknown_loan",
        overpayment["event_id"]: "overpayment",
        too_early["event_id"]: "date_before_disbursement",
        written_off["event_id"]: "loan_written_off",
        no_client["event_id"]: "unknown_client",
    }
    assert await book.restate() == []  # nothing queued: no closed day changed
    await book.close(D(2025, 3, 11))

    m = await book.metrics("O1", D(2025, 3, 11))
    assert (m.total_clients, m.active_clients, m.total_loans, m.active_loans) == (2, 1, 2, 1)
    assert (m.total_disbursed, m.total_outstanding, m.total_collected) == (Decimal(1300), Decimal(500), Decimal(525))
    # L1: P+I 520 covers #1; #2 (due 03-10) is 1 day late → no PAR.
    assert m.par_30 == 0
    # Due in (02-09, 03-11]: L1 #1 520 (covered), L1 #2 520 (0), L2's 02-10 315 (due before its write-off on
    # 03-01, so still due; 0) → 100 × 520 / 1,355 = 38.3763837…
    assert q(m.collection_rate) == Decimal("38.3764")
    # W = 01-10..03-11 (61 days); Σ GLP = 31 × 1,300 + 19 × 800 + 11 × 500 = 40,300 + 15,200 + 5,500 = 61,000
    # (average 1,000). Default = 100 × 300 / 1,000 = 30.
    assert m.default_rate == Decimal(30)
    # Yield = 36,500 × (20 + 5) / 61,000 = 14.9590163…
    assert q(m.portfolio_yield) == Decimal("14.9590")
    # GLP on 02-09: 1,300 → 100 × (500 − 1,300) / 1,300 = −61.5384615…
    assert q(m.growth_rate) == Decimal("-61.5385")

    # The same book without the rejected events: every day is the same, and nothing was restated.
    clean = await new_book()
    await load(clean, *book_7(), fee)
    await clean.close(D(2025, 3, 11))
    for day in METRIC_DAYS:
        assert await book.metrics("O1", day) == await clean.metrics("O1", day), day
    assert {r["revision"] for r in await book.all_days()} == {1}


async def test_a_payment_and_a_loan_are_corrected_by_a_second_event_with_the_same_id(book: SnapshotterHarness) -> None:
    day = D(2025, 2, 20)
    await load(
        book,
        officer("O1"),
        register("C1", "O1", D(2025, 1, 1)),
        disburse("L1", "C1", D(2025, 1, 10), "1000", (D(2025, 2, 10), "500", "20"), (D(2025, 3, 10), "500", "20")),
        pay("P1", "L1", "C1", D(2025, 2, 10), "500", "20"),
    )
    await book.close(day)
    m = await book.metrics("O1", day)
    assert (m.total_outstanding, m.total_collected, m.collection_rate) == (Decimal(500), Decimal(520), Decimal(100))
    # W = 01-10..02-20 (42 days); Σ GLP = 31 × 1,000 + 11 × 500 = 36,500; I = 20 → 36,500 × 20 / 36,500 = 20.
    assert m.portfolio_yield == Decimal(20)

    # P1 corrected: 300 principal + 20 interest.
    await load(book, pay("P1", "L1", "C1", D(2025, 2, 10), "300", "20"))
    await book.restate()
    m = await book.metrics("O1", day)
    assert (m.total_outstanding, m.total_collected, m.total_loans) == (Decimal(700), Decimal(320), 1)
    # Due in (01-21, 02-20]: #1 520, covered 320 → 61.5384615…
    assert q(m.collection_rate) == Decimal("61.5385")
    # Σ GLP = 31 × 1,000 + 11 × 700 = 38,700 → 36,500 × 20 / 38,700 = 18.8630490…
    assert q(m.portfolio_yield) == Decimal("18.8630")
    assert (await book.day("O1", D(2025, 2, 9)))["revision"] == 1
    assert (await book.day("O1", day))["revision"] == 2

    # L1 corrected: 800, two installments of 400 + 16 (same dates). One loan, not two.
    await load(
        book,
        disburse("L1", "C1", D(2025, 1, 10), "800", (D(2025, 2, 10), "400", "16"), (D(2025, 3, 10), "400", "16")),
    )
    await book.restate()
    m = await book.metrics("O1", day)
    assert (m.total_loans, m.active_loans, m.total_disbursed) == (1, 1, Decimal(800))
    assert (m.total_outstanding, m.total_collected) == (Decimal(500), Decimal(320))  # 800 − 300
    # Due in (01-21, 02-20]: #1 416, covered 320 → 100 × 320 / 416 = 76.9230769…; #1 10 days late → no PAR.
    assert q(m.collection_rate) == Decimal("76.9231")
    assert m.par_30 == 0
    # Σ GLP = 31 × 800 + 11 × 500 = 30,300 → 36,500 × 20 / 30,300 = 24.0924092…
    assert q(m.portfolio_yield) == Decimal("24.0924")
    assert (await book.day("O1", D(2025, 1, 9)))["revision"] == 1
    assert (await book.day("O1", D(2025, 1, 10)))["revision"] == 2
    assert (await book.day("O1", day))["revision"] == 3

    await book.close(D(2025, 3, 15))
    m = await book.metrics("O1", D(2025, 3, 15))
    # #1 (due 02-10) still not covered (320 < 416): 33 days past due → PAR30 100.
    assert m.par_30 == Decimal(100)
    # Due in (02-13, 03-15]: #2 (03-10) 416, covered max(320 − 416, 0) = 0 → 0.
    assert m.collection_rate == 0


# == 8. The amount written off is the outstanding at the end of written_off_on =============================
# O1; C1 registered 2025-01-01. L1 disbursed 01-01, 1,000: 02-01 500 + 50; 03-01 500 + 50.
#   P1 02-01: 500 + 50. P2 04-01: 200 principal; L1 written off 04-01 → written off 1,000 − 500 − 200 = 300.
# End-of-day GLP: 01-01..01-31 1,000 (31 days); 02-01..03-31 500 (28 + 31 = 59 days); 04-01 0.
def book_8_base() -> list[Envelope]:
    return [
        officer("O1"),
        register("C1", "O1", D(2025, 1, 1)),
        disburse("L1", "C1", D(2025, 1, 1), "1000", (D(2025, 2, 1), "500", "50"), (D(2025, 3, 1), "500", "50")),
        pay("P1", "L1", "C1", D(2025, 2, 1), "500", "50"),
    ]


async def check_book_8(book: SnapshotterHarness) -> None:
    await book.close(D(2025, 4, 1))
    assert (await book.day("O1", D(2025, 4, 1)))["written_off"] == 300
    m = await book.metrics("O1", D(2025, 4, 1))
    assert (m.total_outstanding, m.active_loans, m.total_collected) == (ZERO, 0, Decimal(750))
    # W = 01-01..04-01 (91 days); Σ GLP = 31 × 1,000 + 59 × 500 + 0 = 60,500.
    # Default = 100 × 300 × 91 / 60,500 = 45.1239669… (writing off 500 would give 75.2066).
    assert q(m.default_rate) == Decimal("45.1240")
    # Yield = 36,500 × 50 / 60,500 = 30.1652892…
    assert q(m.portfolio_yield) == Decimal("30.1653")


async def test_a_payment_on_the_write_off_day_reduces_the_amount_written_off(book: SnapshotterHarness) -> None:
    await load(book, *book_8_base())
    await load(book, pay("P2", "L1", "C1", D(2025, 4, 1), "200"))
    await load(book, write_off("L1", "C1", D(2025, 4, 1)))
    await check_book_8(book)


async def test_a_payment_on_the_write_off_day_arriving_after_it_still_counts(book: SnapshotterHarness) -> None:
    # The same events, the write-off first: "as if the events had arrived in order" (CONTRACT §1), the payment
    # was made during 04-01, before the end of the day at which the loan is written off.
    await load(book, *book_8_base())
    await load(book, write_off("L1", "C1", D(2025, 4, 1)))
    await load(book, pay("P2", "L1", "C1", D(2025, 4, 1), "200"))
    await check_book_8(book)
