"""`wealth-events` (CONTRACT §3): a valid example of each event type and the rules inside one event."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from shared.events import CashFlowRecorded, ClientOnboarded, PortfolioValued, Position
from shared.events.wealth import MAX_POSITIONS
from shared.topics import Topic
from tests.unit.events import (
    CASH_FLOW,
    CLIENT_ONBOARDED,
    MISSING,
    PORTFOLIO_VALUED,
    envelope,
    number,
    parse,
    rejected,
    rejection,
    with_,
)

pytestmark = pytest.mark.unit

WEALTH = Topic.WEALTH_EVENTS


# --- client.onboarded ------------------------------------------------------------------------------


def test_client_onboarded() -> None:
    data = parse(WEALTH, "client.onboarded", CLIENT_ONBOARDED).data
    assert data == ClientOnboarded(client_id="W-1", name="Jane Doe", base_currency="EUR")


@pytest.mark.parametrize("base_currency", [MISSING, None])
def test_base_currency_is_optional(base_currency: Any) -> None:
    data = parse(WEALTH, "client.onboarded", with_(CLIENT_ONBOARDED, base_currency=base_currency)).data
    assert isinstance(data, ClientOnboarded)
    assert data.base_currency is None


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"base_currency": "eur"}, id="lower-case-currency"),
        pytest.param({"base_currency": "EURO"}, id="four-letters"),
        pytest.param({"base_currency": ""}, id="empty-currency"),
        pytest.param({"name": MISSING}, id="no-name"),
        pytest.param({"name": ""}, id="empty-name"),
        pytest.param({"name": "x" * 201}, id="long-name"),
        pytest.param({"client_id": "W 1"}, id="bad-client-id"),
    ],
)
def test_client_onboarded_invalid(changes: dict[str, Any]) -> None:
    assert rejected(WEALTH, "client.onboarded", with_(CLIENT_ONBOARDED, **changes)) == "invalid_data"


# --- portfolio.valued ------------------------------------------------------------------------------


def test_portfolio_valued() -> None:
    data = parse(WEALTH, "portfolio.valued", PORTFOLIO_VALUED).data
    assert isinstance(data, PortfolioValued)
    assert data.client_id == "W-1"
    assert data.as_of == dt.date(2025, 10, 7)
    equity, bond, cash = data.positions
    assert equity == Position(
        instrument_id="US0378331005",
        asset_class="Equity",
        custodian="Bank A",
        market_value=Decimal("120000.50"),
        est_annual_income=Decimal(600),
        quantity=Decimal("512.123456789"),
        price=Decimal("234.3266845"),
    )
    assert bond.maturity_date == dt.date(2032, 2, 15)
    assert bond.est_annual_income == Decimal("1250.75")
    assert (bond.quantity, bond.price) == (None, None)
    assert cash.market_value == Decimal("-25.5")
    assert (cash.est_annual_income, cash.maturity_date) == (None, None)
    assert sum(p.market_value for p in data.positions) == Decimal("169975.00")


def test_a_valuation_without_positions_is_worth_nothing_and_valid() -> None:
    data = parse(WEALTH, "portfolio.valued", with_(PORTFOLIO_VALUED, positions=[])).data
    assert isinstance(data, PortfolioValued)
    assert data.positions == ()


def test_optional_position_fields_may_be_null() -> None:
    bare = {
        "instrument_id": "X",
        "asset_class": "Other",
        "custodian": "C",
        "market_value": number("0"),
        "est_annual_income": None,
        "maturity_date": None,
        "quantity": None,
        "price": None,
    }
    data = parse(WEALTH, "portfolio.valued", with_(PORTFOLIO_VALUED, positions=[bare])).data
    assert isinstance(data, PortfolioValued)
    assert data.positions[0].market_value == 0


def position(**changes: Any) -> dict[str, Any]:
    return with_(PORTFOLIO_VALUED["positions"][0], **changes)


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        pytest.param({"positions": MISSING}, "invalid_data", id="positions-missing"),
        pytest.param({"positions": None}, "invalid_data", id="positions-null"),
        pytest.param({"as_of": "2025-10-07T23:59:59Z"}, "invalid_data", id="as-of-timestamp"),
        pytest.param({"as_of": "2025-02-30"}, "invalid_data", id="as-of-not-a-day"),
        pytest.param({"positions": [position(market_value="NaN")]}, "invalid_data", id="value-NaN"),
        pytest.param({"positions": [position(market_value="1.00001")]}, "invalid_data", id="value-5-places"),
        pytest.param({"positions": [position(market_value=MISSING)]}, "invalid_data", id="value-missing"),
        pytest.param({"positions": [position(custodian="")]}, "invalid_data", id="custodian-empty"),
        pytest.param({"positions": [position(asset_class=MISSING)]}, "invalid_data", id="asset-class-missing"),
        pytest.param({"positions": [position(instrument_id="AAPL US")]}, "invalid_data", id="instrument-space"),
        pytest.param({"positions": [position(maturity_date="2032")]}, "invalid_data", id="maturity-year-only"),
        pytest.param({"positions": [position(currency="EUR")]}, "invalid_data", id="position-extra-field"),
        pytest.param({"positions": [position(), position()]}, "duplicate_position", id="same-instrument-twice"),
        pytest.param(
            {"positions": [position(custodian="Bank B"), position(instrument_id="B"), position(custodian="Bank B")]},
            "duplicate_position",
            id="same-instrument-twice-at-one-custodian",
        ),
    ],
)
def test_portfolio_valued_invalid(changes: dict[str, Any], code: str) -> None:
    assert rejected(WEALTH, "portfolio.valued", with_(PORTFOLIO_VALUED, **changes)) == code


def test_positions_are_bounded() -> None:
    def positions(count: int) -> list[dict[str, Any]]:
        return [
            {"instrument_id": f"I{i}", "asset_class": "E", "custodian": "C", "market_value": 1} for i in range(count)
        ]

    ok = parse(WEALTH, "portfolio.valued", with_(PORTFOLIO_VALUED, positions=positions(MAX_POSITIONS))).data
    assert isinstance(ok, PortfolioValued)
    assert len(ok.positions) == MAX_POSITIONS
    too_many = envelope("portfolio.valued", with_(PORTFOLIO_VALUED, positions=positions(MAX_POSITIONS + 1)))
    assert rejection(WEALTH, too_many) == "invalid_data"


# --- cash_flow.recorded ----------------------------------------------------------------------------


def test_cash_flow_recorded() -> None:
    data = parse(WEALTH, "cash_flow.recorded", CASH_FLOW).data
    assert data == CashFlowRecorded(
        flow_id="FL-1",
        client_id="W-1",
        flow_date=dt.date(2025, 10, 1),
        amount=Decimal(10000),
        kind="contribution",
    )
    assert isinstance(data, CashFlowRecorded)
    assert data.is_external


@pytest.mark.parametrize(
    ("kind", "amount", "external"),
    [
        pytest.param("contribution", "0.0001", True, id="contribution-positive"),
        pytest.param("withdrawal", "-2500.50", True, id="withdrawal-negative"),
        pytest.param("income", "12.34", False, id="income-positive"),
        pytest.param("income", "-1", False, id="income-negative"),
        pytest.param("fee", "-15", False, id="fee-negative"),
        pytest.param("fee", "0", False, id="fee-zero"),
    ],
)
def test_cash_flow_kinds(kind: str, amount: str, external: bool) -> None:
    data = parse(WEALTH, "cash_flow.recorded", with_(CASH_FLOW, kind=kind, amount=amount)).data
    assert isinstance(data, CashFlowRecorded)
    assert data.amount == Decimal(amount)
    assert data.is_external is external


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        pytest.param({"kind": "contribution", "amount": "-100"}, "flow_sign_mismatch", id="contribution-negative"),
        pytest.param({"kind": "contribution", "amount": "0"}, "flow_sign_mismatch", id="contribution-zero"),
        pytest.param({"kind": "withdrawal", "amount": "100"}, "flow_sign_mismatch", id="withdrawal-positive"),
        pytest.param({"kind": "withdrawal", "amount": "-0.00"}, "flow_sign_mismatch", id="withdrawal-zero"),
        pytest.param({"kind": "transfer"}, "invalid_data", id="unknown-kind"),
        pytest.param({"kind": "Contribution"}, "invalid_data", id="kind-wrong-case"),
        pytest.param({"kind": MISSING}, "invalid_data", id="kind-missing"),
        pytest.param({"amount": "10.123456"}, "invalid_data", id="six-places"),
        pytest.param({"flow_id": MISSING}, "invalid_data", id="flow-id-missing"),
        pytest.param({"flow_date": "2025-10-01T00:00:00"}, "invalid_data", id="flow-date-timestamp"),
    ],
)
def test_cash_flow_recorded_invalid(changes: dict[str, Any], code: str) -> None:
    assert rejected(WEALTH, "cash_flow.recorded", with_(CASH_FLOW, **changes)) == code


def test_the_same_instrument_at_two_custodians_is_two_positions() -> None:
    data = {**PORTFOLIO_VALUED, "positions": [position(), position(custodian="Bank B")]}
    valued = parse(WEALTH, "portfolio.valued", data).data
    assert isinstance(valued, PortfolioValued)
    assert [p.custodian for p in valued.positions] == [position()["custodian"], "Bank B"]
