"""What one client's returns on a date add to that date's all-clients figures (CONTRACT §3), pure.

Sums for AUM, income and every dollar figure; for every percent, Σ cᵢ·rᵢ and Σ cᵢ over clients whose
average capital cᵢ > 0 and whose rᵢ is not null (asset-weighted by average capital), and how many clients
have a window at all. A restated client is applied as its new contribution minus its old one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

ZERO = Decimal(0)
FIGURES = {  # figure: (start date, dollar, percent, average capital) fields of returns.computed
    "period": ("period_start_date", "period_return_dollar", "period_return_percent", "period_average_capital"),
    "monthly": ("month_start_date", "monthly_return_dollar", "monthly_return_percent", "monthly_average_capital"),
    "ytd": ("ytd_start_date", "ytd_return_dollar", "ytd_return_percent", "ytd_average_capital"),
    "inception": (
        "inception_date",
        "inception_dollar_performance",
        "inception_return_pct",
        "inception_average_capital",
    ),
}
TOTAL_COLUMNS = (
    "client_count", "total_aum", "estimated_annual_income", "net_external_flows",
    *(f"{f}_{part}" for f in FIGURES for part in ("dollar", "weighted", "capital", "windows")),
)  # fmt: skip


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def contribution(row: Mapping[str, Any] | None) -> dict[str, Any]:
    """A client-day's additive contribution to its date's totals (all zero for no row)."""
    out: dict[str, Any] = dict.fromkeys(TOTAL_COLUMNS, ZERO)
    for f in FIGURES:
        out[f"{f}_windows"] = 0
    out["client_count"] = 0
    if row is None:
        return out
    out["client_count"] = 1
    out["total_aum"] = _dec(row["total_value"])
    out["estimated_annual_income"] = _dec(row["estimated_annual_income"])
    out["net_external_flows"] = _dec(row["net_external_flows"])
    for f, (start, dollar, percent, capital) in FIGURES.items():
        out[f"{f}_dollar"] = _dec(row[dollar])
        c, r = _dec(row[capital]), _dec(row[percent])
        if c is not None and c > 0 and r is not None:
            out[f"{f}_weighted"] = c * r
            out[f"{f}_capital"] = c
        out[f"{f}_windows"] = 1 if row[start] is not None else 0
    return out


def difference(new: Mapping[str, Any] | None, old: Mapping[str, Any] | None) -> dict[str, Any]:
    a, b = contribution(new), contribution(old)
    return {k: a[k] - b[k] for k in TOTAL_COLUMNS}


def allocation_difference(
    new: Mapping[str, Any] | None, old: Mapping[str, Any] | None
) -> dict[tuple[str, str], Decimal]:
    """(dimension, name) → change of summed value, over asset classes, custodians and bond years."""
    delta: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for sign, row in ((1, new), (-1, old)):
        if row is None:
            continue
        for dimension, field, key in (
            ("asset_class", "asset_allocation", "name"),
            ("custodian", "custodian_allocation", "name"),
            ("bond_year", "bond_maturity", "year"),
        ):
            for item in row[field]:
                delta[(dimension, str(item[key]))] += sign * Decimal(str(item["value"]))
    return {k: v for k, v in delta.items() if v != 0}
