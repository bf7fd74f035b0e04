"""Pure rules of the wealth read API (CONTRACT §3, §4): the ALL percent, allocations, rounding of rows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from services.gateway.presenters.wealth import (
    SUMMARY_FIELDS,
    WealthSummary,
    all_summary_payload,
    allocation_entries,
    bond_maturity_entries,
    client_summary_payload,
    history_payload,
    weighted_percent,
)
from services.gateway.rounding import render_json

pytestmark = pytest.mark.unit

D = Decimal


# --- the asset-weighted percent of ALL ----------------------------------------------------------------


def test_contract_example_a_and_b_weighted_by_average_capital() -> None:
    # A: 100 → 110, r = 10 %, c = 100. B: 300 → 290 with +20 mid-period: gain −30, c = 310, r = −30/310.
    r_a = D(10)
    r_b = D(100) * D(-30) / D(310)
    weighted = D(100) * r_a + D(310) * r_b  # = 1000 − 3000 = −2000 (up to the 28-digit division above)
    assert round(weighted, 10) == D(-2000)
    percent = weighted_percent(D(-2000), D(410), 2)
    assert percent is not None
    assert percent.quantize(D("0.0001")) == D("-4.8780")
    # … which is the Modified Dietz return of the summed book: gain −20 on average capital 410.
    assert percent.quantize(D("1e-20")) == (D(100) * D(-20) / D(410)).quantize(D("1e-20"))


@pytest.mark.parametrize(
    ("weighted", "capital", "windows", "expected"),
    [
        (D(-2000), D(410), 2, D("-4.878048780487804878048780487804878048780487804878048780487805")),
        (D(50), D(1000), 0, D("0.05")),  # windows is not looked at when some capital qualifies
        (D(0), D(0), 0, D(0)),  # nobody has a window: "0 and 0"
        (D(0), D(0), 2, None),  # windows exist, none computable
        (D(0), D(0), 1, None),
        (D(5), D(-3), 1, None),  # a non-positive sum of capital never divides
    ],
)
def test_weighted_percent_rule(weighted: Decimal, capital: Decimal, windows: int, expected: Decimal | None) -> None:
    percent = weighted_percent(weighted, capital, windows)
    if expected is None:
        assert percent is None
    else:
        assert percent is not None
        assert percent.quantize(D("1e-20")) == expected.quantize(D("1e-20"))


def test_weighted_percent_keeps_many_digits() -> None:
    percent = weighted_percent(D(1), D(3), 1)
    assert percent is not None
    assert str(percent).startswith("0.3333333333333333333333333333333")


# --- allocations --------------------------------------------------------------------------------------


def test_allocation_percent_of_the_dimension_total_largest_first_then_by_name() -> None:
    entries = allocation_entries([("Cash", D(100)), ("Equity", D(200)), ("Bonds", D(100))])
    assert entries == [
        {"name": "Equity", "value": D("200.00"), "percent": D("50.0000")},
        {"name": "Bonds", "value": D("100.00"), "percent": D("25.0000")},
        {"name": "Cash", "value": D("100.00"), "percent": D("25.0000")},
    ]
    thirds = allocation_entries([("B", D(1)), ("A", D(2))])
    assert [(e["name"], str(e["percent"])) for e in thirds] == [("A", "66.6667"), ("B", "33.3333")]


def test_allocation_values_half_up_and_percent_from_unrounded_values() -> None:
    entries = allocation_entries([("X", D("1234.565")), ("Y", D("0.005")), ("Z", D("-0.005"))])
    assert [e["value"] for e in entries] == [D("1234.57"), D("0.01"), D("-0.01")]
    assert [e["percent"] for e in entries] == [D("100.0000"), D("0.0004"), D("-0.0004")]


def test_allocation_percent_is_null_when_the_total_is_zero() -> None:
    assert allocation_entries([("Margin", D(-50)), ("Cash", D(50))]) == [
        {"name": "Cash", "value": D("50.00"), "percent": None},
        {"name": "Margin", "value": D("-50.00"), "percent": None},
    ]
    assert allocation_entries([]) == []


def test_allocation_values_from_jsonb_numbers_and_strings() -> None:
    entries = allocation_entries([("A", "0.1"), ("B", 2), ("C", 0.2)])
    assert [(e["name"], e["value"]) for e in entries] == [("B", D("2.00")), ("C", D("0.20")), ("A", D("0.10"))]


def test_bond_maturity_by_year_ascending_with_integer_years() -> None:
    entries = bond_maturity_entries([("2031", D("60.005")), (2027, D(40)), ("2029", D("0.004"))])
    assert entries == [
        {"year": 2027, "value": D("40.00")},
        {"year": 2029, "value": D("0.00")},
        {"year": 2031, "value": D("60.01")},
    ]
    assert all(type(e["year"]) is int for e in entries)


# --- payloads -----------------------------------------------------------------------------------------


def totals_row(**values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "as_of": dt.date(2025, 3, 3),
        "client_count": 2,
        "total_aum": D("1234.565"),
        "estimated_annual_income": D("10.004"),
    }
    for figure in ("period", "monthly", "ytd", "inception"):
        row.update({f"{figure}_dollar": D(0), f"{figure}_weighted": D(0), f"{figure}_capital": D(0)})
        row[f"{figure}_windows"] = 0
    row.update(values)
    return row


def test_all_summary_payload() -> None:
    totals = totals_row(
        period_dollar=D("-20.005"),
        period_weighted=D(-2000),
        period_capital=D(410),
        period_windows=2,
        ytd_windows=2,
        inception_dollar=D("7"),
        inception_weighted=D(1),
        inception_capital=D(20000),  # 0.00005 → 0.0001 half-up
        inception_windows=1,
    )
    allocations = [
        {"dimension": "asset_class", "name": "Bonds", "value": D(100)},
        {"dimension": "custodian", "name": "BankA", "value": D(1)},
        {"dimension": "asset_class", "name": "Equity", "value": D(200)},
        {"dimension": "bond_year", "name": "2031", "value": D(1)},
        {"dimension": "bond_year", "name": "2027", "value": D(2)},
    ]
    payload = all_summary_payload(totals, allocations)
    assert render_json(payload) == (
        '{"filter_applied":"ALL","as_of":"2025-03-03","client_count":2,"summary":{"total_aum":1234.57,'
        '"inception_dollar_performance":7.00,"inception_return_pct":0.0001,"estimated_annual_income":10.00,'
        '"period_return_dollar":-20.01,"period_return_percent":-4.8780,"monthly_return_dollar":0.00,'
        '"monthly_return_percent":0.0000,"ytd_return_dollar":0.00,"ytd_return_percent":null},'
        '"asset_allocation":[{"name":"Equity","value":200.00,"percent":66.6667},'
        '{"name":"Bonds","value":100.00,"percent":33.3333}],'
        '"bank_allocation":[{"name":"BankA","value":1.00,"percent":100.0000}],'
        '"bond_maturity":[{"year":2027,"value":2.00},{"year":2031,"value":1.00}]}'
    )
    assert list(payload["summary"]) == list(SUMMARY_FIELDS)
    WealthSummary.model_validate(payload)  # the documented shape


def test_client_summary_payload_keeps_null_percents_and_reads_jsonb_text_exactly() -> None:
    row: dict[str, Any] = {
        "client_id": "C1",
        "as_of": dt.date(2025, 3, 3),
        "total_value": D("1234.565"),
        "estimated_annual_income": D("0"),
        "inception_dollar_performance": D("-0.004"),
        "inception_return_pct": D("-0.00004"),
        "period_return_dollar": D("2.5"),
        "period_return_percent": None,
        "monthly_return_dollar": D("0"),
        "monthly_return_percent": D("12.34565"),
        "ytd_return_dollar": D("0"),
        "ytd_return_percent": D("0"),
        "asset_allocation": '[{"name": "Cash", "value": 0.1}, {"name": "Equity", "value": "1234.465"}]',
        "custodian_allocation": "[]",
        "bond_maturity": '[{"year": 2030, "value": 0.3}]',
    }
    payload = client_summary_payload(row)
    assert payload["client_count"] == 1
    assert payload["filter_applied"] == "C1"
    summary = payload["summary"]
    assert summary["total_aum"] == D("1234.57")
    assert summary["period_return_percent"] is None
    assert str(summary["monthly_return_percent"]) == "12.3457"
    assert str(summary["inception_return_pct"]) == "0.0000"  # never −0
    assert str(summary["inception_dollar_performance"]) == "0.00"
    assert payload["asset_allocation"] == [
        {"name": "Equity", "value": D("1234.47"), "percent": D("99.9919")},
        {"name": "Cash", "value": D("0.10"), "percent": D("0.0081")},
    ]
    assert payload["bank_allocation"] == []
    assert payload["bond_maturity"] == [{"year": 2030, "value": D("0.30")}]
    WealthSummary.model_validate(payload)


def test_history_payload() -> None:
    row = {
        "as_of": dt.date(2025, 3, 1),
        "revision": 2,
        "total_value": D("1000.005"),
        "net_external_flows": D("-0.005"),
        "period_return_dollar": D("0"),
        "period_return_percent": None,
        "inception_return_pct": D("4.87804878"),
    }
    assert render_json(history_payload(row)) == (
        '{"date":"2025-03-01","total_value":1000.01,"net_external_flows":-0.01,"period_return_dollar":0.00,'
        '"period_return_percent":null,"inception_return_pct":4.8780,"revision":2}'
    )
