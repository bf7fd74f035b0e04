"""The API's figures formatted for people (CONTRACT §6): expected texts written out by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from services.gateway.presenters import display
from services.gateway.presenters.loans import SUMMARY_FIELDS

pytestmark = pytest.mark.unit

D = Decimal
MINUS = "\u2212"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (D("1234567.89"), "1,234,567.89"),
        (D("0.00"), "0.00"),
        (D("999.995"), "1,000.00"),  # half-up at the cent, carried into the thousands
        (D("12"), "12.00"),
        (D("-1234.5"), f"{MINUS}1,234.50"),
        (D("-0.004"), "0.00"),  # rounds to zero: no minus sign on 0.00
    ],
)
def test_money_has_separators_and_two_decimals(value: Decimal, text: str) -> None:
    figure = display.money("total_outstanding", "GLP", value)
    assert figure.text == text
    assert figure.value == format(value, "f")  # the API's digits, untouched
    assert figure.sign is None


@pytest.mark.parametrize(
    ("value", "text", "sign"),
    [
        (D("38726515.09"), "+38,726,515.09", "positive"),
        (D("-2929987.52"), f"{MINUS}2,929,987.52", "negative"),
        (D("0.00"), "0.00", "zero"),
    ],
)
def test_signed_money_carries_a_sign_and_a_class(value: Decimal, text: str, sign: str) -> None:
    figure = display.money("ytd_return_dollar", "Year to date", value, signed=True)
    assert (figure.text, figure.sign) == (text, sign)
    assert sign in figure.classes.split()


@pytest.mark.parametrize(
    ("value", "signed", "text", "sign"),
    [
        (D("5.2235"), False, "5.22%", None),
        (D("5.2250"), False, "5.23%", None),  # half-up
        (D("100.0000"), False, "100.00%", None),
        (D("2.4349"), True, "+2.43%", "positive"),
        (D("-15.5449"), True, f"{MINUS}15.54%", "negative"),
        (D("0.0000"), True, "0.00%", "zero"),
        (D("-0.0040"), True, f"{MINUS}0.00%", "negative"),  # below zero, if only just: the class says so
        (D("1234.5678"), True, "+1,234.57%", "positive"),
    ],
)
def test_percents_have_two_decimals_and_a_percent_sign(
    value: Decimal, signed: bool, text: str, sign: str | None
) -> None:
    figure = display.percent("growth_rate", "Growth", value, signed=signed)
    assert (figure.text, figure.sign) == (text, sign)
    assert figure.value == format(value, "f")


def test_a_percent_that_is_not_computable_is_na_with_a_reason() -> None:
    figure = display.percent("monthly_return_percent", "This month, %", None, signed=True)
    assert figure.text == "n/a"
    assert figure.value == ""  # data-value is empty for null
    assert figure.title is not None
    assert "not computable" in figure.title.lower()
    assert figure.sign is None
    assert "na" in figure.classes.split()


def test_counts_and_scores() -> None:
    assert display.count("total_clients", "Clients", 2850).text == "2,850"
    assert display.count("total_clients", "Clients", 0).value == "0"
    assert display.score("health_score", "Health", D("79.12")).text == "79.12"
    assert display.score("health_score", "Health", D("49.995")).text == "50.00"


def test_json_text_is_the_apis_value() -> None:
    assert display.json_text(D("168000.01")) == "168000.01"
    assert display.json_text(D("0.0000")) == "0.0000"
    assert display.json_text(D("1E+3")) == "1000"
    assert display.json_text(12) == "12"
    assert display.json_text(None) == ""
    assert display.json_text("critical") == "critical"
    assert display.json_text(dt.date(2026, 12, 4)) == "2026-12-04"


def _summary() -> dict[str, object]:
    return {
        "scope": "branch:B1",
        "as_of": dt.date(2026, 12, 4),
        "revision": 2,
        "total_clients": 2850,
        "active_clients": 2258,
        "total_loans": 5000,
        "active_loans": 2258,
        "total_disbursed": D("72605000.00"),
        "total_outstanding": D("19217836.03"),
        "total_collected": D("60050844.07"),
        "par_30": D("5.2235"),
        "par_60": D("2.5200"),
        "par_90": D("1.9500"),
        "default_rate": D("2.6300"),
        "collection_rate": D("91.2900"),
        "portfolio_yield": D("46.5400"),
        "growth_rate": D("-2.5700"),
        "new_clients_30d": 80,
        "exited_clients_30d": 23,
        "health_score": D("79.12"),
        "health_category": "good",
    }


def test_every_loans_figure_is_on_a_card_once() -> None:
    summary = _summary()
    on_cards = [f.metric for _, group in display.loan_groups(summary) for f in group]
    assert sorted([*on_cards, "health_score", "health_category"]) == sorted(SUMMARY_FIELDS[3:])
    by_metric = {f.metric: f for _, group in display.loan_groups(summary) for f in group}
    assert by_metric["total_outstanding"].text == "19,217,836.03"
    assert by_metric["par_30"].text == "5.22%"
    assert by_metric["growth_rate"].text == f"{MINUS}2.57%"
    assert by_metric["growth_rate"].sign == "negative"
    assert by_metric["par_30"].sign is None  # only returns and growth carry a sign
    assert by_metric["new_clients_30d"].text == "80"


def test_every_wealth_figure_is_on_a_card_once() -> None:
    summary: dict[str, Decimal | None] = dict.fromkeys(display.WEALTH_LABELS, D("1.00"))
    summary["monthly_return_percent"] = None
    cards = display.wealth_cards(summary, all_clients=True)
    metrics = [f.metric for _, figures in cards for f in figures]
    assert sorted(metrics) == sorted(display.WEALTH_LABELS)
    monthly = next(f for _, figures in cards for f in figures if f.metric == "monthly_return_percent")
    assert monthly.text == "n/a"
    assert monthly.title == display.NOT_COMPUTABLE_ALL
    aum = next(f for _, figures in cards for f in figures if f.metric == "total_aum")
    assert (aum.text, aum.sign) == ("1.00", None)  # AUM is a stock, not a return: no sign


def test_alert_values_use_the_loans_labels_and_formats() -> None:
    figures = display.alert_values({"par_30": D("17.2600"), "health_score": D("49.99")})
    assert [(f.label, f.text) for f in figures] == [("PAR 30", "17.26%"), ("Health score", "49.99")]


def test_text_alternative_of_a_trend_chart() -> None:
    rows = [
        {**_summary(), "as_of": dt.date(2026, 9, 6), "total_outstanding": D("17400000.00")},
        {**_summary(), "as_of": dt.date(2026, 12, 4)},
    ]
    assert display.trend_label(display.LOAN_CHARTS[0], rows) == (
        "Gross loan portfolio, 2026-09-06 to 2026-12-04: Gross loan portfolio from 17,400,000.00 to 19,217,836.03."
    )


def test_pager_query_keeps_the_filters() -> None:
    filters = {"status": "open", "severity": None, "type": None, "scope": "", "unread": True}
    assert display.query_with(filters, offset=100) == "status=open&unread=true&offset=100"


def test_moments_and_days() -> None:
    assert display.when(dt.datetime(2026, 12, 5, 14, 56, 30, tzinfo=dt.UTC)) == "2026-12-05 14:56 UTC"
    assert display.day(dt.date(2026, 12, 4)) == "4 December 2026"
