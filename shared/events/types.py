"""Value types of the contract: identifiers, business dates, amounts (never floats)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, PlainSerializer
from pydantic import BaseModel as _PydanticBaseModel

IDENTIFIER_PATTERN = r"^[A-Za-z0-9._:-]{1,64}$"
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# NUMERIC(20, 4) holds 16 integer digits; larger values are bad input, not a database error.
MAX_ABS_AMOUNT = Decimal("1e15")


class Model(_PydanticBaseModel):
    """Strict, immutable base: unknown fields are rejected so typos upstream surface as dead letters."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)


def _to_decimal(value: Any) -> Decimal:
    # bool is an int subclass: `true` is never an amount.
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise ValueError("an amount is a decimal string or number")
    if isinstance(value, float):
        # Only reached when JSON was parsed without parse_float=Decimal; repr keeps the literal digits.
        value = repr(value)
    try:
        amount = Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
    except InvalidOperation as exc:
        raise ValueError("not a decimal number") from exc
    return amount


def _check_amount(amount: Decimal) -> Decimal:
    if not amount.is_finite():
        raise ValueError("an amount must be finite")
    exponent = amount.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -4:
        raise ValueError("an amount has at most 4 decimal places")
    if abs(amount) >= MAX_ABS_AMOUNT:
        raise ValueError("amount out of range")
    return amount + Decimal(0)  # normalise -0 to 0


def _serialize_amount(amount: Decimal) -> str:
    return format(amount, "f")


Amount = Annotated[
    Decimal,
    BeforeValidator(_to_decimal),
    AfterValidator(_check_amount),
    PlainSerializer(_serialize_amount, return_type=str, when_used="json"),
]
NonNegativeAmount = Annotated[Amount, Field(ge=0)]
PositiveAmount = Annotated[Amount, Field(gt=0)]


def _to_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        raise ValueError("a business date is YYYY-MM-DD, not a timestamp")
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str) or not _DATE_RE.match(value):
        raise ValueError("a business date is YYYY-MM-DD")
    return dt.date.fromisoformat(value)


BusinessDate = Annotated[
    dt.date,
    BeforeValidator(_to_date),
    PlainSerializer(lambda d: d.isoformat(), return_type=str, when_used="json"),
]

Identifier = Annotated[str, Field(pattern=IDENTIFIER_PATTERN)]
