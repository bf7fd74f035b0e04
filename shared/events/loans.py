"""`data` of the inbound `loan-events` (CONTRACT §2).

Only the rules inside one event live here; rules against state (an unknown loan, more principal repaid
than outstanding, a payment dated before the disbursement, …) are checked by the services.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field

from shared.events.envelope import Rejected
from shared.events.types import (
    BusinessDate,
    Email,
    EventData,
    Identifier,
    Model,
    Name,
    NonNegativeAmount,
    PositiveAmount,
)

MAX_INSTALLMENTS = 1_000

OfficerRole = Literal["loan_officer", "team_leader"]


class OfficerUpserted(EventData):
    officer_id: Identifier
    branch_id: Identifier
    name: Name
    email: Email
    role: OfficerRole


class ClientRegistered(EventData):
    EVENT_DATES = ("registered_on",)

    client_id: Identifier
    officer_id: Identifier
    registered_on: BusinessDate


class ClientReassigned(EventData):
    """The client and all their loans belong to `officer_id` from `effective_on`."""

    EVENT_DATES = ("effective_on",)

    client_id: Identifier
    officer_id: Identifier
    effective_on: BusinessDate


class ClientExited(EventData):
    EVENT_DATES = ("exited_on",)

    client_id: Identifier
    exited_on: BusinessDate


class Installment(Model):
    due_on: BusinessDate
    principal: NonNegativeAmount
    interest: NonNegativeAmount


class LoanDisbursed(EventData):
    """A second `loan.disbursed` with the same `loan_id` corrects (replaces) the loan."""

    EVENT_DATES = ("disbursed_on",)

    loan_id: Identifier
    client_id: Identifier
    disbursed_on: BusinessDate
    principal: PositiveAmount
    schedule: Annotated[tuple[Installment, ...], Field(max_length=MAX_INSTALLMENTS)]

    def check(self) -> None:
        if not self.schedule:
            raise Rejected("empty_schedule", "a loan has at least one installment")
        first = self.schedule[0].due_on
        if first <= self.disbursed_on:
            raise Rejected(
                "schedule_before_disbursement",
                f"schedule.0.due_on {first} is not after disbursed_on {self.disbursed_on}",
            )
        for index, (before, this) in enumerate(zip(self.schedule, self.schedule[1:], strict=False), 1):
            previous, current = before.due_on, this.due_on
            if current <= previous:
                raise Rejected(
                    "schedule_not_increasing",
                    f"schedule.{index}.due_on {current} is not after {previous}",
                )
        total = sum((installment.principal for installment in self.schedule), start=Decimal(0))
        if total != self.principal:
            raise Rejected(
                "schedule_principal_mismatch",
                f"installment principal sums to {total}, the loan's principal is {self.principal}",
            )


class LoanRepaymentReceived(EventData):
    """A second event with the same `payment_id` corrects (replaces) the payment."""

    EVENT_DATES = ("paid_on",)

    payment_id: Identifier
    loan_id: Identifier
    client_id: Identifier
    paid_on: BusinessDate
    principal: NonNegativeAmount
    interest: NonNegativeAmount
    fees: NonNegativeAmount

    def check(self) -> None:
        if not (self.principal or self.interest or self.fees):
            raise Rejected("empty_payment", "principal, interest and fees are all 0")


class LoanWrittenOff(EventData):
    """The whole outstanding principal is written off at the end of `written_off_on`."""

    EVENT_DATES = ("written_off_on",)

    loan_id: Identifier
    client_id: Identifier
    written_off_on: BusinessDate
