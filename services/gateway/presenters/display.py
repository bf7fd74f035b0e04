"""The API's figures formatted for people (CONTRACT §6), for the pages. Nothing is computed here: every
function takes a value exactly as the API answers it (a payload of `presenters/`), keeps that value as
`Figure.value` (the API's JSON text, for `data-value`) and only writes it for people:

- money with thousands separators and 2 decimals (`1,234,567.89`); counts with separators (`3,000`);
- percents with 2 decimals and `%` (`12.35%`); a percent that is not computable is `n/a`, with a reason;
- returns and growth carry a sign and a class, `positive` (`+`), `negative` (`−`) or `zero`, so that
  colour is never the only cue; the health score carries its category.

Rounding to 2 places for display is half-up, like the API's own rounding.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal
from urllib.parse import urlencode

from markupsafe import Markup, escape

from services.gateway.rounding import decimal_text

Kind = Literal["money", "percent", "count", "score", "text"]
Sign = Literal["positive", "negative", "zero"]

MINUS = "\u2212"  # the minus sign, not a hyphen: read as "minus" by screen readers
_CENT = Decimal("0.01")

NOT_COMPUTABLE_CLIENT = (
    "Not computable: this window's average capital is zero or negative, or a period inside it has no computable return."
)
NOT_COMPUTABLE_ALL = (
    "Not computable: no client with this window has both a positive average capital and a computable return."
)


@dataclass(frozen=True, slots=True)
class Figure:
    """One figure on a page: `metric` is the API's field name and `value` its JSON value as text."""

    metric: str
    label: str
    value: str
    text: str
    kind: Kind
    sign: Sign | None = None
    title: str | None = None

    @property
    def classes(self) -> str:
        return " ".join(c for c in ("figure", f"figure-{self.kind}", self.sign, "na" if self.is_na else None) if c)

    @property
    def is_na(self) -> bool:
        return self.value == "" and self.kind == "percent"

    def html(self, tag: str = "span") -> Markup:
        """The figure's element, the one way a figure is written into a page: `data-metric`, `data-value`,
        its classes and its text, and for `n/a` why, as a title and for screen readers. (Written here rather
        than by a template macro: a page holds up to thousands of figures, and a macro call costs ~30 µs.)"""
        title = f' title="{escape(self.title)}"' if self.title else ""
        why = f'<span class="sr-only"> ({escape(self.title)})</span>' if self.title else ""
        return Markup(  # noqa: S704 - every part is escaped above or one of our own names
            f'<{tag} class="{self.classes}" data-metric="{escape(self.metric)}" data-value="{escape(self.value)}"'
            f"{title}>{escape(self.text)}{why}</{tag}>"
        )


def cells(figures: Iterable[Figure]) -> Markup:
    """Table cells of figures, right-aligned."""
    return Markup("".join(f'<td class="num">{f.html()}</td>' for f in figures))  # noqa: S704


def json_text(value: Any) -> str:
    """The API's JSON value as text (`data-value`): exact digits for numbers, empty for null."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


def _two_places(value: Decimal) -> Decimal:
    rounded = value.quantize(_CENT, rounding=ROUND_HALF_UP)
    return rounded.copy_abs() if rounded.is_zero() else rounded


def sign_of(value: Decimal | int) -> Sign:
    return "positive" if value > 0 else "negative" if value < 0 else "zero"


def grouped(value: Decimal) -> str:
    """`value` with thousands separators and 2 decimals, a minus sign for a negative number."""
    amount = _two_places(value)
    text = f"{amount.copy_abs():,.2f}"
    return f"{MINUS}{text}" if amount < 0 else text


def _signed(text: str, value: Decimal) -> str:
    """`text` of |value| with the sign a person reads first: `+` above zero, `−` below."""
    if value > 0:
        return f"+{text}"
    return f"{MINUS}{text}" if value < 0 else text


def money_text(value: Decimal, *, signed: bool = False) -> str:
    if signed:
        return _signed(grouped(value.copy_abs()), value)
    return grouped(value)


def percent_text(value: Decimal, *, signed: bool = False) -> str:
    text = f"{grouped(value.copy_abs())}%"
    if signed:
        return _signed(text, value)
    return f"{MINUS}{text}" if value < 0 else text


def money(metric: str, label: str, value: Decimal, *, signed: bool = False) -> Figure:
    return Figure(
        metric, label, json_text(value), money_text(value, signed=signed), "money", sign_of(value) if signed else None
    )


def percent(
    metric: str, label: str, value: Decimal | None, *, signed: bool = False, why_not: str = NOT_COMPUTABLE_CLIENT
) -> Figure:
    if value is None:
        return Figure(metric, label, "", "n/a", "percent", title=why_not)
    return Figure(
        metric,
        label,
        json_text(value),
        percent_text(value, signed=signed),
        "percent",
        sign_of(value) if signed else None,
    )


def count(metric: str, label: str, value: int) -> Figure:
    return Figure(metric, label, json_text(value), f"{value:,}", "count")


def score(metric: str, label: str, value: Decimal) -> Figure:
    return Figure(metric, label, json_text(value), grouped(value), "score")


def text(metric: str, label: str, value: str | None) -> Figure:
    return Figure(metric, label, json_text(value), value if value is not None else "—", "text")


# --- loans --------------------------------------------------------------------------------------------

LOAN_LABELS: dict[str, str] = {
    "total_outstanding": "Gross loan portfolio",
    "total_disbursed": "Disbursed to date",
    "total_collected": "Collected to date",
    "total_clients": "Clients",
    "active_clients": "Active clients",
    "total_loans": "Loans disbursed",
    "active_loans": "Active loans",
    "par_30": "PAR 30",
    "par_60": "PAR 60",
    "par_90": "PAR 90",
    "collection_rate": "Collection rate, 30 days",
    "default_rate": "Default rate, 12 months",
    "portfolio_yield": "Portfolio yield",
    "growth_rate": "Growth, 30 days",
    "new_clients_30d": "New clients, 30 days",
    "exited_clients_30d": "Exited clients, 30 days",
    "health_score": "Health score",
    "health_category": "Health",
}
"""Every figure of a loans summary, in the order of the cards."""

LOAN_MONEY = frozenset({"total_outstanding", "total_disbursed", "total_collected"})
LOAN_PERCENTS = frozenset({"par_30", "par_60", "par_90", "collection_rate", "default_rate", "portfolio_yield"})
LOAN_SIGNED = frozenset({"growth_rate"})


def loan_figure(metric: str, payload: Mapping[str, Any]) -> Figure:
    """One figure of a loans summary payload (`/v1/loans/summary`)."""
    label, value = LOAN_LABELS[metric], payload[metric]
    if metric in LOAN_MONEY:
        return money(metric, label, value)
    if metric in LOAN_PERCENTS:
        return percent(metric, label, value)
    if metric in LOAN_SIGNED:
        return percent(metric, label, value, signed=True)
    if metric == "health_score":
        return score(metric, label, value)
    if metric == "health_category":
        return text(metric, label, value)
    return count(metric, label, value)


def loan_cells(payload: Mapping[str, Any], metrics: Iterable[str]) -> Markup:
    """Table cells of some figures of a loans summary payload."""
    return cells(loan_figure(metric, payload) for metric in metrics)


LOAN_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Portfolio", ("total_outstanding", "total_disbursed", "total_collected", "total_loans", "active_loans")),
    ("Clients", ("total_clients", "active_clients", "new_clients_30d", "exited_clients_30d")),
    (
        "Risk and performance",
        ("par_30", "par_60", "par_90", "collection_rate", "default_rate", "portfolio_yield", "growth_rate"),
    ),
)
"""The cards of a loans summary besides its health, by theme: every figure of the summary once."""


def loan_groups(payload: Mapping[str, Any]) -> list[tuple[str, list[Figure]]]:
    return [(title, [loan_figure(metric, payload) for metric in metrics]) for title, metrics in LOAN_GROUPS]


ALERT_LABELS: dict[str, str] = {
    "portfolio_health_critical": "Portfolio health critical",
    "portfolio_health_warning": "Portfolio health warning",
    "high_default_rate": "High default rate",
    "high_par": "High PAR 30",
    "low_collection_rate": "Low collection rate",
    "negative_growth": "Negative growth",
}
"""Each alert type of CONTRACT §2, as people read it."""

LIST_COLUMNS = ("total_outstanding", "par_30", "collection_rate", "default_rate", "growth_rate", "active_loans")
"""The figures of a branch or officer in a list (besides its health)."""
SHORT_LABELS = {"collection_rate": "Collection, 30 d", "default_rate": "Default, 12 m", "growth_rate": "Growth, 30 d"}
"""Column headings where the card's label is too long for a table."""


@dataclass(frozen=True, slots=True)
class Chart:
    key: str
    title: str
    series: tuple[str, ...]
    format: Kind
    bands: bool = False


LOAN_CHARTS = (
    Chart("glp", "Gross loan portfolio", ("total_outstanding",), "money"),
    Chart("par", "Portfolio at risk: PAR 30, 60 and 90", ("par_30", "par_60", "par_90"), "percent"),
    Chart("rates", "Collection rate and default rate", ("collection_rate", "default_rate"), "percent"),
    Chart("health", "Health score, with the category bands", ("health_score",), "score", bands=True),
)
LOAN_CHART_SERIES = tuple(dict.fromkeys(metric for chart in LOAN_CHARTS for metric in chart.series))
"""The columns of the table behind the loans charts (their text alternative)."""


def trend_label(chart: Chart, rows: Sequence[Mapping[str, Any]]) -> str:
    """A chart's text alternative in one sentence: each series from its first to its last day."""
    if not rows:
        return f"{chart.title}: no days in this range."
    first, last = rows[0], rows[-1]
    parts = [f"{LOAN_LABELS[m]} from {loan_figure(m, first).text} to {loan_figure(m, last).text}" for m in chart.series]
    return f"{chart.title}, {first['as_of'].isoformat()} to {last['as_of'].isoformat()}: {'; '.join(parts)}."


def alert_values(values: Mapping[str, Any]) -> list[Figure]:
    """The figures an alert's rule looked at (loans figures, as `/v1/alerts` rounds them)."""
    return [
        loan_figure(name, values) if name in LOAN_LABELS else text(name, name, str(value))
        for name, value in values.items()
    ]


def day(value: dt.date) -> str:
    return f"{value.day} {value:%B %Y}"


def when(moment: dt.datetime) -> str:
    """A moment in UTC, to the minute."""
    return f"{moment.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"


# --- wealth -------------------------------------------------------------------------------------------

WEALTH_LABELS: dict[str, str] = {
    "total_aum": "Total AUM",
    "inception_dollar_performance": "Since inception",
    "inception_return_pct": "Since inception, %",
    "estimated_annual_income": "Estimated annual income",
    "monthly_return_dollar": "This month",
    "monthly_return_percent": "This month, %",
    "period_return_dollar": "This period",
    "period_return_percent": "This period, %",
    "ytd_return_dollar": "Year to date",
    "ytd_return_percent": "Year to date, %",
}
"""The eight figures of the wealth dashboard, then year to date, in the order of the cards."""
WEALTH_UNSIGNED = frozenset({"total_aum", "estimated_annual_income"})


WEALTH_CARDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Total AUM", ("total_aum",)),
    ("Since inception", ("inception_dollar_performance", "inception_return_pct")),
    ("Estimated annual income", ("estimated_annual_income",)),
    ("This month", ("monthly_return_dollar", "monthly_return_percent")),
    ("This period", ("period_return_dollar", "period_return_percent")),
    ("Year to date", ("ytd_return_dollar", "ytd_return_percent")),
)
"""The cards of the wealth dashboard: a return window's amount and percent share a card."""


def wealth_figure(metric: str, summary: Mapping[str, Any], *, all_clients: bool) -> Figure:
    """One figure of a wealth summary payload's `summary` (`/v1/wealth/summary`)."""
    label, value = WEALTH_LABELS[metric], summary[metric]
    if metric.endswith(("_percent", "_pct")):
        return percent(
            metric, label, value, signed=True, why_not=NOT_COMPUTABLE_ALL if all_clients else NOT_COMPUTABLE_CLIENT
        )
    return money(metric, label, value, signed=metric not in WEALTH_UNSIGNED)


def wealth_cards(summary: Mapping[str, Any], *, all_clients: bool) -> list[tuple[str, list[Figure]]]:
    return [
        (title, [wealth_figure(metric, summary, all_clients=all_clients) for metric in metrics])
        for title, metrics in WEALTH_CARDS
    ]


WINDOW_LABELS = {
    "period": "This period",
    "monthly": "This month",
    "ytd": "Year to date",
    "inception": "Since inception",
}
"""One client's return windows, whose start dates the wealth page shows."""

HISTORY_LABELS = {
    "total_value": "Total value",
    "net_external_flows": "Net external flows",
    "period_return_dollar": "Period return",
    "period_return_percent": "Period return, %",
    "inception_return_pct": "Since inception, %",
}
"""The columns of a client's history (`/v1/wealth/clients/{id}/history`) on the wealth page."""


def history_figures(row: Mapping[str, Any]) -> list[Figure]:
    """One valuation of a client's history, in the order of `HISTORY_LABELS`."""
    figures = []
    for metric, label in HISTORY_LABELS.items():
        value = row[metric]
        if metric.endswith(("_percent", "_pct")):
            figures.append(percent(metric, label, value, signed=True))
        else:
            figures.append(money(metric, label, value, signed=metric != "total_value"))
    return figures


def history_label(metric: str, title: str, rows: Sequence[Mapping[str, Any]]) -> str:
    """A history chart's text alternative: the series from its first to its last valuation."""
    if not rows:
        return f"{title}: no valuations."
    first = history_figures(rows[0])[list(HISTORY_LABELS).index(metric)]
    last = history_figures(rows[-1])[list(HISTORY_LABELS).index(metric)]
    span = f"{rows[0]['date'].isoformat()} to {rows[-1]['date'].isoformat()}"
    return f"{title}, {span}: from {first.text} to {last.text}."


def allocation_label(entries: Sequence[Mapping[str, Any]]) -> str:
    """An allocation chart's text alternative: each part with its share."""
    return (
        "; ".join(f"{e['name']} {percent('percent', 'Share', e['percent'], why_not='n/a').text}" for e in entries) + "."
    )


def maturity_label(entries: Sequence[Mapping[str, Any]]) -> str:
    return "; ".join(f"{e['year']}: {money_text(e['value'])}" for e in entries) + "."


def query_with(filters: Mapping[str, Any], **changes: Any) -> str:
    """The query string of a list's filters with some changed (for its pager); empty filters left out."""
    merged = {**filters, **changes}
    pairs = [
        (name, "true" if value is True else "false" if value is False else str(value))
        for name, value in merged.items()
        if value not in (None, "")
    ]
    return urlencode(pairs)
