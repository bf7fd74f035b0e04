"""Rounding of figures in responses, and JSON with exact decimal numbers (CONTRACT §4).

Money is rounded half-up to 2 places, percents to 4, `health_score` to 2. "Half-up" is
`decimal.ROUND_HALF_UP`: ties go away from zero (2.345 → 2.35, −2.345 → −2.35).

Rounded figures are Decimals and stay Decimals up to the bytes on the wire: `render_json` writes a Decimal
as a JSON number with exactly its digits (never through a binary float), and `DecimalJSONResponse` is the
response class doing so. OpenAPI still declares those fields `number` (see `JsonMoney` & co.).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Annotated, Any

from fastapi.responses import JSONResponse
from pydantic import WithJsonSchema

MONEY_PLACES = 2
PERCENT_PLACES = 4
SCORE_PLACES = 2

# Wide enough for any NUMERIC the read model holds: quantize never fails for lack of precision.
_CONTEXT = Context(prec=100, rounding=ROUND_HALF_UP)
_QUANTUM: dict[int, Decimal] = {places: Decimal(1).scaleb(-places) for places in range(0, 9)}


def round_half_up(value: Decimal | int, places: int) -> Decimal:
    """`value` rounded half-up (ties away from zero) to `places` decimal places; −0 becomes 0."""
    amount = Decimal(value)
    if not amount.is_finite():
        raise ValueError(f"cannot round a non-finite number: {amount}")
    quantum = _QUANTUM.get(places) or Decimal(1).scaleb(-places)
    rounded = amount.quantize(quantum, context=_CONTEXT)
    return rounded.copy_abs() if rounded.is_zero() else rounded


def round_money(value: Decimal | int) -> Decimal:
    return round_half_up(value, MONEY_PLACES)


def round_percent(value: Decimal | int) -> Decimal:
    return round_half_up(value, PERCENT_PLACES)


def round_score(value: Decimal | int) -> Decimal:
    return round_half_up(value, SCORE_PLACES)


def decimal_text(value: Decimal) -> str:
    """Plain positional notation of a finite Decimal (`1E+3` → `1000`), as a JSON number or CSV cell."""
    if not value.is_finite():
        raise ValueError(f"{value} is not a finite number")
    return format(value, "f")


# Field types for response models: Decimals at run time, `number` in the OpenAPI document.
JsonMoney = Annotated[Decimal, WithJsonSchema({"type": "number", "description": "Money, rounded half-up to 2 places"})]
JsonPercent = Annotated[
    Decimal, WithJsonSchema({"type": "number", "description": "Percent, rounded half-up to 4 places"})
]
JsonScore = Annotated[
    Decimal, WithJsonSchema({"type": "number", "description": "Score 0–100, rounded half-up to 2 places"})
]


def render_json(value: Any) -> str:
    """Compact JSON of dicts, lists, strings, ints, bools, None, dates and Decimals.

    Decimals are written as JSON numbers with exactly their digits; floats are refused (a figure that
    reaches this point as a float has already lost its exact value).
    """
    parts: list[str] = []
    _render(value, parts)
    return "".join(parts)


def _render(value: Any, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):  # before int: a StrEnum is a str
        out.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, int):
        out.append(str(int(value)))
    elif isinstance(value, Decimal):
        out.append(decimal_text(value))
    elif isinstance(value, (dt.date, dt.datetime)):
        out.append(json.dumps(value.isoformat()))
    elif isinstance(value, Mapping):
        out.append("{")
        for index, (key, item) in enumerate(value.items()):
            if not isinstance(key, str):
                raise TypeError(f"JSON object keys are strings, not {type(key).__name__}")
            if index:
                out.append(",")
            out.append(json.dumps(key, ensure_ascii=False))
            out.append(":")
            _render(item, out)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _render(item, out)
        out.append("]")
    else:
        raise TypeError(f"{type(value).__name__} is not rendered as JSON here")


class DecimalJSONResponse(JSONResponse):
    """`application/json` whose Decimals are exact JSON numbers (see `render_json`)."""

    def render(self, content: Any) -> bytes:
        return render_json(content).encode("utf-8")
