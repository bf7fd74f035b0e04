"""`data` of the `snapshots` topic, written by the snapshotter."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from shared.domain.loan_metrics import LoanMetrics, LoanNumerators
from shared.events.types import BusinessDate, EventData, Exact, Identifier, Model, Name


class LoanSnapshotNumerators(Model):
    """The additive numerators of CONTRACT §2 for one officer on one day, plus what a branch or the whole
    portfolio needs to rebuild its own 365-day window exactly from its officers' rows."""

    total_clients: int = Field(ge=0)
    active_clients: int = Field(ge=0)
    total_loans: int = Field(ge=0)
    active_loans: int = Field(ge=0)
    total_disbursed: Exact
    total_outstanding: Exact
    total_collected: Exact
    par30_balance: Exact
    par60_balance: Exact
    par90_balance: Exact
    due_30d: Exact
    covered_30d: Exact
    new_clients_30d: int = Field(ge=0)
    exited_clients_30d: int = Field(ge=0)
    glp_30d_ago: Exact
    glp_sum_window: Exact
    written_off_window: Exact
    interest_fees_window: Exact
    window_days: int = Field(ge=0)
    first_positive_glp_on: BusinessDate | None
    # Cumulative to date, so a window of any start is `cum(D) − cum(start − 1)`.
    cum_written_off: Exact
    cum_interest_fees: Exact

    def loan_numerators(self) -> LoanNumerators:
        return LoanNumerators(**{name: getattr(self, name) for name in LoanNumerators.__dataclass_fields__})


class LoanSnapshotMetrics(Model):
    total_clients: int
    active_clients: int
    total_loans: int
    active_loans: int
    total_disbursed: Exact
    total_outstanding: Exact
    total_collected: Exact
    par_30: Exact
    par_60: Exact
    par_90: Exact
    default_rate: Exact
    collection_rate: Exact
    portfolio_yield: Exact
    growth_rate: Exact
    new_clients_30d: int
    exited_clients_30d: int
    health_score: Exact
    health_category: Literal["critical", "warning", "good", "excellent"]

    @classmethod
    def of(cls, metrics: LoanMetrics) -> LoanSnapshotMetrics:
        return cls(**{name: getattr(metrics, name) for name in LoanMetrics.__dataclass_fields__})


class LoanSnapshotCreated(EventData):
    """An officer's end-of-day snapshot, or its restatement (`revision` > 1).

    `has_clients` is false on days the officer owns no registered client who has not exited: such a row is
    no snapshot of the contract's, but its flows still count in the branch's and the portfolio's figures."""

    officer_id: Identifier
    officer_name: Name | None = None
    branch_id: Identifier | None = None
    business_date: BusinessDate
    revision: int = Field(ge=1)
    has_clients: bool
    # How many officer rows the day has: branch and all-portfolio figures are complete only with all of them.
    officers_on_day: int = Field(ge=1)
    numerators: LoanSnapshotNumerators
    metrics: LoanSnapshotMetrics
    computed_at: dt.datetime


class Allocation(Model):
    name: Name
    value: Exact


class BondMaturity(Model):
    year: int = Field(ge=1900, le=2200)
    value: Exact


class ExternalFlow(Model):
    flow_id: Identifier
    flow_date: BusinessDate
    amount: Exact


class WealthSnapshotCreated(EventData):
    """A client's valuation on `as_of` (or its restatement), with its period's external flows: the
    contributions and withdrawals dated in (previous_as_of, as_of]. A late flow or valuation restates the
    snapshot whose period it changes (`revision` + 1)."""

    client_id: Identifier
    as_of: BusinessDate
    revision: int = Field(ge=1)
    previous_as_of: BusinessDate | None
    total_value: Exact
    estimated_annual_income: Exact
    asset_allocation: tuple[Allocation, ...]
    custodian_allocation: tuple[Allocation, ...]
    bond_maturity: tuple[BondMaturity, ...]
    external_flows: tuple[ExternalFlow, ...]
    net_external_flows: Exact
