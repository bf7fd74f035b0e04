"""The loan portfolio metrics of CONTRACT §2 as pure functions of additive numerators.

An officer's snapshot and a branch's or the whole portfolio's figures are computed by the same function:
the numerators below are sums over loans, clients and days, so a branch's are the sums of its officers'
(never an average of their ratios). Everything is Decimal; nothing is rounded here (the gateway rounds
for display, and `health_category` comes from the unrounded score).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields, replace
from decimal import Decimal
from typing import Literal

ZERO = Decimal(0)
HUNDRED = Decimal(100)
WINDOW_DAYS = 365  # W spans at most D − 364 .. D
HealthCategory = Literal["critical", "warning", "good", "excellent"]


@dataclass(frozen=True, slots=True)
class LoanNumerators:
    """What a portfolio's metrics on day D are computed from; every field is a sum over the portfolio."""

    total_clients: int = 0
    active_clients: int = 0
    total_loans: int = 0
    active_loans: int = 0
    total_disbursed: Decimal = ZERO
    total_outstanding: Decimal = ZERO  # GLP on D
    total_collected: Decimal = ZERO
    par30_balance: Decimal = ZERO  # Σ outstanding of active loans with days_past_due > 30
    par60_balance: Decimal = ZERO
    par90_balance: Decimal = ZERO
    due_30d: Decimal = ZERO  # Σ amount of installments due in (D − 30, D], still due
    covered_30d: Decimal = ZERO  # Σ covered part of those, by payments up to D
    new_clients_30d: int = 0
    exited_clients_30d: int = 0
    glp_30d_ago: Decimal = ZERO  # GLP on D − 30
    glp_sum_window: Decimal = ZERO  # Σ end-of-day GLP over W
    written_off_window: Decimal = ZERO  # principal written off on days in W
    interest_fees_window: Decimal = ZERO  # interest + fees received on days in W
    window_days: int = 0  # days in W; 0 if the portfolio never had GLP > 0

    def __add__(self, other: LoanNumerators) -> LoanNumerators:
        """Sum of two portfolios' numerators on the same day D, except `window_days`, which depends on the
        combined portfolio's first day with GLP > 0: GLPs are ≥ 0, so that day is the earliest of the two
        portfolios' first days, and its W is the longer of their two windows (never their sum)."""
        summed = LoanNumerators(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})
        return replace(summed, window_days=max(self.window_days, other.window_days))


@dataclass(frozen=True, slots=True)
class LoanMetrics:
    total_clients: int
    active_clients: int
    total_loans: int
    active_loans: int
    total_disbursed: Decimal
    total_outstanding: Decimal
    total_collected: Decimal
    par_30: Decimal
    par_60: Decimal
    par_90: Decimal
    default_rate: Decimal
    collection_rate: Decimal
    portfolio_yield: Decimal
    growth_rate: Decimal
    new_clients_30d: int
    exited_clients_30d: int
    health_score: Decimal
    health_category: HealthCategory


def window_days(day: dt.date, first_positive_glp_on: dt.date | None) -> int:
    """Days in W = max(D − 364, first day with GLP > 0) .. D; 0 if GLP was never > 0."""
    if first_positive_glp_on is None or first_positive_glp_on > day:
        return 0
    start = max(day - dt.timedelta(days=WINDOW_DAYS - 1), first_positive_glp_on)
    return (day - start).days + 1


def window_start(day: dt.date, first_positive_glp_on: dt.date | None) -> dt.date | None:
    if first_positive_glp_on is None or first_positive_glp_on > day:
        return None
    return max(day - dt.timedelta(days=WINDOW_DAYS - 1), first_positive_glp_on)


def clamp(value: Decimal, low: Decimal = ZERO, high: Decimal = HUNDRED) -> Decimal:
    return min(max(value, low), high)


def percent(numerator: Decimal, denominator: Decimal, *, if_zero: Decimal = ZERO) -> Decimal:
    return HUNDRED * numerator / denominator if denominator != 0 else if_zero


def health_score(collection_rate: Decimal, default_rate: Decimal, growth_rate: Decimal, yield_: Decimal) -> Decimal:
    return clamp(
        Decimal("0.4") * clamp(collection_rate)
        + Decimal("0.3") * clamp(HUNDRED - 10 * default_rate)
        + Decimal("0.2") * clamp(growth_rate + 50)
        + Decimal("0.1") * clamp(5 * yield_)
    )


def health_category(score: Decimal) -> HealthCategory:
    if score < 50:
        return "critical"
    if score < 70:
        return "warning"
    if score < 80:
        return "good"
    return "excellent"


def compute(n: LoanNumerators) -> LoanMetrics:
    glp = n.total_outstanding
    average_glp = n.glp_sum_window / n.window_days if n.window_days else ZERO
    default_rate = percent(n.written_off_window, average_glp)
    portfolio_yield = (
        percent(n.interest_fees_window, average_glp) * WINDOW_DAYS / n.window_days if average_glp else ZERO
    )
    growth_rate = percent(glp - n.glp_30d_ago, n.glp_30d_ago)
    collection_rate = percent(n.covered_30d, n.due_30d, if_zero=HUNDRED)
    score = health_score(collection_rate, default_rate, growth_rate, portfolio_yield)
    return LoanMetrics(
        total_clients=n.total_clients,
        active_clients=n.active_clients,
        total_loans=n.total_loans,
        active_loans=n.active_loans,
        total_disbursed=n.total_disbursed,
        total_outstanding=glp,
        total_collected=n.total_collected,
        par_30=percent(n.par30_balance, glp),
        par_60=percent(n.par60_balance, glp),
        par_90=percent(n.par90_balance, glp),
        default_rate=default_rate,
        collection_rate=collection_rate,
        portfolio_yield=portfolio_yield,
        growth_rate=growth_rate,
        new_clients_30d=n.new_clients_30d,
        exited_clients_30d=n.exited_clients_30d,
        health_score=score,
        health_category=health_category(score),
    )
