"""The value types inside `data`: amounts (never floats), business dates, identifiers, names, measures."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from shared.events import CashFlowRecorded, LoanRepaymentReceived, PortfolioValued
from shared.topics import Topic
from tests.unit.events import (
    CASH_FLOW,
    CLIENT_EXITED,
    OFFICER,
    PORTFOLIO_VALUED,
    REPAYMENT,
    number,
    parse,
    rejected,
    with_,
)

pytestmark = pytest.mark.unit

LOANS = Topic.LOAN_EVENTS
WEALTH = Topic.WEALTH_EVENTS


def income(amount: Any) -> dict[str, Any]:
    """A cash flow of kind `income`, whose amount may take any sign: a carrier for amount tests."""
    return with_(CASH_FLOW, kind="income", amount=amount)


def flow_amount(amount: Any) -> Decimal:
    data = parse(WEALTH, "cash_flow.recorded", income(amount)).data
    assert isinstance(data, CashFlowRecorded)
    return data.amount


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        pytest.param("1500.25", Decimal("1500.25"), id="string"),
        pytest.param(number("10.5"), Decimal("10.5"), id="json-number-exact"),
        pytest.param(number("0.1"), Decimal("0.1"), id="json-number-not-a-binary-float"),
        pytest.param(number("1500"), Decimal(1500), id="json-integer"),
        pytest.param(number("1.5e3"), Decimal(1500), id="json-exponent"),
        pytest.param("10.50000", Decimal("10.5"), id="trailing-zeros"),
        pytest.param("0.0001", Decimal("0.0001"), id="four-places"),
        pytest.param("1.23450", Decimal("1.2345"), id="five-places-one-a-trailing-zero"),
        pytest.param("-42.1", Decimal("-42.1"), id="negative"),
        pytest.param("999999999999999.9999", Decimal("999999999999999.9999"), id="largest"),
        pytest.param(" 7.25 ", Decimal("7.25"), id="surrounding-spaces"),
        pytest.param("1E+3", Decimal(1000), id="string-exponent"),
    ],
)
def test_valid_amounts_are_exact_decimals(amount: Any, expected: Decimal) -> None:
    value = flow_amount(amount)
    assert isinstance(value, Decimal)
    assert value == expected


def test_a_json_number_amount_never_passes_through_a_float() -> None:
    value = flow_amount(number("1234567890.1234"))
    assert value == Decimal("1234567890.1234")
    assert str(value) == "1234567890.1234"


def test_negative_zero_becomes_zero() -> None:
    value = flow_amount("-0.00")
    assert value == 0
    assert not value.is_signed()


@pytest.mark.parametrize(
    "amount",
    [
        pytest.param("10.123456", id="six-places"),
        pytest.param("0.00001", id="five-places"),
        pytest.param(number("10.123456"), id="six-places-number"),
        pytest.param("NaN", id="NaN-string"),
        pytest.param("nan", id="nan-string"),
        pytest.param("sNaN", id="sNaN-string"),
        pytest.param("Infinity", id="Infinity-string"),
        pytest.param("-Infinity", id="minus-Infinity-string"),
        pytest.param(number("1e400"), id="1e400-number"),
        pytest.param("1e400", id="1e400-string"),
        pytest.param("1000000000000000", id="1e15"),
        pytest.param("-1000000000000000", id="minus-1e15"),
        pytest.param(True, id="true"),
        pytest.param(False, id="false"),
        pytest.param(None, id="null"),
        pytest.param("", id="empty"),
        pytest.param("ten", id="words"),
        pytest.param("1,000.00", id="thousands-separator"),
        pytest.param("$10", id="currency-sign"),
        pytest.param([10], id="array"),
        pytest.param({"value": 10}, id="object"),
    ],
)
def test_invalid_amounts_are_invalid_data(amount: Any) -> None:
    assert rejected(WEALTH, "cash_flow.recorded", income(amount)) == "invalid_data"


@pytest.mark.parametrize("field", ["principal", "interest", "fees"])
def test_every_amount_field_of_an_event_is_checked(field: str) -> None:
    assert rejected(LOANS, "loan.repayment_received", with_(REPAYMENT, **{field: "NaN"})) == "invalid_data"
    assert rejected(LOANS, "loan.repayment_received", with_(REPAYMENT, **{field: "1.00001"})) == ("invalid_data")


def test_amounts_are_exact_in_every_event() -> None:
    data = parse(LOANS, "loan.repayment_received", with_(REPAYMENT, principal=number("0.3"))).data
    assert isinstance(data, LoanRepaymentReceived)
    assert data.principal == Decimal("0.3")
    assert data.principal + data.interest + data.fees == Decimal("30.305")


@pytest.mark.parametrize(
    "date",
    [
        pytest.param("2025-02-30", id="february-30"),
        pytest.param("2025-13-01", id="month-13"),
        pytest.param("2025-00-10", id="month-0"),
        pytest.param("0000-01-01", id="year-0"),
        pytest.param("2025-10-08T00:00:00", id="timestamp"),
        pytest.param("2025-10-08T00:00:00Z", id="timestamp-utc"),
        pytest.param("2025-10-08 ", id="trailing-space"),
        pytest.param("2025-1-8", id="no-padding"),
        pytest.param("20251008", id="basic-format"),
        pytest.param("08/10/2025", id="day-first"),
        pytest.param("2025-W41-3", id="iso-week"),
        pytest.param("2025-10-08\n", id="trailing-newline"),
        pytest.param("２０２５-１０-０８", id="fullwidth-digits"),
        pytest.param(20251008, id="number"),
        pytest.param(1759881600, id="unix-time"),
        pytest.param(None, id="null"),
        pytest.param("", id="empty"),
    ],
)
def test_invalid_business_dates_are_invalid_data(date: Any) -> None:
    assert rejected(LOANS, "client.exited", with_(CLIENT_EXITED, exited_on=date)) == "invalid_data"


@pytest.mark.parametrize(
    ("date", "expected"),
    [
        pytest.param("2024-02-29", dt.date(2024, 2, 29), id="leap-day"),
        pytest.param("2025-12-31", dt.date(2025, 12, 31), id="new-years-eve"),
        pytest.param("0001-01-01", dt.date(1, 1, 1), id="earliest"),
    ],
)
def test_valid_business_dates(date: str, expected: dt.date) -> None:
    data = parse(LOANS, "client.exited", with_(CLIENT_EXITED, exited_on=date)).data
    assert data.model_dump()["exited_on"] == expected


@pytest.mark.parametrize(
    "client_id",
    [
        pytest.param("CL 1", id="space"),
        pytest.param("C" * 65, id="65-chars"),
        pytest.param("", id="empty"),
        pytest.param("CL/1", id="slash"),
        pytest.param(42, id="number"),
        pytest.param(None, id="null"),
    ],
)
def test_identifiers_in_data_follow_the_identifier_rule(client_id: Any) -> None:
    assert rejected(LOANS, "client.exited", with_(CLIENT_EXITED, client_id=client_id)) == "invalid_data"


def test_a_64_char_identifier_with_every_allowed_character_is_accepted() -> None:
    client_id = "Az09._:-" + "x" * 56
    data = parse(LOANS, "client.exited", with_(CLIENT_EXITED, client_id=client_id)).data
    assert data.model_dump()["client_id"] == client_id


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("name", "", id="empty-name"),
        pytest.param("name", "   ", id="blank-name"),
        pytest.param("name", "x" * 201, id="name-201-chars"),
        pytest.param("name", 7, id="name-number"),
        pytest.param("email", "amina.lender.example", id="email-no-at"),
        pytest.param("email", "amina@@lender.example", id="email-two-ats"),
        pytest.param("email", "a@b@c", id="email-two-separate-ats"),
        pytest.param("email", "@lender.example", id="email-no-local-part"),
        pytest.param("email", "amina@", id="email-no-domain"),
        pytest.param("email", "amina wanjiru@lender.example", id="email-space"),
        pytest.param("email", "a" * 250 + "@b.example", id="email-over-254"),
        pytest.param("role", "admin", id="role-admin"),
        pytest.param("role", "Loan_Officer", id="role-wrong-case"),
    ],
)
def test_officer_strings_are_bounded_and_checked(field: str, value: Any) -> None:
    assert rejected(LOANS, "officer.upserted", with_(OFFICER, **{field: value})) == "invalid_data"


def test_names_are_trimmed_and_200_chars_are_allowed() -> None:
    data = parse(LOANS, "officer.upserted", with_(OFFICER, name="  " + "n" * 200 + " ")).data
    assert data.model_dump()["name"] == "n" * 200


def position(**changes: Any) -> dict[str, Any]:
    return with_(PORTFOLIO_VALUED["positions"][0], **changes)


def valued(*positions: dict[str, Any]) -> dict[str, Any]:
    return with_(PORTFOLIO_VALUED, positions=list(positions))


@pytest.mark.parametrize(
    ("quantity", "expected"),
    [
        pytest.param("0.123456789012345678", Decimal("0.123456789012345678"), id="18-places"),
        pytest.param(number("1234.56789"), Decimal("1234.56789"), id="json-number"),
        pytest.param("-100", Decimal(-100), id="short"),
    ],
)
def test_quantity_and_price_are_decimals_beyond_four_places(quantity: Any, expected: Decimal) -> None:
    data = parse(WEALTH, "portfolio.valued", valued(position(quantity=quantity, price=quantity))).data
    assert isinstance(data, PortfolioValued)
    assert data.positions[0].quantity == expected
    assert data.positions[0].price == expected


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("0.1234567890123456789", id="19-places"),
        pytest.param("NaN", id="NaN"),
        pytest.param(number("1e400"), id="1e400"),
        pytest.param(True, id="true"),
        pytest.param("many", id="words"),
    ],
)
@pytest.mark.parametrize("field", ["quantity", "price"])
def test_invalid_quantity_or_price_is_invalid_data(field: str, value: Any) -> None:
    assert rejected(WEALTH, "portfolio.valued", valued(position(**{field: value}))) == "invalid_data"
