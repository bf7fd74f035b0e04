"""One officer, one client, one weekly loan: every metric of CONTRACT §2 worked out by hand.

The book:
  officer O1 (branch B1); client C1 registered 2025-01-01 with O1;
  loan L1 disbursed 2025-01-01, principal 1,000, four weekly installments of 250 principal + 10 interest
  (amount 260 each; cumulative 260, 520, 780, 1,040) due 01-08, 01-15, 01-22, 01-29;
  P1 on 01-08: 250 principal + 10 interest (covers installment 1 exactly);
  P2 on 01-20: 100 principal + 4 interest (principal + interest paid to date: 364).
End-of-day GLP: 01-01..01-07 1,000 (7 days); 01-08..01-19 750 (12 days); from 01-20 650.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from tests.support.snapshotter import SnapshotterHarness, event

pytestmark = pytest.mark.integration

D = dt.date


def schedule() -> list[dict[str, str]]:
    return [{"due_on": f"2025-01-{day:02d}", "principal": "250", "interest": "10"} for day in (8, 15, 22, 29)]


async def load(book: SnapshotterHarness) -> None:
    ledger = await book.ingest(
        event("officer.upserted", officer_id="O1", branch_id="B1", name="Ada Obi", email="ada@x.org",
              role="loan_officer"),
        event("client.registered", client_id="C1", officer_id="O1", registered_on=D(2025, 1, 1)),
        event("loan.disbursed", loan_id="L1", client_id="C1", disbursed_on=D(2025, 1, 1), principal="1000",
              schedule=schedule()),
        event("loan.repayment_received", payment_id="P1", loan_id="L1", client_id="C1", paid_on=D(2025, 1, 8),
              principal="250", interest="10", fees="0"),
        event("loan.repayment_received", payment_id="P2", loan_id="L1", client_id="C1", paid_on=D(2025, 1, 20),
              principal="100", interest="4", fees="0"),
    )  # fmt: skip
    assert ledger.rejected == {}


async def test_a_day_with_a_partly_covered_installment(book: SnapshotterHarness) -> None:
    await load(book)
    await book.close(D(2025, 2, 20))
    m = await book.metrics("O1", D(2025, 1, 20))
    # Outstanding 1,000 − 350 = 650, active. Paid P+I 364: installment 2 (cumulative 520) is the oldest not
    # covered, due 01-15 < 01-20 → 5 days past due: not in PAR30.
    assert m.total_outstanding == Decimal("650")
    assert m.par_30 == 0
    # Due in (12-21, 01-20]: installments of 01-08 and 01-15 → 520; covered 260 + (364 − 260) = 364 → 70 %.
    assert m.collection_rate == Decimal(70)
    assert m.total_collected == Decimal("364")  # 260 + 104
    assert m.total_disbursed == Decimal("1000")
    assert (m.total_clients, m.active_clients, m.total_loans, m.active_loans) == (1, 1, 1, 1)
    assert m.new_clients_30d == 1  # registered 01-01, inside (12-21, 01-20]
    # W = 01-01..01-20 (20 days; first GLP > 0 on 01-01). Σ GLP = 7×1,000 + 12×750 + 650 = 16,650;
    # average 832.5. Interest + fees in W = 10 + 4 = 14. Yield = 100 × 14 / 832.5 × 365 / 20 = 30.6906906…
    assert m.portfolio_yield.quantize(Decimal("0.0001")) == Decimal("30.6907")
    assert m.default_rate == 0
    assert m.growth_rate == 0  # GLP on 12-21 was 0
    # 0.4×70 + 0.3×100 + 0.2×clamp(0 + 50) + 0.1×clamp(5 × 30.69) = 28 + 30 + 10 + 10 = 78 → good
    assert m.health_score == Decimal(78)
    assert m.health_category == "good"


async def test_days_past_due_boundary_30_is_not_par30_31_is(book: SnapshotterHarness) -> None:
    await load(book)
    await book.close(D(2025, 2, 16))
    # Installment 2 (due 01-15) stays uncovered: 02-14 is 30 days past due, 02-15 is 31.
    assert (await book.metrics("O1", D(2025, 2, 14))).par_30 == 0
    assert (await book.metrics("O1", D(2025, 2, 15))).par_30 == Decimal(100)
    assert (await book.metrics("O1", D(2025, 2, 15))).par_60 == 0


async def test_a_month_later(book: SnapshotterHarness) -> None:
    await load(book)
    await book.close(D(2025, 2, 20))
    m = await book.metrics("O1", D(2025, 2, 20))
    assert m.par_30 == Decimal(100)  # 36 days past due; the whole 650 counts
    assert m.collection_rate == 0  # due in (01-21, 02-20]: installments 3 and 4, 520, nothing covers them
    assert m.growth_rate == 0  # GLP 650 on 01-21 and on 02-20
    assert m.new_clients_30d == 0
    # W = 01-01..02-20, 51 days; Σ GLP = 16,650 + 31 × 650 = 36,800.
    # Yield = 100 × 14 / (36,800 / 51) × 365 / 51 = 1,400 × 365 / 36,800 = 13.8858695…
    assert m.portfolio_yield.quantize(Decimal("0.0001")) == Decimal("13.8859")
    # 0 + 30 + 10 + 0.1 × 5 × 13.8858695… = 46.9429347… → critical
    assert m.health_score.quantize(Decimal("0.0001")) == Decimal("46.9429")
    assert m.health_category == "critical"


async def test_a_write_off_leaves_glp_and_enters_the_default_rate(book: SnapshotterHarness) -> None:
    await load(book)
    ledger = await book.ingest(event("loan.written_off", loan_id="L1", client_id="C1", written_off_on=D(2025, 2, 25)))
    assert ledger.rejected == {}
    await book.close(D(2025, 2, 25))
    m = await book.metrics("O1", D(2025, 2, 25))
    assert m.total_outstanding == 0
    assert m.active_loans == 0
    assert m.par_30 == 0  # GLP 0
    # W = 01-01..02-25, 56 days; Σ GLP = 36,800 + 4 × 650 (02-21..02-24) + 0 = 39,400.
    # Default rate = 100 × 650 / (39,400 / 56) = 65,000 × 56 / 39,400 = 92.3857868…
    assert m.default_rate.quantize(Decimal("0.0001")) == Decimal("92.3858")
    # Installment 4 (due 01-29) is not after the write-off day: still due, uncovered → 0 %.
    assert m.collection_rate == 0
    assert m.growth_rate == Decimal(-100)  # 650 on 01-26 → 0
