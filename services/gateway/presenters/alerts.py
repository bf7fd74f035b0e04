"""Alerts payloads: `GET /v1/alerts` items.

Each alert's `values` (the figures its rule looked at, unrounded in the read model) are rounded here:
`health_score` to 2 places, every other figure (a percent) to 4, as exact JSON numbers.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Any, Literal

from asyncpg import Record
from pydantic import BaseModel, Field, WithJsonSchema

from services.gateway.rounding import round_percent, round_score
from shared.events.alerts import AlertType, Severity

ITEM_FIELDS: tuple[str, ...] = (
    "alert_id",
    "type",
    "severity",
    "scope",
    "business_date",
    "status",
    "raised_at",
    "resolved_at",
    "acknowledged",
    "values",
)
SCORE_FIGURES = frozenset({"health_score"})
"""Figures rounded as a score (2 places); every other figure of `values` is a percent (4 places)."""

JsonFigure = Annotated[Decimal, WithJsonSchema({"type": "number", "description": "A rule's figure, rounded"})]


class AlertItem(BaseModel):
    """One alert (CONTRACT §2): raised once when its rule starts to hold, resolved when it stops."""

    alert_id: str
    type: AlertType
    severity: Severity = Field(description="The current (or, once resolved, the last) severity")
    scope: str = Field(description="`all`, `branch:<id>` or `officer:<id>`")
    business_date: dt.date = Field(description="The business day whose figures raised it")
    status: Literal["open", "resolved"]
    raised_at: dt.datetime
    resolved_at: dt.datetime | None
    acknowledged: bool
    values: dict[str, JsonFigure] = Field(
        description="The figures the rule looked at (latest revision): percents rounded half-up to 4 places, "
        "`health_score` to 2",
    )


class AlertAckAccepted(BaseModel):
    event_id: str = Field(description="`event_id` of the published `alert.acknowledged`")


def rounded_values(text: str) -> dict[str, Any]:
    """The stored figures (jsonb text, exact digits) rounded: `health_score` to 2 places, percents to 4."""
    figures = json.loads(text, parse_float=Decimal, parse_int=Decimal)
    out: dict[str, Any] = {}
    for name, value in figures.items():
        if isinstance(value, Decimal):
            out[name] = round_score(value) if name in SCORE_FIGURES else round_percent(value)
        else:  # not a number (never written by the alerter): passed through
            out[name] = value
    return out


def alert_payload(row: Mapping[str, Any] | Record) -> dict[str, Any]:
    return {
        "alert_id": row["alert_id"],
        "type": row["alert_type"],
        "severity": row["severity"],
        "scope": row["scope"],
        "business_date": row["business_date"],
        "status": row["status"],
        "raised_at": row["raised_at"],
        "resolved_at": row["resolved_at"],
        "acknowledged": row["acknowledged"],
        "values": rounded_values(row["values_json"]),
    }
