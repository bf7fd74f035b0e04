"""`data` of the `returns` topic, written by the returns service."""

from __future__ import annotations

from pydantic import Field

from shared.events.snapshots import Allocation, BondMaturity
from shared.events.types import BusinessDate, EventData, Exact, Identifier


class ReturnsComputed(EventData):
    """A client's returns on a snapshot date (or their restatement), with what the aggregate needs: each
    window's start date, gain, percent (null when not computable) and Modified Dietz average capital (null
    where there is no window), and the snapshot's value, income and allocations."""

    client_id: Identifier
    as_of: BusinessDate
    revision: int = Field(ge=1)
    total_value: Exact
    estimated_annual_income: Exact
    net_external_flows: Exact
    asset_allocation: tuple[Allocation, ...]
    custodian_allocation: tuple[Allocation, ...]
    bond_maturity: tuple[BondMaturity, ...]
    period_start_date: BusinessDate | None
    period_return_dollar: Exact
    period_return_percent: Exact | None
    period_average_capital: Exact | None
    month_start_date: BusinessDate | None
    monthly_return_dollar: Exact
    monthly_return_percent: Exact | None
    monthly_average_capital: Exact | None
    ytd_start_date: BusinessDate | None
    ytd_return_dollar: Exact
    ytd_return_percent: Exact | None
    ytd_average_capital: Exact | None
    inception_date: BusinessDate | None
    inception_dollar_performance: Exact
    inception_return_pct: Exact | None
    inception_average_capital: Exact | None
