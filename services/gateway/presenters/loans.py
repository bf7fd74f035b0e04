"""Loans payloads: a read-model row as `/v1/loans/summary` (and each day of `/history`, each officer of
`/officers`, each line of `export.csv`).

Money is rounded half-up to 2 places, percents to 4, `health_score` to 2; `health_category` is passed
through as the aggregator computed it from the unrounded score.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, TypeAlias

from asyncpg import Record
from pydantic import BaseModel, Field

from services.gateway.rounding import (
    JsonMoney,
    JsonPercent,
    JsonScore,
    decimal_text,
    round_money,
    round_percent,
    round_score,
)
from services.gateway.views.loans import METRIC_FIELDS

HEALTH_CATEGORIES = ("critical", "warning", "good", "excellent")

SUMMARY_FIELDS: tuple[str, ...] = ("scope", "as_of", "revision", *METRIC_FIELDS)
"""Field order of a summary (JSON objects and CSV columns); `as_of` is the row's `business_date`."""
OFFICER_FIELDS: tuple[str, ...] = ("officer_id", "name", "branch_id")
"""What an officer's summary carries first."""

MONEY_FIELDS = frozenset({"total_disbursed", "total_outstanding", "total_collected"})
PERCENT_FIELDS = frozenset(
    {"par_30", "par_60", "par_90", "default_rate", "collection_rate", "portfolio_yield", "growth_rate"}
)
ROUNDING: dict[str, Callable[[Decimal | int], Decimal]] = {
    **dict.fromkeys(MONEY_FIELDS, round_money),
    **dict.fromkeys(PERCENT_FIELDS, round_percent),
    "health_score": round_score,
}


class LoanSummary(BaseModel):
    """The figures of one loans portfolio (officer, branch or all) at the end of `as_of` (CONTRACT §2)."""

    scope: str = Field(description="`all`, `branch:<id>` or `officer:<id>`")
    as_of: dt.date
    revision: int
    total_clients: int
    active_clients: int
    total_loans: int
    active_loans: int
    total_disbursed: JsonMoney
    total_outstanding: JsonMoney
    total_collected: JsonMoney
    par_30: JsonPercent
    par_60: JsonPercent
    par_90: JsonPercent
    default_rate: JsonPercent
    collection_rate: JsonPercent
    portfolio_yield: JsonPercent
    growth_rate: JsonPercent
    new_clients_30d: int
    exited_clients_30d: int
    health_score: JsonScore
    health_category: str = Field(json_schema_extra={"enum": list(HEALTH_CATEGORIES)})


class OfficerSummary(LoanSummary):
    """An officer's summary, with who the officer is."""

    officer_id: str
    name: str | None
    branch_id: str | None


Row: TypeAlias = Mapping[str, Any] | Record


def summary_payload(row: Row) -> dict[str, Any]:
    """A read-model row as the API's summary: fields in contract order, figures rounded."""
    out: dict[str, Any] = {"scope": row["scope"], "as_of": row["business_date"]}
    for name in SUMMARY_FIELDS[2:]:
        value = row[name]
        rounder = ROUNDING.get(name)
        out[name] = rounder(value) if rounder is not None else value
    return out


def officer_payload(row: Row) -> dict[str, Any]:
    return {
        "officer_id": row["officer_id"],
        "name": row["officer_name"],
        "branch_id": row["branch_id"],
        **summary_payload(row),
    }


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def summaries_csv(rows: Sequence[Row]) -> str:
    """Header (`SUMMARY_FIELDS`) and one line per row, figures rounded as in JSON; CRLF line ends."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(SUMMARY_FIELDS)
    for row in rows:
        payload = summary_payload(row)
        writer.writerow([_csv_cell(payload[name]) for name in SUMMARY_FIELDS])
    return buffer.getvalue()
