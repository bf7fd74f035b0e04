"""services.snapshotter.wealth.valuation: a client's snapshot from a complete valuation (CONTRACT §3), worked
out by hand from three positions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from services.snapshotter.wealth.valuation import summarize
from shared.events.wealth import Position

pytestmark = pytest.mark.unit

D = Decimal


def position(instrument: str, asset_class: str, custodian: str, value: str, **more: object) -> Position:
    return Position(instrument_id=instrument, asset_class=asset_class, custodian=custodian, market_value=D(value),
                    **more)  # fmt: skip


def test_totals_allocations_and_maturities() -> None:
    summary = summarize(
        [
            position("B1", "Bond", "Bank A", "1000.50", est_annual_income=D("40"), maturity_date=dt.date(2030, 6, 1)),
            position("B2", "Bond", "Bank B", "499.50", est_annual_income=D("10.25"), maturity_date=dt.date(2030, 1, 2)),
            position("E1", "Equity", "Bank A", "-200", est_annual_income=None),  # a short position
            position("B3", "Bond", "Bank A", "300", maturity_date=dt.date(2028, 12, 31)),
        ]
    )
    # 1000.50 + 499.50 - 200 + 300 = 1600; income 40 + 10.25 = 50.25 (no income counts as 0).
    assert summary.total_value == D("1600.00")
    assert summary.estimated_annual_income == D("50.25")
    # By class, sorted by name: Bond 1000.50 + 499.50 + 300 = 1800.00; Equity -200.
    assert summary.asset_allocation == [{"name": "Bond", "value": "1800.00"}, {"name": "Equity", "value": "-200"}]
    # By custodian: Bank A 1000.50 - 200 + 300 = 1100.50; Bank B 499.50.
    assert summary.custodian_allocation == [
        {"name": "Bank A", "value": "1100.50"},
        {"name": "Bank B", "value": "499.50"},
    ]
    # Maturities by year, ascending: 2028 300; 2030 1000.50 + 499.50 = 1500.00.
    assert summary.bond_maturity == [{"year": 2028, "value": "300"}, {"year": 2030, "value": "1500.00"}]


def test_no_positions_is_worth_zero() -> None:
    summary = summarize([])
    assert summary.total_value == 0
    assert summary.estimated_annual_income == 0
    assert summary.asset_allocation == summary.custodian_allocation == summary.bond_maturity == []
