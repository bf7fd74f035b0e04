"""services.aggregator.loans.scopes: branch and whole-portfolio numerators are sums of the officers' (never
averages of ratios), and the 365-day window starts at the portfolio's own first day with GLP > 0. Numbers
worked out by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from services.aggregator.loans.scopes import ADDITIVE, Scope, group, portfolio_numerators, window_lookups

pytestmark = pytest.mark.unit

D = Decimal
DAY = dt.date(2026, 6, 30)


def officer(officer_id: str, branch: str | None, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(ADDITIVE, 0) | {
        "officer_id": officer_id, "officer_name": officer_id.title(), "branch_id": branch, "business_date": DAY,
        "has_clients": True, "first_positive_glp_on": None, "cum_written_off": D(0), "cum_interest_fees": D(0),
        "written_off_window": D(0), "interest_fees_window": D(0), "window_days": 0,
    }  # fmt: skip
    for f in ("total_disbursed", "total_outstanding", "total_collected", "par30_balance", "glp_sum_window"):
        row[f] = D(0)
    row.update(values)
    return row


def test_officer_rows_count_in_their_own_scope_their_branch_and_all() -> None:
    rows = [officer("ada", "N"), officer("bo", "N"), officer("cy", None), officer("dee", "S", has_clients=False)]
    groups = {s.scope: [r["officer_id"] for r in members] for s, members in group(rows).items()}
    assert groups == {
        "all": ["ada", "bo", "cy", "dee"],
        "branch:N": ["ada", "bo"],
        "branch:S": ["dee"],  # a day without clients still counts in its branch (its zeros and cumulatives)
        "officer:ada": ["ada"],
        "officer:bo": ["bo"],
        "officer:cy": ["cy"],  # no branch: only itself and all
    }


def test_a_branch_sums_numerators_and_rebuilds_its_window_from_cumulatives() -> None:
    # Ada had GLP > 0 from 2026-03-01, Bo from 2026-05-01: the branch's window starts at the earlier one,
    # 2026-03-01 (less than 365 days ago), so it spans 2026-03-01..2026-06-30 = 31 + 30 + 31 + 30 = 122 days.
    ada = officer(
        "ada", "N", total_clients=10, total_outstanding=D("1000.50"), par30_balance=D("100"),
        first_positive_glp_on=dt.date(2026, 3, 1), cum_written_off=D("70"), cum_interest_fees=D("300"),
    )  # fmt: skip
    bo = officer(
        "bo", "N", total_clients=5, total_outstanding=D("499.50"), par30_balance=D("0"),
        first_positive_glp_on=dt.date(2026, 5, 1), cum_written_off=D("20"), cum_interest_fees=D("50"),
    )  # fmt: skip
    scope = Scope("branch:N", "branch", DAY, branch_id="N")
    # The window's sums need each officer's cumulatives on the day before it starts, 2026-02-28.
    assert window_lookups(scope, [ada, bo]) == [("ada", dt.date(2026, 2, 28)), ("bo", dt.date(2026, 2, 28))]
    before = {("ada", dt.date(2026, 2, 28)): {"cum_written_off": D("30"), "cum_interest_fees": D("100")}}
    n = portfolio_numerators(scope, [ada, bo], before)
    assert n.total_clients == 15
    assert n.total_outstanding == D("1500.00")
    assert n.par30_balance == D("100")
    assert n.window_days == 122
    # Ada: 70 - 30 = 40 and 300 - 100 = 200; Bo had nothing before the window: 20 and 50.
    assert n.written_off_window == D("60")
    assert n.interest_fees_window == D("250")


def test_a_portfolio_that_never_had_glp_has_no_window() -> None:
    rows = [officer("ada", "N", cum_written_off=D("5"))]
    scope = Scope("all", "all", DAY)
    assert window_lookups(scope, rows) == []
    n = portfolio_numerators(scope, rows, {})
    assert (n.window_days, n.written_off_window, n.interest_fees_window) == (0, D(0), D(0))


def test_an_officer_scope_is_the_officers_own_row() -> None:
    ada = officer("ada", "N", total_clients=3, written_off_window=D("9"), window_days=200)
    n = portfolio_numerators(Scope("officer:ada", "officer", DAY, "N", "ada", "Ada"), [ada], {})
    assert (n.total_clients, n.written_off_window, n.window_days) == (3, D(9), 200)
