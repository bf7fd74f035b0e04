"""How far ahead of the clock an event may be dated (`shared.events.bounds`): business dates up to tomorrow in
the configured time zone, `occurred_at` up to the allowed clock skew; a schedule's due dates are not bounded."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from shared.events.bounds import EventBounds
from shared.events.control import BusinessDayClosed
from shared.events.envelope import Envelope, Rejected, make_envelope
from shared.events.loans import LoanDisbursed, LoanRepaymentReceived

pytestmark = pytest.mark.unit

# 12:00 UTC on 6 December is 01:00 on 7 December in Auckland (UTC+13 in summer): there, tomorrow is the 8th.
NOW = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)
AUCKLAND = EventBounds(ZoneInfo("Pacific/Auckland"), dt.timedelta(minutes=5))
UTC = EventBounds(ZoneInfo("UTC"), dt.timedelta(minutes=5))


def repayment(paid_on: str) -> LoanRepaymentReceived:
    return LoanRepaymentReceived.model_validate(
        {"payment_id": "P1", "loan_id": "L1", "client_id": "C1", "paid_on": paid_on, "principal": "10",
         "interest": "0", "fees": "0"}
    )  # fmt: skip


def code_of(bounds: EventBounds, data: Any, envelope: Envelope | None = None) -> str | None:
    try:
        bounds.check(data, NOW, envelope)
    except Rejected as rejected:
        return rejected.code
    return None


@pytest.mark.parametrize(
    ("bounds", "paid_on", "code"),
    [
        (UTC, "2026-12-07", None),  # tomorrow in UTC
        (UTC, "2026-12-08", "business_date_in_future"),
        (AUCKLAND, "2026-12-08", None),  # tomorrow in Auckland, where it is already the 7th
        (AUCKLAND, "2026-12-09", "business_date_in_future"),
        (UTC, "2020-01-01", None),  # history is welcome
    ],
)
def test_a_business_date_may_be_at_most_tomorrow_in_the_configured_time_zone(
    bounds: EventBounds, paid_on: str, code: str | None
) -> None:
    assert code_of(bounds, repayment(paid_on)) == code


def test_a_close_of_year_9999_is_refused() -> None:
    assert code_of(UTC, BusinessDayClosed(business_date=dt.date(9999, 12, 30))) == "business_date_in_future"


def test_a_schedule_due_years_ahead_is_not_bounded() -> None:
    loan = LoanDisbursed.model_validate(
        {"loan_id": "L1", "client_id": "C1", "disbursed_on": "2026-12-06", "principal": "100",
         "schedule": [{"due_on": "2036-12-06", "principal": "100", "interest": "0"}]}
    )  # fmt: skip
    assert code_of(UTC, loan) is None


@pytest.mark.parametrize(
    ("ahead", "code"),
    [(dt.timedelta(minutes=4, seconds=59), None), (dt.timedelta(minutes=5, seconds=1), "occurred_at_in_future")],
)
def test_occurred_at_may_be_ahead_of_the_clock_by_the_allowed_skew_only(ahead: dt.timedelta, code: str | None) -> None:
    envelope = Envelope.model_validate(
        make_envelope("loan.repayment_received", {}, source="lms", occurred_at=NOW + ahead)
    )
    assert code_of(UTC, repayment("2026-12-06"), envelope) == code
