"""shared.domain.loan_metrics: the portfolio metrics of CONTRACT §2, "Metrics of a portfolio on day D".

Every expected number below is worked out by hand from the contract's definitions, with the arithmetic in
the comments; none is copied from the code under test.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import fields, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from shared.domain.loan_metrics import (
    LoanMetrics,
    LoanNumerators,
    clamp,
    compute,
    health_category,
    health_score,
    window_days,
    window_start,
)

pytestmark = pytest.mark.unit

D = Decimal


def q(value: Decimal, places: str) -> Decimal:
    """Round half-up, as the gateway does for display (CONTRACT §4)."""
    return value.quantize(D(places), rounding=ROUND_HALF_UP)


def metrics(**numerators: Any) -> LoanMetrics:
    return compute(LoanNumerators(**numerators))


# ---------------------------------------------------------------------------------------------------------
# 1. PAR: the published Sa-Dhan table (Tracking Financial Performance Standards)
# ---------------------------------------------------------------------------------------------------------

# Outstanding on D by days past due bucket.
CURRENT = D(128_000)
DPD_1_30 = D(17_500)
DPD_31_60 = D(10_000)
DPD_61_90 = D(5_000)
DPD_91_180 = D(3_500)
DPD_181_365 = D(2_500)
DPD_OVER_365 = D(1_500)
# GLP = 128,000 + 17,500 + 10,000 + 5,000 + 3,500 + 2,500 + 1,500 = 168,000
SA_DHAN_GLP = D(168_000)
# days_past_due > 30: every bucket from 31–60 on: 10,000 + 5,000 + 3,500 + 2,500 + 1,500 = 22,500
SA_DHAN_PAR30 = D(22_500)
# days_past_due > 60: 5,000 + 3,500 + 2,500 + 1,500 = 12,500
SA_DHAN_PAR60 = D(12_500)
# days_past_due > 90: 3,500 + 2,500 + 1,500 = 7,500
SA_DHAN_PAR90 = D(7_500)


def sa_dhan() -> LoanMetrics:
    return metrics(
        total_outstanding=SA_DHAN_GLP,
        par30_balance=SA_DHAN_PAR30,
        par60_balance=SA_DHAN_PAR60,
        par90_balance=SA_DHAN_PAR90,
    )


def test_sa_dhan_buckets_add_up_to_the_published_totals() -> None:
    assert CURRENT + DPD_1_30 + DPD_31_60 + DPD_61_90 + DPD_91_180 + DPD_181_365 + DPD_OVER_365 == SA_DHAN_GLP
    assert DPD_31_60 + DPD_61_90 + DPD_91_180 + DPD_181_365 + DPD_OVER_365 == SA_DHAN_PAR30
    assert DPD_61_90 + DPD_91_180 + DPD_181_365 + DPD_OVER_365 == SA_DHAN_PAR60
    assert DPD_91_180 + DPD_181_365 + DPD_OVER_365 == SA_DHAN_PAR90


def test_par30_of_the_sa_dhan_table() -> None:
    par_30 = sa_dhan().par_30
    # 100 × 22,500 / 168,000 = 2,250,000 / 168,000 = 2,250 / 168 = 375 / 28 = 13.392857142857…
    assert par_30 == D(375) / D(28)
    assert q(par_30, "0.001") == D("13.393")  # 13.392|857… → the 4th decimal is 8: up
    assert q(par_30, "0.0001") == D("13.3929")  # 13.3928|57… → the 5th decimal is 5(7…): up


def test_par60_of_the_sa_dhan_table() -> None:
    par_60 = sa_dhan().par_60
    # 100 × 12,500 / 168,000 = 1,250 / 168 = 625 / 84 = 7.44047619…
    assert par_60 == D(625) / D(84)
    assert q(par_60, "0.001") == D("7.440")  # 7.440|476… → down
    assert q(par_60, "0.0001") == D("7.4405")  # 7.4404|76… → up


def test_par90_of_the_sa_dhan_table() -> None:
    par_90 = sa_dhan().par_90
    # 100 × 7,500 / 168,000 = 750 / 168 = 125 / 28 = 4.4642857…
    assert par_90 == D(125) / D(28)
    assert q(par_90, "0.001") == D("4.464")  # 4.464|285… → down
    assert q(par_90, "0.0001") == D("4.4643")  # 4.4642|857… → up


def test_the_sa_dhan_portfolio_passes_its_glp_through_as_total_outstanding() -> None:
    assert sa_dhan().total_outstanding == D(168_000)


# ---------------------------------------------------------------------------------------------------------
# 2. The health score
# ---------------------------------------------------------------------------------------------------------


def test_health_score_of_the_worked_example() -> None:
    # 0.4 × 90 + 0.3 × clamp(100 − 10 × 2) + 0.2 × clamp(5 + 50) + 0.1 × clamp(5 × 25)
    # = 0.4 × 90 + 0.3 × 80 + 0.2 × 55 + 0.1 × min(125, 100)
    # = 36 + 24 + 11 + 10 = 81
    score = health_score(D(90), D(2), D(5), D(25))
    assert score == D(81)
    assert q(score, "0.01") == D("81.00")
    assert health_category(score) == "excellent"


def test_the_worked_example_through_compute_from_numerators() -> None:
    m = metrics(
        # collection: 100 × 900 / 1,000 = 90
        due_30d=D(1_000),
        covered_30d=D(900),
        # W = 365 days, Σ GLP = 3,650,000 → average GLP = 3,650,000 / 365 = 10,000
        window_days=365,
        glp_sum_window=D(3_650_000),
        # default: 100 × 200 / 10,000 = 2
        written_off_window=D(200),
        # yield: 100 × 2,500 / 10,000 × 365 / 365 = 25
        interest_fees_window=D(2_500),
        # growth: 100 × (10,500 − 10,000) / 10,000 = 5
        total_outstanding=D(10_500),
        glp_30d_ago=D(10_000),
    )
    assert m.collection_rate == D(90)
    assert m.default_rate == D(2)
    assert m.portfolio_yield == D(25)
    assert m.growth_rate == D(5)
    assert m.health_score == D(81)  # 36 + 24 + 11 + 10, as above
    assert m.health_category == "excellent"


# ---------------------------------------------------------------------------------------------------------
# 3. health_category boundaries, and the clamping of each component
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "category"),
    [
        ("0", "critical"),
        ("49.99", "critical"),
        ("49.9999999", "critical"),
        ("50", "warning"),
        ("50.00", "warning"),
        ("69.99", "warning"),
        ("70", "good"),
        ("79.99", "good"),
        # Displayed as 80.00 (half-up to 2 places) but the category comes from the unrounded score.
        ("79.995", "good"),
        ("80", "excellent"),
        ("100", "excellent"),
    ],
)
def test_health_category_boundaries(score: str, category: str) -> None:
    assert health_category(D(score)) == category


def test_a_score_displayed_as_80_can_still_be_good() -> None:
    score = D("79.995")
    assert q(score, "0.01") == D("80.00")
    assert health_category(score) == "good"


# Base case: collection 50, default 5, growth 0, yield 10
#   0.4 × 50 + 0.3 × (100 − 50) + 0.2 × (0 + 50) + 0.1 × (5 × 10) = 20 + 15 + 10 + 5 = 50
BASE = {"collection": "50", "default": "5", "growth": "0", "yield_": "10"}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({}, "50"),  # 20 + 15 + 10 + 5
        # collection: 0.4 × clamp(c)
        ({"collection": "100"}, "70"),  # 40 + 15 + 10 + 5
        ({"collection": "130"}, "70"),  # impossible, but clamp(130) = 100 → 40 + 15 + 10 + 5
        ({"collection": "0"}, "30"),  # 0 + 15 + 10 + 5
        # default: 0.3 × clamp(100 − 10 × d)
        ({"default": "0"}, "65"),  # 20 + 0.3 × 100 = 30 + 10 + 5
        ({"default": "10"}, "35"),  # 100 − 100 = 0 → 20 + 0 + 10 + 5
        ({"default": "12"}, "35"),  # 100 − 120 = −20 → clamp 0 → 20 + 0 + 10 + 5
        # growth: 0.2 × clamp(g + 50)
        ({"growth": "-50"}, "40"),  # −50 + 50 = 0 → 20 + 15 + 0 + 5
        ({"growth": "-60"}, "40"),  # −60 + 50 = −10 → clamp 0 → 20 + 15 + 0 + 5
        ({"growth": "50"}, "60"),  # 50 + 50 = 100 → 20 + 15 + 20 + 5
        ({"growth": "80"}, "60"),  # 80 + 50 = 130 → clamp 100 → 20 + 15 + 20 + 5
        # yield: 0.1 × clamp(5 × y)
        ({"yield_": "0"}, "45"),  # 20 + 15 + 10 + 0
        ({"yield_": "20"}, "55"),  # 5 × 20 = 100 → 20 + 15 + 10 + 10
        ({"yield_": "30"}, "55"),  # 5 × 30 = 150 → clamp 100 → 20 + 15 + 10 + 10
    ],
)
def test_each_health_component_is_clamped(change: dict[str, str], expected: str) -> None:
    args = {name: D(value) for name, value in (BASE | change).items()}
    assert health_score(args["collection"], args["default"], args["growth"], args["yield_"]) == D(expected)


def test_health_score_is_at_most_100_and_at_least_0() -> None:
    # Every component at or past its top: 0.4 × 100 + 0.3 × 100 + 0.2 × 100 + 0.1 × 100 = 100
    assert health_score(D(120), D(0), D(80), D(30)) == D(100)
    # Every component at or past its bottom: 0 + 0.3 × clamp(−20) + 0.2 × clamp(−10) + 0 = 0
    assert health_score(D(0), D(12), D(-60), D(0)) == D(0)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("-0.01", "0"), ("0", "0"), ("42.5", "42.5"), ("100", "100"), ("100.01", "100"), ("1000", "100")],
)
def test_clamp_to_0_100(value: str, expected: str) -> None:
    assert clamp(D(value)) == D(expected)


def test_clamp_with_other_bounds() -> None:
    assert clamp(D(5), D(10), D(20)) == D(10)
    assert clamp(D(25), D(10), D(20)) == D(20)
    assert clamp(D(15), D(10), D(20)) == D(15)


# ---------------------------------------------------------------------------------------------------------
# 4. default_rate and portfolio_yield from the window's numerators
# ---------------------------------------------------------------------------------------------------------


def test_default_rate_and_yield_over_a_full_year() -> None:
    m = metrics(
        window_days=365,
        glp_sum_window=D(3_650_000),  # average GLP = 3,650,000 / 365 = 10,000
        written_off_window=D(500),
        interest_fees_window=D(2_500),
    )
    assert m.default_rate == D(5)  # 100 × 500 / 10,000 = 5
    assert m.portfolio_yield == D(25)  # 100 × 2,500 / 10,000 × 365 / 365 = 25


def test_yield_of_a_portfolio_younger_than_a_year_is_annualised() -> None:
    m = metrics(
        window_days=100,
        glp_sum_window=D(1_000_000),  # average GLP = 1,000,000 / 100 = 10,000
        interest_fees_window=D(1_000),
        written_off_window=D(300),
    )
    # 100 × 1,000 / 10,000 × 365 / 100 = 10 × 3.65 = 36.5
    assert m.portfolio_yield == D("36.5")
    # The contract does not annualise the default rate: 100 × 300 / 10,000 = 3
    assert m.default_rate == D(3)


def test_average_glp_is_the_mean_over_the_days_of_the_window() -> None:
    # A 3-day window with end-of-day GLP 1,000, 2,000, 3,000: Σ = 6,000, average = 2,000
    m = metrics(window_days=3, glp_sum_window=D(6_000), written_off_window=D(100), interest_fees_window=D(10))
    assert m.default_rate == D(5)  # 100 × 100 / 2,000 = 5
    # 100 × 10 / 2,000 × 365 / 3 = 0.5 × 365 / 3 = 182.5 / 3 = 60.8333…
    assert m.portfolio_yield == D("182.5") / D(3)
    assert q(m.portfolio_yield, "0.0001") == D("60.8333")


def test_a_portfolio_that_never_had_glp_has_no_default_and_no_yield() -> None:
    m = metrics(window_days=0, glp_sum_window=D(0), written_off_window=D(0), interest_fees_window=D(0))
    assert m.default_rate == D(0)
    assert m.portfolio_yield == D(0)
    # 0.4 × 100 (nothing due) + 0.3 × (100 − 0) + 0.2 × (0 + 50) + 0.1 × (5 × 0) = 40 + 30 + 10 + 0 = 80
    assert m.health_score == D(80)
    assert m.health_category == "excellent"


def test_a_window_with_zero_average_glp_gives_zero_yield_and_zero_default() -> None:
    # GLP was > 0 more than a year ago, so W is the full 365 days, but GLP was 0 on every day of it.
    m = metrics(window_days=365, glp_sum_window=D(0))
    assert m.default_rate == D(0)
    assert m.portfolio_yield == D(0)


# ---------------------------------------------------------------------------------------------------------
# 5. The window W: max(D − 364, first day with GLP > 0) .. D
# ---------------------------------------------------------------------------------------------------------

DEC_31_2025 = dt.date(2025, 12, 31)


def test_a_full_year_window() -> None:
    # 2025 has 365 days: D − 364 = day 365 − 364 = day 1 = 2025-01-01
    assert window_start(DEC_31_2025, dt.date(2025, 1, 1)) == dt.date(2025, 1, 1)
    assert window_days(DEC_31_2025, dt.date(2025, 1, 1)) == 365


def test_a_window_is_cut_at_d_minus_364() -> None:
    # First GLP > 0 long before: W still starts at D − 364 = 2025-01-01
    assert window_start(DEC_31_2025, dt.date(2020, 3, 15)) == dt.date(2025, 1, 1)
    assert window_days(DEC_31_2025, dt.date(2020, 3, 15)) == 365
    # The day before D − 364
    assert window_start(DEC_31_2025, dt.date(2024, 12, 31)) == dt.date(2025, 1, 1)
    assert window_days(DEC_31_2025, dt.date(2024, 12, 31)) == 365


def test_a_young_portfolio_window_starts_at_its_first_day_with_glp() -> None:
    # June 30 + July 31 + Aug 31 + Sep 30 + Oct 31 + Nov 30 + Dec 31 = 214
    assert window_start(DEC_31_2025, dt.date(2025, 6, 1)) == dt.date(2025, 6, 1)
    assert window_days(DEC_31_2025, dt.date(2025, 6, 1)) == 214
    # Oct 20..31 = 12, Nov 30, Dec 31: 12 + 30 + 31 = 73
    assert window_days(DEC_31_2025, dt.date(2025, 10, 20)) == 73


def test_a_portfolio_whose_first_glp_is_on_d_has_a_one_day_window() -> None:
    assert window_start(DEC_31_2025, DEC_31_2025) == DEC_31_2025
    assert window_days(DEC_31_2025, DEC_31_2025) == 1


@pytest.mark.parametrize("first", [None, dt.date(2026, 1, 1), dt.date(2027, 6, 1)])
def test_no_window_if_glp_was_never_positive_by_d(first: dt.date | None) -> None:
    assert window_days(DEC_31_2025, first) == 0
    assert window_start(DEC_31_2025, first) is None


def test_a_leap_year_window() -> None:
    dec_31_2024 = dt.date(2024, 12, 31)
    # 2024 has 366 days: D is day 366, D − 364 = day 2 = 2024-01-02 (2024-01-01 is D − 365, outside W)
    assert window_start(dec_31_2024, dt.date(2023, 1, 1)) == dt.date(2024, 1, 2)
    assert window_start(dec_31_2024, dt.date(2024, 1, 1)) == dt.date(2024, 1, 2)
    assert window_days(dec_31_2024, dt.date(2024, 1, 1)) == 365
    # From 2024-03-01: Mar 31 + Apr 30 + May 31 + Jun 30 + Jul 31 + Aug 31 + Sep 30 + Oct 31 + Nov 30
    # + Dec 31 = 306 (= 366 − Jan 31 − Feb 29)
    assert window_days(dec_31_2024, dt.date(2024, 3, 1)) == 306


def test_a_window_ending_on_a_leap_day() -> None:
    feb_29_2024 = dt.date(2024, 2, 29)
    # D is day 31 + 29 = 60 of 2024; D − 364 = day 60 − 364 = −304 of 2024 = day 365 − 304 = 61 of 2023
    # (a 365-day year); day 61 of 2023 = Jan 31 + Feb 28 + 2 = 2023-03-02
    assert window_start(feb_29_2024, dt.date(2022, 1, 1)) == dt.date(2023, 3, 2)
    assert window_days(feb_29_2024, dt.date(2022, 1, 1)) == 365


# ---------------------------------------------------------------------------------------------------------
# 6. growth_rate
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("glp", "glp_30d_ago", "expected"),
    [
        ("110000", "100000", "10"),  # 100 × (110,000 − 100,000) / 100,000 = 10
        ("80", "100", "-20"),  # 100 × (80 − 100) / 100 = −20
        ("0", "100", "-100"),  # 100 × (0 − 100) / 100 = −100
        ("100", "100", "0"),  # no change
        ("50000", "0", "0"),  # GLP 30 days ago is 0: 0 by definition
        ("0", "0", "0"),
    ],
)
def test_growth_rate(glp: str, glp_30d_ago: str, expected: str) -> None:
    assert metrics(total_outstanding=D(glp), glp_30d_ago=D(glp_30d_ago)).growth_rate == D(expected)


# ---------------------------------------------------------------------------------------------------------
# 7. collection_rate
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("due", "covered", "expected"),
    [
        ("0", "0", "100"),  # nothing fell due in (D − 30, D]: 100
        ("1000", "900", "90"),  # 100 × 900 / 1,000 = 90
        ("1000", "1000", "100"),
        ("1000", "0", "0"),
        ("300", "100", None),  # 100 × 100 / 300 = 33.333…
    ],
)
def test_collection_rate(due: str, covered: str, expected: str | None) -> None:
    rate = metrics(due_30d=D(due), covered_30d=D(covered)).collection_rate
    if expected is None:
        assert rate == D(100) / D(3)
        assert q(rate, "0.0001") == D("33.3333")
    else:
        assert rate == D(expected)


# ---------------------------------------------------------------------------------------------------------
# 8. PAR when GLP is 0
# ---------------------------------------------------------------------------------------------------------


def test_par_of_an_empty_portfolio_is_zero() -> None:
    m = metrics(total_outstanding=D(0))
    assert (m.par_30, m.par_60, m.par_90) == (D(0), D(0), D(0))


def test_an_empty_portfolio_has_the_neutral_metrics() -> None:
    m = compute(LoanNumerators())
    assert m.default_rate == D(0)
    assert m.portfolio_yield == D(0)
    assert m.growth_rate == D(0)
    assert m.collection_rate == D(100)
    # 0.4 × 100 + 0.3 × (100 − 0) + 0.2 × (0 + 50) + 0.1 × (5 × 0) = 40 + 30 + 10 + 0 = 80
    assert m.health_score == D(80)
    assert m.health_category == "excellent"


def test_counts_and_flows_pass_through() -> None:
    m = metrics(
        total_clients=7,
        active_clients=5,
        total_loans=9,
        active_loans=6,
        total_disbursed=D("12345.6789"),
        total_outstanding=D("4000.5"),
        total_collected=D("9000.0001"),
        new_clients_30d=2,
        exited_clients_30d=1,
    )
    assert (m.total_clients, m.active_clients, m.total_loans, m.active_loans) == (7, 5, 9, 6)
    assert m.total_disbursed == D("12345.6789")
    assert m.total_outstanding == D("4000.5")
    assert m.total_collected == D("9000.0001")
    assert (m.new_clients_30d, m.exited_clients_30d) == (2, 1)


# ---------------------------------------------------------------------------------------------------------
# 9. A branch is computed from its officers' summed numerators, never by averaging their ratios
# ---------------------------------------------------------------------------------------------------------

# Officer A, D = 2025-12-31, first GLP > 0 on 2025-01-01: W = 365 days
OFFICER_A = LoanNumerators(
    total_clients=3,
    active_clients=2,
    total_loans=4,
    active_loans=2,
    total_disbursed=D("5000.25"),
    total_outstanding=D(1_000),
    total_collected=D("4100.5"),
    par30_balance=D(500),
    par60_balance=D(300),
    par90_balance=D(100),
    due_30d=D(200),
    covered_30d=D(150),
    new_clients_30d=1,
    exited_clients_30d=0,
    glp_30d_ago=D(800),
    glp_sum_window=D(365_000),  # average 365,000 / 365 = 1,000
    written_off_window=D(100),
    interest_fees_window=D(150),
    window_days=365,
)
# Officer B, first GLP > 0 on 2025-10-20: W = 73 days (12 + 30 + 31)
OFFICER_B = LoanNumerators(
    total_clients=10,
    active_clients=9,
    total_loans=11,
    active_loans=9,
    total_disbursed=D(9_500),
    total_outstanding=D(9_000),
    total_collected=D("700.0001"),
    par30_balance=D(0),
    par60_balance=D(0),
    par90_balance=D(0),
    due_30d=D(800),
    covered_30d=D(800),
    new_clients_30d=9,
    exited_clients_30d=2,
    glp_30d_ago=D(9_200),
    glp_sum_window=D(365_000),  # 73 days, average 365,000 / 73 = 5,000
    written_off_window=D(20),
    interest_fees_window=D(50),
    window_days=73,
)


def test_adding_numerators_sums_every_additive_field() -> None:
    branch = OFFICER_A + OFFICER_B
    assert branch.total_clients == 13  # 3 + 10
    assert branch.active_clients == 11  # 2 + 9
    assert branch.total_loans == 15  # 4 + 11
    assert branch.active_loans == 11  # 2 + 9
    assert branch.total_disbursed == D("14500.25")  # 5,000.25 + 9,500
    assert branch.total_outstanding == D(10_000)  # 1,000 + 9,000
    assert branch.total_collected == D("4800.5001")  # 4,100.5 + 700.0001
    assert branch.par30_balance == D(500)  # 500 + 0
    assert branch.par60_balance == D(300)
    assert branch.par90_balance == D(100)
    assert branch.due_30d == D(1_000)  # 200 + 800
    assert branch.covered_30d == D(950)  # 150 + 800
    assert branch.new_clients_30d == 10  # 1 + 9
    assert branch.exited_clients_30d == 2  # 0 + 2
    assert branch.glp_30d_ago == D(10_000)  # 800 + 9,200
    assert branch.glp_sum_window == D(730_000)  # 365,000 + 365,000
    assert branch.written_off_window == D(120)  # 100 + 20
    assert branch.interest_fees_window == D(200)  # 150 + 50


def test_every_field_but_window_days_is_checked_above() -> None:
    # Guards the test above against a field added later and forgotten here.
    checked = {
        "total_clients", "active_clients", "total_loans", "active_loans", "total_disbursed",
        "total_outstanding", "total_collected", "par30_balance", "par60_balance", "par90_balance", "due_30d",
        "covered_30d", "new_clients_30d", "exited_clients_30d", "glp_30d_ago", "glp_sum_window",
        "written_off_window", "interest_fees_window",
    }  # fmt: skip
    assert {f.name for f in fields(LoanNumerators)} == checked | {"window_days"}


def test_the_window_of_a_sum_is_the_window_of_the_combined_portfolio() -> None:
    # The branch's GLP on a day is the sum of its officers' (all ≥ 0), so its first day with GLP > 0 is the
    # earliest of theirs (2025-01-01 vs 2025-10-20), and its W is the longest of theirs, never their sum.
    assert window_days(DEC_31_2025, min(dt.date(2025, 1, 1), dt.date(2025, 10, 20))) == 365
    assert (OFFICER_A + OFFICER_B).window_days == 365  # not 365 + 73 = 438
    assert (OFFICER_B + OFFICER_A).window_days == 365
    # Neither officer ever had GLP: the sum never had either.
    assert (LoanNumerators() + LoanNumerators()).window_days == 0
    # One officer with no window: the other's.
    assert (LoanNumerators() + OFFICER_B).window_days == 73


def test_summing_many_officers_with_sum() -> None:
    branch = sum([OFFICER_A, OFFICER_B], LoanNumerators())
    assert branch == OFFICER_A + OFFICER_B


def test_branch_par_is_from_summed_balances_not_the_mean_of_officers_ratios() -> None:
    officer_a = LoanNumerators(total_outstanding=D(1_000), par30_balance=D(500))
    officer_b = LoanNumerators(total_outstanding=D(9_000), par30_balance=D(0))
    assert compute(officer_a).par_30 == D(50)  # 100 × 500 / 1,000
    assert compute(officer_b).par_30 == D(0)  # 100 × 0 / 9,000
    # Branch: 100 × (500 + 0) / (1,000 + 9,000) = 100 × 500 / 10,000 = 5, not (50 + 0) / 2 = 25
    assert compute(officer_a + officer_b).par_30 == D(5)


def test_branch_metrics_from_summed_numerators() -> None:
    a, b, branch = compute(OFFICER_A), compute(OFFICER_B), compute(OFFICER_A + OFFICER_B)

    # PAR30: A 100 × 500 / 1,000 = 50; B 0; branch 100 × 500 / 10,000 = 5
    assert (a.par_30, b.par_30, branch.par_30) == (D(50), D(0), D(5))
    # PAR60: branch 100 × 300 / 10,000 = 3; PAR90: 100 × 100 / 10,000 = 1
    assert (branch.par_60, branch.par_90) == (D(3), D(1))

    # Collection: A 100 × 150 / 200 = 75; B 100 × 800 / 800 = 100;
    # branch 100 × 950 / 1,000 = 95 (not (75 + 100) / 2 = 87.5)
    assert (a.collection_rate, b.collection_rate, branch.collection_rate) == (D(75), D(100), D(95))

    # Growth: A 100 × (1,000 − 800) / 800 = 25; B 100 × (9,000 − 9,200) / 9,200 = −20,000 / 9,200 = −2.1739…;
    # branch 100 × (10,000 − 10,000) / 10,000 = 0
    assert a.growth_rate == D(25)
    assert b.growth_rate == D(-200) / D(92)
    assert branch.growth_rate == D(0)

    # Default: A 100 × 100 / 1,000 = 10; B 100 × 20 / 5,000 = 0.4;
    # branch W = 365 days (see above), average GLP = 730,000 / 365 = 2,000 → 100 × 120 / 2,000 = 6
    # (not (10 + 0.4) / 2 = 5.2; and not 730,000 / 438 days → 100 × 120 / 1,666.67 = 7.2)
    assert (a.default_rate, b.default_rate, branch.default_rate) == (D(10), D("0.4"), D(6))

    # Yield: A 100 × 150 / 1,000 × 365 / 365 = 15; B 100 × 50 / 5,000 × 365 / 73 = 1 × 5 = 5;
    # branch 100 × 200 / 2,000 × 365 / 365 = 10
    assert (a.portfolio_yield, b.portfolio_yield, branch.portfolio_yield) == (D(15), D(5), D(10))

    # Branch health: 0.4 × 95 + 0.3 × (100 − 60) + 0.2 × (0 + 50) + 0.1 × (5 × 10)
    # = 38 + 12 + 10 + 5 = 65 → warning
    assert branch.health_score == D(65)
    assert branch.health_category == "warning"
    # A: 0.4 × 75 + 0.3 × clamp(100 − 100) + 0.2 × (25 + 50) + 0.1 × clamp(75) = 30 + 0 + 15 + 7.5 = 52.5
    assert a.health_score == D("52.5")
    # B: 0.4 × 100 + 0.3 × (100 − 4) + 0.2 × (50 − 2.1739…) + 0.1 × 25
    # = 40 + 28.8 + 0.2 × (4,600 − 200) / 92 + 2.5 = 71.3 + 880 / 92 = 71.3 + 9.5652… = 80.8652…
    assert q(b.health_score, "0.0001") == D("80.8652")
    assert b.health_category == "excellent"


def test_a_caller_may_still_set_the_window_of_the_sum() -> None:
    branch = replace(OFFICER_A + OFFICER_B, window_days=365)
    assert compute(branch).default_rate == D(6)
