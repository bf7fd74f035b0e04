"""Cross-event business rules of the loan book (CONTRACT §1 "Bad input", §2), checked against state.

Pure: `LoanBook` is the slice of the snapshotter's state that one batch touches, loaded in one go; events
are applied to it in order, so an event may rely on an earlier one of the same batch. The book is the whole
write model of that slice (schedules, payments with their interest and fees, the day each loan was repaid),
and records what changed so the store writes exactly that, set-based. A rejected event raises `Rejected`
and changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

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

ZERO = Decimal(0)


@dataclass
class Client:
    client_id: str
    registered_on: dt.date
    exited_on: dt.date | None
    # valid_from -> (officer_id, is_registration)
    owners: dict[dt.date, tuple[str, bool]] = field(default_factory=dict)


@dataclass
class Payment:
    payment_id: str
    paid_on: dt.date
    principal: Decimal
    interest: Decimal = ZERO
    fees: Decimal = ZERO


@dataclass(frozen=True)
class Settled:
    """A loan's stored payments that were not loaded, as much as the rules need of them: a batch that only asks
    about days on or after the last of them (the usual case: repayments arrive in order) needs no more, so a
    long history is not read back for every new payment. `load_book` loads the payments themselves when the
    batch asks about an earlier day, corrects one of them, or disburses the loan again."""

    principal: Decimal
    first_on: dt.date
    last_on: dt.date
    repaid_on: dt.date | None


class HistoryNotLoadedError(AssertionError):
    """The book was asked about a day its settled summary cannot answer: a bug in what `load_book` loads."""


@dataclass
class Loan:
    loan_id: str
    client_id: str
    disbursed_on: dt.date
    principal: Decimal
    written_off_on: dt.date | None
    payments: dict[str, Payment] = field(default_factory=dict)
    """The payments loaded (every payment of the loan unless `settled`), and the batch's."""
    schedule: tuple[Installment, ...] | None = None
    """The installments, when a disbursement of this batch set them (the store keeps the others)."""
    settled: Settled | None = None

    @property
    def repaid_on(self) -> dt.date | None:
        """The first day at whose end the principal paid to date reaches the principal."""
        paid = ZERO
        if self.settled is not None:
            if self.settled.repaid_on is not None:
                return self.settled.repaid_on  # the principal is unchanged (a new disbursement loads history)
            paid = self.settled.principal
        by_day: dict[dt.date, Decimal] = {}
        for p in self.payments.values():
            by_day[p.paid_on] = by_day.get(p.paid_on, ZERO) + p.principal
        for day in sorted(by_day):
            paid += by_day[day]
            if paid >= self.principal:
                return day
        return None

    def principal_paid(self, *, through: dt.date | None = None, excluding: str | None = None) -> Decimal:
        loaded = sum(
            (
                p.principal
                for p in self.payments.values()
                if p.payment_id != excluding and (through is None or p.paid_on <= through)
            ),
            start=ZERO,
        )
        if self.settled is None:
            return loaded
        if through is not None and through < self.settled.last_on:
            raise HistoryNotLoadedError(f"loan {self.loan_id}: asked about {through}, history settled through "
                                   f"{self.settled.last_on}")  # fmt: skip
        return self.settled.principal + loaded

    @property
    def paid_days(self) -> tuple[dt.date, dt.date] | None:
        """The first and the last day with a payment, if any."""
        days = [p.paid_on for p in self.payments.values()]
        if self.settled is not None:
            days += [self.settled.first_on, self.settled.last_on]
        return (min(days), max(days)) if days else None


def earliest_days_asked(events: Iterable[object]) -> dict[str, dt.date]:
    """Per loan, the earliest day a batch's events ask the loan's principal paid through: a repayment's or a
    write-off's day; `dt.date.min` for a disbursement (a correction checks every payment). `load_book` loads
    the payments of a loan whose settled history ends after that day."""
    asked: dict[str, dt.date] = {}
    for e in events:
        if isinstance(e, LoanDisbursed):
            day, loan_id = dt.date.min, e.loan_id
        elif isinstance(e, LoanRepaymentReceived):
            day, loan_id = e.paid_on, e.loan_id
        elif isinstance(e, LoanWrittenOff):
            day, loan_id = e.written_off_on, e.loan_id
        else:
            continue
        asked[loan_id] = min(day, asked.get(loan_id, day))
    return asked


@dataclass
class Dirty:
    """What an accepted event may have changed, from which business date on."""

    clients: dict[str, dt.date] = field(default_factory=dict)  # every owner of the client from that day
    officers: dict[str, dt.date] = field(default_factory=dict)  # this officer from that day

    def client(self, client_id: str, day: dt.date) -> None:
        self.clients[client_id] = min(day, self.clients.get(client_id, day))

    def officer(self, officer_id: str, day: dt.date) -> None:
        self.officers[officer_id] = min(day, self.officers.get(officer_id, day))


@dataclass
class LoanBook:
    clients: dict[str, Client]
    loans: dict[str, Loan]
    dirty: Dirty = field(default_factory=Dirty)
    touched_clients: set[str] = field(default_factory=set)
    touched_loans: set[str] = field(default_factory=set)
    replaced_schedules: set[str] = field(default_factory=set)
    written_payments: set[str] = field(default_factory=set)
    # The book is built from what the store holds: those clients and loans are stored, the others are new.
    stored_clients: frozenset[str] = field(init=False)
    stored_loans: frozenset[str] = field(init=False)
    payment_loans: dict[str, str] = field(init=False)
    """payment_id -> the loan that holds it, for every payment of the book's loans."""

    def __post_init__(self) -> None:
        self.stored_clients = frozenset(self.clients)
        self.stored_loans = frozenset(self.loans)
        self.payment_loans = {p: loan.loan_id for loan in self.loans.values() for p in loan.payments}

    # -- clients ---------------------------------------------------------------------------------------
    def register(self, e: ClientRegistered) -> None:
        existing = self.clients.get(e.client_id)
        if existing is None:
            client = Client(e.client_id, e.registered_on, None)
            self.clients[e.client_id] = client
        else:
            # A second registration corrects the first: its date and its officer.
            client = existing
            first_loan = min(
                (loan.disbursed_on for loan in self.loans.values() if loan.client_id == e.client_id),
                default=None,
            )
            if first_loan is not None and first_loan < e.registered_on:
                raise Rejected(
                    "date_before_registration",
                    f"client {e.client_id} has a loan disbursed {first_loan}, before {e.registered_on}",
                )
            # The old registration and any reassignment up to the new date go: their officers' days change.
            for valid_from, (officer_id, is_registration) in list(client.owners.items()):
                if is_registration or valid_from <= e.registered_on:
                    del client.owners[valid_from]
                    self.dirty.officer(officer_id, min(valid_from, e.registered_on))
            self.dirty.client(e.client_id, min(client.registered_on, e.registered_on))
            client.registered_on = e.registered_on
        client.owners[e.registered_on] = (e.officer_id, True)
        self.touched_clients.add(e.client_id)
        self.dirty.client(e.client_id, e.registered_on)
        self.dirty.officer(e.officer_id, e.registered_on)

    def reassign(self, e: ClientReassigned) -> None:
        client = self._client(e.client_id)
        if e.effective_on < client.registered_on:
            raise Rejected(
                "date_before_registration",
                f"reassignment on {e.effective_on} before registration on {client.registered_on}",
            )
        previous = client.owners.get(e.effective_on)
        if previous is not None and previous[1]:
            # On the registration day itself the reassignment decides who registered the client.
            self.dirty.officer(previous[0], e.effective_on)
            client.owners[e.effective_on] = (e.officer_id, True)
        else:
            if previous is not None:
                self.dirty.officer(previous[0], e.effective_on)
            client.owners[e.effective_on] = (e.officer_id, False)
        self.touched_clients.add(e.client_id)
        self.dirty.client(e.client_id, e.effective_on)

    def exit(self, e: ClientExited) -> None:
        client = self._client(e.client_id)
        if e.exited_on < client.registered_on:
            raise Rejected(
                "date_before_registration",
                f"exit on {e.exited_on} before registration on {client.registered_on}",
            )
        before = client.exited_on
        client.exited_on = e.exited_on
        self.touched_clients.add(e.client_id)
        self.dirty.client(e.client_id, min(e.exited_on, before) if before else e.exited_on)

    # -- loans -----------------------------------------------------------------------------------------
    def disburse(self, e: LoanDisbursed) -> None:
        client = self._client(e.client_id)
        if e.disbursed_on < client.registered_on:
            raise Rejected(
                "date_before_registration",
                f"loan {e.loan_id} disbursed {e.disbursed_on}, before the client's registration {client.registered_on}",
            )
        existing = self.loans.get(e.loan_id)
        if existing is None:
            self.loans[e.loan_id] = Loan(e.loan_id, e.client_id, e.disbursed_on, e.principal, None)
            since = e.disbursed_on
        elif existing.client_id != e.client_id:
            raise Rejected("client_mismatch", f"loan {e.loan_id} belongs to client {existing.client_id}")
        else:
            # A second disbursement corrects the loan: its payments and write-off must still fit.
            if existing.settled is not None:
                raise HistoryNotLoadedError(f"loan {e.loan_id}: disbursed again with its payments settled")
            early = [p.paid_on for p in existing.payments.values() if p.paid_on < e.disbursed_on]
            if early:
                raise Rejected(
                    "date_before_disbursement",
                    f"loan {e.loan_id} has a payment on {min(early)}, before {e.disbursed_on}",
                )
            if existing.principal_paid() > e.principal:
                raise Rejected(
                    "overpayment",
                    f"loan {e.loan_id} already has {existing.principal_paid()} principal repaid",
                )
            if existing.written_off_on is not None and existing.written_off_on < e.disbursed_on:
                raise Rejected(
                    "date_before_disbursement", f"loan {e.loan_id} was written off {existing.written_off_on}"
                )
            since = min(existing.disbursed_on, e.disbursed_on)
            existing.disbursed_on = e.disbursed_on
            existing.principal = e.principal
        self.loans[e.loan_id].schedule = tuple(e.schedule)
        self.touched_loans.add(e.loan_id)
        self.replaced_schedules.add(e.loan_id)
        self.dirty.client(e.client_id, since)

    def repay(self, e: LoanRepaymentReceived) -> None:
        loan = self._loan(e.loan_id, e.client_id)
        if e.paid_on < loan.disbursed_on:
            raise Rejected(
                "date_before_disbursement",
                f"payment on {e.paid_on}, loan {e.loan_id} disbursed {loan.disbursed_on}",
            )
        # A payment on the write-off day itself comes first: the write-off takes what is left at the day's end.
        if loan.written_off_on is not None and e.paid_on > loan.written_off_on:
            raise Rejected("loan_written_off", f"loan {e.loan_id} was written off on {loan.written_off_on}")
        outstanding_then = loan.principal - loan.principal_paid(through=e.paid_on, excluding=e.payment_id)
        if e.principal > outstanding_then:
            raise Rejected(
                "overpayment",
                f"principal {e.principal} > outstanding {outstanding_then} of loan {e.loan_id} on {e.paid_on}",
            )
        if loan.principal_paid(excluding=e.payment_id) + e.principal > loan.principal:
            raise Rejected("overpayment", f"payments would repay more than the principal of loan {e.loan_id}")
        if loan.written_off_on is not None:
            remaining = loan.principal - loan.principal_paid(through=loan.written_off_on, excluding=e.payment_id)
            if remaining - e.principal <= 0:
                raise Rejected("loan_written_off", f"loan {e.loan_id} would have nothing left to write off")
        before = loan.payments.get(e.payment_id)
        holder = self.payment_loans.get(e.payment_id)
        if holder is not None and holder != e.loan_id:
            # A correction moves the payment to another loan: it leaves the first one, whose owner's days
            # from the old payment date on are restated.
            other = self.loans[holder]
            moved = other.payments.pop(e.payment_id)
            self.touched_loans.add(other.loan_id)
            self.dirty.client(other.client_id, moved.paid_on)
        loan.payments[e.payment_id] = Payment(e.payment_id, e.paid_on, e.principal, e.interest, e.fees)
        self.payment_loans[e.payment_id] = e.loan_id
        self.touched_loans.add(e.loan_id)
        self.written_payments.add(e.payment_id)
        self.dirty.client(e.client_id, min(e.paid_on, before.paid_on) if before else e.paid_on)

    def write_off(self, e: LoanWrittenOff) -> None:
        loan = self._loan(e.loan_id, e.client_id)
        if e.written_off_on < loan.disbursed_on:
            raise Rejected(
                "date_before_disbursement",
                f"write-off on {e.written_off_on}, loan {e.loan_id} disbursed {loan.disbursed_on}",
            )
        later = [p.paid_on for p in loan.payments.values() if p.paid_on > e.written_off_on]
        if loan.settled is not None and loan.settled.last_on > e.written_off_on:
            raise HistoryNotLoadedError(f"loan {e.loan_id}: a write-off before its settled payments")
        if later:
            raise Rejected("payment_after_write_off", f"loan {e.loan_id} has a payment on {max(later)}")
        if loan.principal - loan.principal_paid(through=e.written_off_on) <= 0:
            raise Rejected(
                "nothing_outstanding", f"loan {e.loan_id} has no principal outstanding on {e.written_off_on}"
            )
        before = loan.written_off_on
        loan.written_off_on = e.written_off_on
        self.touched_loans.add(e.loan_id)
        self.dirty.client(e.client_id, min(e.written_off_on, before) if before else e.written_off_on)

    # -- look-ups --------------------------------------------------------------------------------------
    def _client(self, client_id: str) -> Client:
        client = self.clients.get(client_id)
        if client is None:
            raise Rejected("unknown_client", f"client {client_id} is not registered")
        return client

    def _loan(self, loan_id: str, client_id: str) -> Loan:
        loan = self.loans.get(loan_id)
        if loan is None:
            raise Rejected("unknown_loan", f"loan {loan_id} has not been disbursed")
        if loan.client_id != client_id:
            raise Rejected("client_mismatch", f"loan {loan_id} belongs to client {loan.client_id}, not {client_id}")
        return loan
