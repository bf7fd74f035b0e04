"""The people whose sign-in links `make up` prints are in the demo data set, with the roles the links give
them: a team leader's branch, an officer of it whose portfolio deteriorates (so the page has alerts to show),
and a wealth client."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from cli.demo.loans import build_loan_book
from cli.demo.wealth import build_wealth_book

pytestmark = pytest.mark.unit

MAKEFILE = Path(__file__).resolve().parents[3] / "Makefile"


def _variable(name: str) -> str:
    found = re.search(rf"^{name} := (\S+)$", MAKEFILE.read_text(), re.MULTILINE)
    assert found is not None, name
    return found.group(1)


def test_the_printed_people_are_in_the_demo() -> None:
    today = dt.date(2026, 12, 5)  # `make up` uses today; the people do not depend on the day
    loans = build_loan_book(7, today=today)
    branch, officer = _variable("DEMO_BRANCH"), _variable("DEMO_OFFICER")
    leaders = {o.branch_id for o in loans.officers if o.role == "team_leader"}
    assert branch in leaders
    assert officer in loans.deteriorating_officers
    assert next(o.branch_id for o in loans.officers if o.officer_id == officer) == branch
    assert _variable("DEMO_CLIENT") in build_wealth_book(7, today=today).client_ids
