"""A client's snapshot from a complete valuation (CONTRACT §3), pure: AUM, estimated income, allocations
by asset class and by custodian, and bond maturities (positions with a maturity date) by year."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from shared.events.wealth import Position

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Summary:
    total_value: Decimal
    estimated_annual_income: Decimal
    asset_allocation: list[dict[str, str]]  # [{"name", "value"}], values as decimal strings
    custodian_allocation: list[dict[str, str]]
    bond_maturity: list[dict[str, object]]  # [{"year", "value"}]


def summarize(positions: Iterable[Position]) -> Summary:
    total = income = ZERO
    by_class: dict[str, Decimal] = defaultdict(Decimal)
    by_custodian: dict[str, Decimal] = defaultdict(Decimal)
    by_year: dict[int, Decimal] = defaultdict(Decimal)
    for p in positions:
        total += p.market_value
        income += p.est_annual_income or ZERO
        by_class[p.asset_class] += p.market_value
        by_custodian[p.custodian] += p.market_value
        if p.maturity_date is not None:
            by_year[p.maturity_date.year] += p.market_value
    return Summary(
        total_value=total,
        estimated_annual_income=income,
        asset_allocation=_named(by_class),
        custodian_allocation=_named(by_custodian),
        bond_maturity=[{"year": year, "value": str(by_year[year])} for year in sorted(by_year)],
    )


def _named(values: dict[str, Decimal]) -> list[dict[str, str]]:
    return [{"name": name, "value": str(values[name])} for name in sorted(values)]
