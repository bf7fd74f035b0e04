"""Wealth payloads: `/v1/wealth/summary` of one client or of all clients, `/v1/wealth/clients/{id}/history`.

Money is rounded half-up to 2 places, percents to 4; a percent that is not computable stays `null`.
One client's percents are as the returns service computed them; the all-clients percents are weighted by
average capital here, Σ cᵢ·rᵢ ÷ Σ cᵢ, from the running sums of `aggregator.wealth_date_totals`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from decimal import Context, Decimal, InvalidOperation
from typing import Any

from asyncpg import Record
from pydantic import BaseModel, Field

from services.gateway.rounding import JsonMoney, JsonPercent, round_money, round_percent
from services.gateway.views.wealth import ALL_CLIENTS, FIGURES

SUMMARY_FIELDS: tuple[str, ...] = (
    "total_aum",
    "inception_dollar_performance",
    "inception_return_pct",
    "estimated_annual_income",
    "period_return_dollar",
    "period_return_percent",
    "monthly_return_dollar",
    "monthly_return_percent",
    "ytd_return_dollar",
    "ytd_return_percent",
)
HISTORY_FIELDS: tuple[str, ...] = (
    "date",
    "total_value",
    "net_external_flows",
    "period_return_dollar",
    "period_return_percent",
    "inception_return_pct",
    "revision",
)
RETURN_FIELDS: dict[str, tuple[str, str]] = {
    "period": ("period_return_dollar", "period_return_percent"),
    "monthly": ("monthly_return_dollar", "monthly_return_percent"),
    "ytd": ("ytd_return_dollar", "ytd_return_percent"),
    "inception": ("inception_dollar_performance", "inception_return_pct"),
}
"""Each return window of CONTRACT §3 → its (dollar, percent) fields of the summary."""
WINDOW_STARTS: dict[str, str] = {
    "period": "period_start_date",
    "monthly": "month_start_date",
    "ytd": "ytd_start_date",
    "inception": "inception_date",
}
"""Each return window → the column of its start date (a client's own figures only)."""

# Division of the weighted sums: far more digits than the 4 places the percent is rounded to.
_DIVISION = Context(prec=60)


class WealthFigures(BaseModel):
    """The figures of one client or of all clients on one date (CONTRACT §3)."""

    total_aum: JsonMoney
    inception_dollar_performance: JsonMoney
    inception_return_pct: JsonPercent | None
    estimated_annual_income: JsonMoney
    period_return_dollar: JsonMoney
    period_return_percent: JsonPercent | None
    monthly_return_dollar: JsonMoney
    monthly_return_percent: JsonPercent | None
    ytd_return_dollar: JsonMoney
    ytd_return_percent: JsonPercent | None


class AllocationEntry(BaseModel):
    name: str
    value: JsonMoney
    percent: JsonPercent | None = Field(description="100 × value ÷ the dimension's total; null if that is 0")


class BondMaturityEntry(BaseModel):
    year: int
    value: JsonMoney


class WealthSummary(BaseModel):
    filter_applied: str = Field(description="`ALL` or the client id")
    as_of: dt.date
    client_count: int
    summary: WealthFigures
    asset_allocation: list[AllocationEntry] = Field(description="By asset class, largest first")
    bank_allocation: list[AllocationEntry] = Field(description="By custodian, largest first")
    bond_maturity: list[BondMaturityEntry] = Field(description="By maturity year, earliest first")


class WealthHistoryEntry(BaseModel):
    date: dt.date
    total_value: JsonMoney
    net_external_flows: JsonMoney
    period_return_dollar: JsonMoney
    period_return_percent: JsonPercent | None
    inception_return_pct: JsonPercent | None
    revision: int


# --- pure rules ---------------------------------------------------------------------------------------


def _decimal(value: Any) -> Decimal:
    """An amount from the read model (NUMERIC, or a number or string inside jsonb) as a Decimal."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, str, float)):
        raise ValueError(f"not an amount: {value!r}")
    try:
        return Decimal(repr(value) if isinstance(value, float) else value)
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {value!r}") from exc


def _percent_or_none(value: Decimal | None) -> Decimal | None:
    return round_percent(value) if value is not None else None


def is_percent(name: str) -> bool:
    return name.endswith("_percent") or name.endswith("_pct")


def weighted_percent(weighted: Decimal, capital: Decimal, windows: int) -> Decimal | None:
    """The asset-weighted percent of all clients (CONTRACT §3), unrounded.

    Σ cᵢ·rᵢ ÷ Σ cᵢ over the qualifying clients (cᵢ > 0 and rᵢ not null) when Σ cᵢ > 0; otherwise 0 when
    no client has a window for the figure (every client is "0 and 0"), and null (not computable) when some
    client has one.
    """
    if capital > 0:
        return _DIVISION.divide(weighted, capital)
    return Decimal(0) if windows == 0 else None


def allocation_entries(items: Iterable[tuple[str, Any]]) -> list[dict[str, Any]]:
    """`[{name, value, percent}]` of one dimension: percent = 100 × value ÷ Σ values (null if Σ is 0),
    largest value first, then by name; value and percent rounded (the percent from unrounded values).
    Values may be Decimals (NUMERIC) or the numbers or strings of a jsonb list."""
    entries = sorted(((str(name), _decimal(value)) for name, value in items), key=lambda e: (-e[1], e[0]))
    total = sum((value for _, value in entries), Decimal(0))
    return [
        {
            "name": name,
            "value": round_money(value),
            "percent": round_percent(_DIVISION.divide(100 * value, total)) if total != 0 else None,
        }
        for name, value in entries
    ]


def bond_maturity_entries(items: Iterable[tuple[Any, Any]]) -> list[dict[str, Any]]:
    """`[{year, value}]`, earliest year first, `year` an integer (from a number or a text name), value rounded."""
    entries = sorted((int(year), _decimal(value)) for year, value in items)
    return [{"year": year, "value": round_money(value)} for year, value in entries]


def _jsonb_list(value: Any) -> list[Mapping[str, Any]]:
    """A jsonb list column read as text (numbers kept exact), or already decoded."""
    decoded = json.loads(value, parse_float=Decimal) if isinstance(value, str) else value
    if decoded is None:
        return []
    if not isinstance(decoded, list) or not all(isinstance(item, Mapping) for item in decoded):
        raise ValueError("expected a JSON list of objects")
    return decoded


def client_summary_payload(row: Mapping[str, Any] | Record) -> dict[str, Any]:
    """The summary of one client from its `wealth_client_days` row (percents as stored)."""
    summary: dict[str, Any] = {}
    for name in SUMMARY_FIELDS:
        source = "total_value" if name == "total_aum" else name
        value = row[source]
        summary[name] = _percent_or_none(value) if is_percent(name) else round_money(value)
    return {
        "filter_applied": row["client_id"],
        "as_of": row["as_of"],
        "client_count": 1,
        "summary": summary,
        "asset_allocation": allocation_entries(
            (item["name"], item["value"]) for item in _jsonb_list(row["asset_allocation"])
        ),
        "bank_allocation": allocation_entries(
            (item["name"], item["value"]) for item in _jsonb_list(row["custodian_allocation"])
        ),
        "bond_maturity": bond_maturity_entries(
            (item["year"], item["value"]) for item in _jsonb_list(row["bond_maturity"])
        ),
    }


def all_summary_payload(
    totals: Mapping[str, Any] | Record, allocations: Iterable[Mapping[str, Any] | Record]
) -> dict[str, Any]:
    """The summary of all clients from the date's `wealth_date_totals` row and allocation rows."""
    summary: dict[str, Any] = {
        "total_aum": round_money(totals["total_aum"]),
        "estimated_annual_income": round_money(totals["estimated_annual_income"]),
    }
    for figure in FIGURES:
        dollar, percent = RETURN_FIELDS[figure]
        summary[dollar] = round_money(totals[f"{figure}_dollar"])
        summary[percent] = _percent_or_none(
            weighted_percent(totals[f"{figure}_weighted"], totals[f"{figure}_capital"], totals[f"{figure}_windows"])
        )
    by_dimension: dict[str, list[tuple[str, Decimal]]] = {"asset_class": [], "custodian": [], "bond_year": []}
    for item in allocations:
        by_dimension.setdefault(item["dimension"], []).append((item["name"], item["value"]))
    return {
        "filter_applied": ALL_CLIENTS,
        "as_of": totals["as_of"],
        "client_count": totals["client_count"],
        "summary": {name: summary[name] for name in SUMMARY_FIELDS},
        "asset_allocation": allocation_entries(by_dimension["asset_class"]),
        "bank_allocation": allocation_entries(by_dimension["custodian"]),
        "bond_maturity": bond_maturity_entries(by_dimension["bond_year"]),
    }


def window_starts(row: Mapping[str, Any] | Record) -> dict[str, dt.date | None]:
    """One client's window start dates on its row's date, by return window (None: "0 and 0")."""
    return {figure: row[column] for figure, column in WINDOW_STARTS.items()}


def history_payload(row: Mapping[str, Any] | Record) -> dict[str, Any]:
    return {
        "date": row["as_of"],
        "total_value": round_money(row["total_value"]),
        "net_external_flows": round_money(row["net_external_flows"]),
        "period_return_dollar": round_money(row["period_return_dollar"]),
        "period_return_percent": _percent_or_none(row["period_return_percent"]),
        "inception_return_pct": _percent_or_none(row["inception_return_pct"]),
        "revision": row["revision"],
    }
