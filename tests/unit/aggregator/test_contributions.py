"""services.aggregator.wealth.contributions: what one client-day adds to its date's all-clients figures
(CONTRACT §3), and a restatement as new minus old. Numbers worked out by hand."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from services.aggregator.wealth.contributions import allocation_difference, contribution, difference

pytestmark = pytest.mark.unit

D = Decimal


def returns_row(**changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "total_value": "1000", "estimated_annual_income": "30", "net_external_flows": "100",
        "period_start_date": "2026-01-01", "period_return_dollar": "20", "period_return_percent": "2.5",
        "period_average_capital": "800",
        "month_start_date": "2026-01-01", "monthly_return_dollar": "20", "monthly_return_percent": None,
        "monthly_average_capital": "800",
        "ytd_start_date": None, "ytd_return_dollar": "0", "ytd_return_percent": None, "ytd_average_capital": None,
        "inception_date": "2025-06-01", "inception_dollar_performance": "-50", "inception_return_pct": "-4",
        "inception_average_capital": "0",
        "asset_allocation": [{"name": "Bond", "value": "600"}, {"name": "Equity", "value": "400"}],
        "custodian_allocation": [{"name": "Bank A", "value": "1000"}],
        "bond_maturity": [{"year": 2030, "value": "600"}],
    }  # fmt: skip
    row.update(changes)
    return row


def test_a_client_day_adds_its_sums_and_its_capital_weighted_percents() -> None:
    c = contribution(returns_row())
    assert c["client_count"] == 1
    assert (c["total_aum"], c["estimated_annual_income"], c["net_external_flows"]) == (D(1000), D(30), D(100))
    # period: c = 800 > 0 and r = 2.5: weighted 800 × 2.5 = 2000, capital 800.
    assert (c["period_dollar"], c["period_weighted"], c["period_capital"], c["period_windows"]) == (
        D(20), D(2000), D(800), 1
    )  # fmt: skip
    # monthly: r is null, so neither c·r nor c counts; the dollar figure and the window still do.
    assert (c["monthly_dollar"], c["monthly_weighted"], c["monthly_capital"], c["monthly_windows"]) == (
        D(20), 0, 0, 1
    )  # fmt: skip
    # ytd: no window at all.
    assert (c["ytd_weighted"], c["ytd_capital"], c["ytd_windows"]) == (0, 0, 0)
    # inception: average capital 0 is not > 0: the percent does not count.
    assert (c["inception_dollar"], c["inception_weighted"], c["inception_capital"], c["inception_windows"]) == (
        D(-50), 0, 0, 1
    )  # fmt: skip


def test_no_row_adds_nothing() -> None:
    assert all(v == 0 for v in contribution(None).values())


def test_a_restatement_applies_new_minus_old() -> None:
    old = returns_row()
    new = returns_row(total_value="1100", period_return_percent="3", period_average_capital="900")
    d = difference(new, old)
    assert d["client_count"] == 0
    assert d["total_aum"] == D(100)
    # 900 × 3 - 800 × 2.5 = 2700 - 2000 = 700; capital 900 - 800 = 100.
    assert (d["period_weighted"], d["period_capital"]) == (D(700), D(100))
    assert d["estimated_annual_income"] == 0
    # A client that appears: its whole contribution; one that goes: minus it.
    assert difference(new, None)["client_count"] == 1
    assert difference(None, old)["total_aum"] == D(-1000)


def test_allocation_changes_by_dimension_and_name() -> None:
    old = returns_row()
    new = returns_row(
        asset_allocation=[{"name": "Bond", "value": "600"}, {"name": "Cash", "value": "500"}],
        custodian_allocation=[{"name": "Bank A", "value": "1100"}],
        bond_maturity=[{"year": 2030, "value": "600"}],
    )
    # Bond unchanged (dropped), Equity 400 → gone (-400), Cash new (+500); Bank A +100; 2030 unchanged.
    assert allocation_difference(new, old) == {
        ("asset_class", "Equity"): D(-400),
        ("asset_class", "Cash"): D(500),
        ("custodian", "Bank A"): D(100),
    }
    assert allocation_difference(None, None) == {}
