"""services.snapshotter.loans.book: the loan book's cross-event rules (CONTRACT §1 "Bad input", §2), without a
database. Every expected date and amount is worked out by hand in the comments."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from services.snapshotter.loans.book import (
    Client,
    HistoryNotLoadedError,
    Loan,
    LoanBook,
    Payment,
    Settled,
    earliest_days_asked,
)
from shared.events.envelope import Rejected
from shared.events.loans import (
    ClientExited,
    ClientReassigned,
    ClientRegistered,
    Installment,
    LoanDisbursed,
    LoanRepaymentReceived,
    LoanWrittenOff,
)

pytestmark = pytest.mark.unit

D = Decimal
JAN = dt.date(2026, 1, 1)


def day(n: int) -> dt.date:
    """Day n of 2026 (1 = 1 January)."""
    return JAN + dt.timedelta(days=n - 1)


def disbursement(loan: str, client: str, on: int, principal: str, *dues: tuple[int, str]) -> LoanDisbursed:
    schedule = tuple(Installment(due_on=day(d), principal=D(p), interest=D(0)) for d, p in dues)
    return LoanDisbursed(
        loan_id=loan, client_id=client, disbursed_on=day(on), principal=D(principal), schedule=schedule
    )


def repayment(payment: str, loan: str, client: str, on: int, principal: str) -> LoanRepaymentReceived:
    return LoanRepaymentReceived(
        payment_id=payment, loan_id=loan, client_id=client, paid_on=day(on), principal=D(principal),
        interest=D("1.5"), fees=D(0),
    )  # fmt: skip


def stored_book() -> LoanBook:
    """As loaded from the store: client C1 (registered day 1 by O1) with loan L1 of 1,000 disbursed day 1,
    300 repaid on day 10 (P1); client C2 (O2) with loan L2 of 500 disbursed day 1, nothing repaid."""
    c1 = Client("C1", day(1), None, {day(1): ("O1", True)})
    c2 = Client("C2", day(1), None, {day(1): ("O2", True)})
    l1 = Loan("L1", "C1", day(1), D(1000), None, {"P1": Payment("P1", day(10), D(300))})
    l2 = Loan("L2", "C2", day(1), D(500), None)
    return LoanBook(clients={"C1": c1, "C2": c2}, loans={"L1": l1, "L2": l2})


def rejected(code: str, apply: object) -> None:
    with pytest.raises(Rejected) as caught:
        apply()  # type: ignore[operator]
    assert caught.value.code == code


def test_what_the_store_held_is_stored_and_new_rows_are_not() -> None:
    book = stored_book()
    book.register(ClientRegistered(client_id="C3", officer_id="O1", registered_on=day(5)))
    book.disburse(disbursement("L3", "C3", 5, "100", (35, "100")))
    assert book.stored_clients == {"C1", "C2"}
    assert book.stored_loans == {"L1", "L2"}
    assert book.touched_clients == {"C3"}
    assert book.touched_loans == book.replaced_schedules == {"L3"}
    assert book.loans["L3"].schedule == (Installment(due_on=day(35), principal=D(100), interest=D(0)),)
    assert book.loans["L1"].schedule is None  # not replaced: the store keeps it


def test_repaid_on_is_the_first_day_the_principal_paid_to_date_reaches_the_principal() -> None:
    book = stored_book()
    # L1: 300 on day 10; then 200 (day 20) makes 500, 500 (day 30) makes 1,000 = the principal.
    book.repay(repayment("P2", "L1", "C1", 20, "200"))
    assert book.loans["L1"].repaid_on is None
    book.repay(repayment("P3", "L1", "C1", 30, "500"))
    assert book.loans["L1"].repaid_on == day(30)
    # A correction moves P2 to day 40: day 30 has 300 + 500 = 800 to date, day 40 has 1,000.
    book.repay(repayment("P2", "L1", "C1", 40, "200"))
    assert book.loans["L1"].repaid_on == day(40)
    assert book.written_payments == {"P2", "P3"}
    assert book.loans["L1"].payments["P2"] == Payment("P2", day(40), D(200), D("1.5"), D(0))


def test_a_corrected_payment_moves_to_its_new_loan_and_restates_both_owners() -> None:
    book = stored_book()
    # P1 (300 on day 10, loan L1 of C1) is corrected to 250 on day 12 on loan L2 of C2.
    book.repay(repayment("P1", "L2", "C2", 12, "250"))
    assert "P1" not in book.loans["L1"].payments
    assert book.loans["L2"].payments["P1"].principal == D(250)
    assert book.payment_loans["P1"] == "L2"
    assert book.touched_loans == {"L1", "L2"}
    # C1 changed from the old payment's day (10), C2 from the new one's (12).
    assert book.dirty.clients == {"C1": day(10), "C2": day(12)}


def test_overpayment_counts_the_payments_to_that_day_without_the_corrected_one() -> None:
    book = stored_book()
    # L2 has 500 outstanding: 500 is accepted, then 0.01 more is not.
    book.repay(repayment("P9", "L2", "C2", 5, "500"))
    rejected("overpayment", lambda: book.repay(repayment("P10", "L2", "C2", 6, "0.01")))
    # Correcting P9 itself to 400 leaves room: P9 is not counted against its own correction.
    book.repay(repayment("P9", "L2", "C2", 5, "400"))
    assert book.loans["L2"].payments["P9"].principal == D(400)


def test_payment_before_disbursement_and_unknown_loan_are_rejected_and_change_nothing() -> None:
    book = stored_book()
    rejected("unknown_loan", lambda: book.repay(repayment("P5", "L9", "C1", 5, "1")))
    rejected("client_mismatch", lambda: book.repay(repayment("P5", "L2", "C1", 5, "1")))
    book.disburse(disbursement("L4", "C1", 20, "100", (50, "100")))
    rejected("date_before_disbursement", lambda: book.repay(repayment("P5", "L4", "C1", 19, "1")))
    assert "P5" not in book.payment_loans
    assert book.written_payments == set()


def test_write_off_rules() -> None:
    book = stored_book()
    # L1 has a payment on day 10: a write-off on day 9 would come before it.
    rejected("payment_after_write_off", lambda: book.write_off(LoanWrittenOff(loan_id="L1", client_id="C1",
                                                                             written_off_on=day(9))))  # fmt: skip
    book.write_off(LoanWrittenOff(loan_id="L1", client_id="C1", written_off_on=day(15)))
    # After the write-off day no payment is taken; on the day itself one is, if something is left after it.
    rejected("loan_written_off", lambda: book.repay(repayment("P6", "L1", "C1", 16, "1")))
    book.repay(repayment("P6", "L1", "C1", 15, "1"))
    # 1,000 - 300 - 1 = 699 outstanding: paying it all on the write-off day leaves nothing to write off.
    rejected("loan_written_off", lambda: book.repay(repayment("P7", "L1", "C1", 15, "699")))


def test_a_second_registration_corrects_the_first_unless_a_loan_predates_it() -> None:
    book = stored_book()
    too_late = ClientRegistered(client_id="C1", officer_id="O3", registered_on=day(2))  # L1 was disbursed day 1
    rejected("date_before_registration", lambda: book.register(too_late))
    book.clients["C1"].owners[day(20)] = ("O2", False)  # reassigned to O2 on day 20
    book.loans.pop("L1")
    book.register(ClientRegistered(client_id="C1", officer_id="O3", registered_on=day(3)))
    # The registration's owner is replaced (O1 from day 1 -> O3 from day 3); the later reassignment stays.
    assert book.clients["C1"].owners == {day(3): ("O3", True), day(20): ("O2", False)}
    assert book.dirty.officers == {"O1": day(1), "O3": day(3)}
    # Days 1 and 2 change for the client too: it was registered then, it is not any more.
    assert book.dirty.clients == {"C1": day(1)}


def test_a_registration_moved_past_a_reassignment_drops_it_and_restates_its_officer() -> None:
    book = stored_book()
    book.loans.pop("L1")
    book.clients["C1"].owners[day(5)] = ("O2", False)  # O1 from day 1, O2 from day 5
    book.register(ClientRegistered(client_id="C1", officer_id="O3", registered_on=day(6)))
    assert book.clients["C1"].owners == {day(6): ("O3", True)}
    # O2 owned the client on day 5: that day is no longer theirs.
    assert book.dirty.officers == {"O1": day(1), "O2": day(5), "O3": day(6)}
    assert book.dirty.clients == {"C1": day(1)}


def test_reassignment_and_exit_before_registration_are_rejected() -> None:
    book = stored_book()
    rejected("unknown_client", lambda: book.exit(ClientExited(client_id="C9", exited_on=day(5))))
    late = dt.date(2025, 12, 31)
    rejected("date_before_registration",
             lambda: book.reassign(ClientReassigned(client_id="C1", officer_id="O2", effective_on=late)))  # fmt: skip
    rejected("date_before_registration", lambda: book.exit(ClientExited(client_id="C1", exited_on=late)))
    book.reassign(ClientReassigned(client_id="C1", officer_id="O2", effective_on=day(8)))
    assert book.clients["C1"].owners == {day(1): ("O1", True), day(8): ("O2", False)}
    assert book.dirty.clients == {"C1": day(8)}


def test_a_corrected_disbursement_must_still_fit_its_payments() -> None:
    book = stored_book()
    # L1 already has 300 repaid: a principal of 299 is less than that; a later date is after the payment.
    rejected("overpayment", lambda: book.disburse(disbursement("L1", "C1", 1, "299", (40, "299"))))
    rejected("date_before_disbursement", lambda: book.disburse(disbursement("L1", "C1", 11, "1000", (40, "1000"))))
    rejected("client_mismatch", lambda: book.disburse(disbursement("L1", "C2", 1, "1000", (40, "1000"))))
    book.disburse(disbursement("L1", "C1", 2, "800", (40, "800")))
    # Restated from the earlier of the two disbursement dates (day 1).
    assert book.dirty.clients == {"C1": day(1)}
    assert book.loans["L1"].principal == D(800)


# --- settled payments: a loan whose stored payments were not loaded ----------------------------------------


def settled_book() -> LoanBook:
    """Loan L1 of 1,000 (client C1) with 700 repaid in stored payments from day 5 to day 20, not loaded."""
    c1 = Client("C1", day(1), None, {day(1): ("O1", True)})
    l1 = Loan("L1", "C1", day(1), D(1000), None, settled=Settled(D(700), day(5), day(20), None))
    return LoanBook(clients={"C1": c1}, loans={"L1": l1})


def test_a_settled_loan_takes_payments_after_its_history_and_is_repaid_by_them() -> None:
    book = settled_book()
    loan = book.loans["L1"]
    # 300 outstanding: 301 on day 25 is too much, 100 is not; then 200 on day 30 makes 700 + 300 = 1,000.
    rejected("overpayment", lambda: book.repay(repayment("P8", "L1", "C1", 25, "301")))
    book.repay(repayment("P8", "L1", "C1", 25, "100"))
    assert loan.repaid_on is None
    assert loan.principal_paid(through=day(25)) == D(800)
    book.repay(repayment("P9", "L1", "C1", 30, "200"))
    assert loan.repaid_on == day(30)
    assert loan.principal_paid() == D(1000)
    assert loan.paid_days == (day(5), day(30))
    # A payment on the last settled day itself is still after everything settled.
    book.repay(repayment("P10", "L1", "C1", 20, "0"))
    assert loan.paid_days == (day(5), day(30))


def test_a_settled_repaid_loan_keeps_its_day_and_a_write_off_after_its_history_is_checked() -> None:
    c1 = Client("C1", day(1), None, {day(1): ("O1", True)})
    repaid = Loan("L1", "C1", day(1), D(1000), None, settled=Settled(D(1000), day(5), day(20), day(20)))
    book = LoanBook(clients={"C1": c1}, loans={"L1": repaid})
    book.repay(repayment("P8", "L1", "C1", 25, "0"))  # interest only
    assert repaid.repaid_on == day(20)
    # Nothing outstanding on day 25 (1,000 of 1,000 repaid by day 20).
    rejected("nothing_outstanding", lambda: book.write_off(LoanWrittenOff(loan_id="L1", client_id="C1",
                                                                         written_off_on=day(25))))  # fmt: skip


def test_asking_a_settled_loan_about_a_day_inside_its_history_is_a_bug_not_a_rejection() -> None:
    book = settled_book()
    with pytest.raises(HistoryNotLoadedError):
        book.repay(repayment("P8", "L1", "C1", 19, "1"))
    with pytest.raises(HistoryNotLoadedError):
        book.write_off(LoanWrittenOff(loan_id="L1", client_id="C1", written_off_on=day(19)))
    with pytest.raises(HistoryNotLoadedError):
        book.disburse(disbursement("L1", "C1", 1, "1000", (30, "1000")))


def test_the_earliest_day_a_batch_asks_of_each_loan() -> None:
    events = [
        repayment("P1", "L1", "C1", 30, "1"),
        LoanWrittenOff(loan_id="L1", client_id="C1", written_off_on=day(25)),
        repayment("P2", "L1", "C1", 40, "1"),
        repayment("P3", "L2", "C2", 12, "1"),
        disbursement("L3", "C3", 5, "100", (35, "100")),
        ClientExited(client_id="C1", exited_on=day(50)),
    ]
    # L1: the write-off's day 25 is the earliest; L2: day 12; L3: a disbursement checks every payment.
    assert earliest_days_asked(events) == {"L1": day(25), "L2": day(12), "L3": dt.date.min}
