"""`loan-events` (CONTRACT §2): a valid example of each event type and the rules inside one event."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from shared.events import (
    ClientExited,
    ClientReassigned,
    ClientRegistered,
    Installment,
    LoanDisbursed,
    LoanRepaymentReceived,
    LoanWrittenOff,
    OfficerUpserted,
    Rejected,
)
from shared.events.loans import MAX_INSTALLMENTS
from shared.topics import Topic
from tests.unit.events import (
    CLIENT_EXITED,
    CLIENT_REASSIGNED,
    CLIENT_REGISTERED,
    LOAN_DISBURSED,
    MISSING,
    OFFICER,
    REPAYMENT,
    WRITTEN_OFF,
    number,
    parse,
    rejected,
    with_,
)

pytestmark = pytest.mark.unit

LOANS = Topic.LOAN_EVENTS


# --- officer.upserted ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["loan_officer", "team_leader"])
def test_officer_upserted(role: str) -> None:
    data = parse(LOANS, "officer.upserted", with_(OFFICER, role=role)).data
    assert data == OfficerUpserted(
        officer_id="OFF-1", branch_id="BR-NAI", name="Amina Wanjiru", email="amina@lender.example", role=role
    )


@pytest.mark.parametrize("field", sorted(OFFICER))
def test_officer_upserted_needs_every_field(field: str) -> None:
    assert rejected(LOANS, "officer.upserted", with_(OFFICER, **{field: MISSING})) == "invalid_data"


# --- clients ---------------------------------------------------------------------------------------


def test_client_registered() -> None:
    data = parse(LOANS, "client.registered", CLIENT_REGISTERED).data
    assert isinstance(data, ClientRegistered)
    assert (data.client_id, data.officer_id, data.registered_on) == ("CL-1", "OFF-1", dt.date(2025, 1, 15))


def test_client_reassigned() -> None:
    data = parse(LOANS, "client.reassigned", CLIENT_REASSIGNED).data
    assert isinstance(data, ClientReassigned)
    assert (data.client_id, data.officer_id, data.effective_on) == ("CL-1", "OFF-2", dt.date(2025, 6, 1))


def test_client_exited() -> None:
    data = parse(LOANS, "client.exited", CLIENT_EXITED).data
    assert data == ClientExited(client_id="CL-1", exited_on=dt.date(2025, 12, 31))


@pytest.mark.parametrize(
    ("event_type", "data"),
    [
        pytest.param("client.registered", with_(CLIENT_REGISTERED, officer_id=MISSING), id="registered-no-officer"),
        pytest.param(
            "client.registered",
            with_(CLIENT_REGISTERED, registered_on="2025-02-30"),
            id="registered-bad-date",
        ),
        pytest.param("client.reassigned", with_(CLIENT_REASSIGNED, effective_on=MISSING), id="reassigned-no-date"),
        pytest.param("client.reassigned", with_(CLIENT_REASSIGNED, officer_id=""), id="reassigned-empty-officer"),
        pytest.param("client.exited", with_(CLIENT_EXITED, client_id=MISSING), id="exited-no-client"),
        pytest.param("client.exited", with_(CLIENT_EXITED, exited_on="2025-10-08T00:00:00"), id="exited-timestamp"),
        pytest.param("client.exited", {}, id="exited-empty"),
    ],
)
def test_client_events_invalid(event_type: str, data: dict[str, Any]) -> None:
    assert rejected(LOANS, event_type, data) == "invalid_data"


# --- loan.disbursed --------------------------------------------------------------------------------


def test_loan_disbursed() -> None:
    data = parse(LOANS, "loan.disbursed", LOAN_DISBURSED).data
    assert isinstance(data, LoanDisbursed)
    assert data.loan_id == "LN-1"
    assert data.client_id == "CL-1"
    assert data.disbursed_on == dt.date(2025, 2, 1)
    assert data.principal == Decimal("1500.25")
    assert data.schedule == (
        Installment(due_on=dt.date(2025, 3, 1), principal=Decimal("500.25"), interest=Decimal("30.005")),
        Installment(due_on=dt.date(2025, 4, 1), principal=Decimal(500), interest=Decimal(20)),
        Installment(due_on=dt.date(2025, 5, 1), principal=Decimal(500), interest=Decimal(10)),
    )


def installment(due_on: str, principal: Any, interest: Any = "0") -> dict[str, Any]:
    return {"due_on": due_on, "principal": principal, "interest": interest}


def disbursed(principal: Any, *schedule: dict[str, Any], disbursed_on: str = "2025-02-01") -> dict[str, Any]:
    return with_(LOAN_DISBURSED, principal=principal, schedule=list(schedule), disbursed_on=disbursed_on)


def test_a_single_bullet_installment_with_interest_only_parts_is_valid() -> None:
    data = parse(
        LOANS,
        "loan.disbursed",
        disbursed(
            number("1000.5"),
            installment("2025-02-02", "0", "12.5"),
            installment("2025-03-02", number("1000.5"), "0"),
        ),
    ).data
    assert isinstance(data, LoanDisbursed)
    assert sum(i.principal for i in data.schedule) == data.principal == Decimal("1000.5")


@pytest.mark.parametrize(
    ("data", "code"),
    [
        pytest.param(disbursed("0", installment("2025-03-01", "0")), "invalid_data", id="principal-zero"),
        pytest.param(disbursed("-100", installment("2025-03-01", "-100")), "invalid_data", id="principal-negative"),
        pytest.param(disbursed("100.00001", installment("2025-03-01", "100")), "invalid_data", id="principal-5-places"),
        pytest.param(disbursed("100"), "empty_schedule", id="schedule-empty"),
        pytest.param(with_(LOAN_DISBURSED, schedule=MISSING), "invalid_data", id="schedule-missing"),
        pytest.param(with_(LOAN_DISBURSED, schedule=None), "invalid_data", id="schedule-null"),
        pytest.param(with_(LOAN_DISBURSED, schedule={}), "invalid_data", id="schedule-object"),
        pytest.param(
            disbursed("100", installment("2025-03-01", "110"), installment("2025-04-01", "-10")),
            "invalid_data",
            id="installment-principal-negative",
        ),
        pytest.param(
            disbursed("100", installment("2025-03-01", "100", "-1")),
            "invalid_data",
            id="installment-interest-negative",
        ),
        pytest.param(
            disbursed("100", {"due_on": "2025-03-01", "principal": "100"}),
            "invalid_data",
            id="installment-no-interest",
        ),
        pytest.param(
            disbursed("100", with_(installment("2025-03-01", "100"), fees="1")),
            "invalid_data",
            id="installment-extra-field",
        ),
        pytest.param(
            disbursed("1000", installment("2025-03-01", "500"), installment("2025-04-01", "499.9999")),
            "schedule_principal_mismatch",
            id="sum-short-by-a-hundredth-of-a-cent",
        ),
        pytest.param(
            disbursed("1000", installment("2025-03-01", "600"), installment("2025-04-01", "500")),
            "schedule_principal_mismatch",
            id="sum-over",
        ),
        pytest.param(
            disbursed("1000", installment("2025-03-01", "500"), installment("2025-03-01", "500")),
            "schedule_not_increasing",
            id="same-due-date-twice",
        ),
        pytest.param(
            disbursed("1000", installment("2025-04-01", "500"), installment("2025-03-01", "500")),
            "schedule_not_increasing",
            id="due-dates-decreasing",
        ),
        pytest.param(
            disbursed("1000", installment("2025-02-01", "1000")),
            "schedule_before_disbursement",
            id="due-on-disbursement-day",
        ),
        pytest.param(
            disbursed("1000", installment("2025-01-15", "500"), installment("2025-03-01", "500")),
            "schedule_before_disbursement",
            id="first-due-before-disbursement",
        ),
    ],
)
def test_loan_disbursed_invalid(data: dict[str, Any], code: str) -> None:
    assert rejected(LOANS, "loan.disbursed", data) == code


def test_the_schedule_is_bounded() -> None:
    start = dt.date(2025, 2, 2)

    def schedule(count: int) -> list[dict[str, Any]]:
        return [installment((start + dt.timedelta(days=i)).isoformat(), "1") for i in range(count)]

    ok = disbursed(str(MAX_INSTALLMENTS), *schedule(MAX_INSTALLMENTS))
    assert len(parse(LOANS, "loan.disbursed", ok).data.model_dump()["schedule"]) == MAX_INSTALLMENTS
    too_long = disbursed(str(MAX_INSTALLMENTS + 1), *schedule(MAX_INSTALLMENTS + 1))
    assert rejected(LOANS, "loan.disbursed", too_long) == "invalid_data"


def test_the_rules_hold_for_models_built_in_code_too() -> None:
    with pytest.raises(Rejected) as caught:
        LoanDisbursed(
            loan_id="LN-9",
            client_id="CL-9",
            disbursed_on=dt.date(2025, 2, 1),
            principal=Decimal(100),
            schedule=(Installment(due_on=dt.date(2025, 3, 1), principal=Decimal(99), interest=Decimal(0)),),
        )
    assert caught.value.code == "schedule_principal_mismatch"


# --- loan.repayment_received -----------------------------------------------------------------------


def test_loan_repayment_received() -> None:
    data = parse(LOANS, "loan.repayment_received", REPAYMENT).data
    assert data == LoanRepaymentReceived(
        payment_id="PAY-1",
        loan_id="LN-1",
        client_id="CL-1",
        paid_on=dt.date(2025, 3, 1),
        principal=Decimal("500.25"),
        interest=Decimal("30.005"),
        fees=Decimal(0),
    )


@pytest.mark.parametrize("field", ["principal", "interest", "fees"])
def test_a_payment_of_only_one_part_is_valid(field: str) -> None:
    parts = {"principal": "0", "interest": "0", "fees": "0", field: "0.0001"}
    data = parse(LOANS, "loan.repayment_received", with_(REPAYMENT, **parts)).data
    assert data.model_dump()[field] == Decimal("0.0001")


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        pytest.param({"principal": "0", "interest": "0", "fees": "0"}, "empty_payment", id="all-zero"),
        pytest.param({"principal": "0.00", "interest": 0, "fees": "-0"}, "empty_payment", id="all-zero-spelt-oddly"),
        pytest.param({"principal": "-1"}, "invalid_data", id="principal-negative"),
        pytest.param({"interest": "-0.01"}, "invalid_data", id="interest-negative"),
        pytest.param({"fees": "-5"}, "invalid_data", id="fees-negative"),
        pytest.param({"fees": MISSING}, "invalid_data", id="fees-missing"),
        pytest.param({"payment_id": MISSING}, "invalid_data", id="payment-id-missing"),
        pytest.param({"paid_on": "2025-02-29"}, "invalid_data", id="paid-on-not-a-day"),
        pytest.param({"principal": "10.123456"}, "invalid_data", id="six-places"),
    ],
)
def test_loan_repayment_received_invalid(changes: dict[str, Any], code: str) -> None:
    assert rejected(LOANS, "loan.repayment_received", with_(REPAYMENT, **changes)) == code


# --- loan.written_off ------------------------------------------------------------------------------


def test_loan_written_off() -> None:
    data = parse(LOANS, "loan.written_off", WRITTEN_OFF).data
    assert data == LoanWrittenOff(loan_id="LN-1", client_id="CL-1", written_off_on=dt.date(2025, 9, 30))


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"loan_id": MISSING}, id="no-loan"),
        pytest.param({"written_off_on": None}, id="null-date"),
        pytest.param({"amount": "100"}, id="extra-amount"),
    ],
)
def test_loan_written_off_invalid(changes: dict[str, Any]) -> None:
    assert rejected(LOANS, "loan.written_off", with_(WRITTEN_OFF, **changes)) == "invalid_data"
