"""Value types of the contract: identifiers, business dates, amounts (never floats)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    model_validator,
)
from pydantic import BaseModel as _PydanticBaseModel

IDENTIFIER_PATTERN = r"^[A-Za-z0-9._:-]{1,64}$"
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # ASCII digits only; used with fullmatch

# NUMERIC(20, 4) holds 16 integer digits; larger values are bad input, not a database error.
MAX_ABS_AMOUNT = Decimal("1e15")


class Model(_PydanticBaseModel):
    """Strict, immutable base: unknown fields are rejected so typos upstream surface as dead letters."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)


class EventData(Model):
    """The `data` of one event type. `check()` holds the rules that span several fields; it runs after
    the fields validated and raises `Rejected` with a precise code (so no instance breaks them)."""

    EVENT_DATES: ClassVar[tuple[str, ...]] = ()
    """The fields that date what happened (never a schedule's due dates or a maturity): none may be later than
    tomorrow (`shared.events.bounds`)."""

    def check(self) -> None:
        """Raise `shared.events.envelope.Rejected` if a business rule inside the event is broken."""

    @model_validator(mode="after")
    def _business_rules(self) -> Self:
        self.check()
        return self


def _unsigned_zero(amount: Decimal) -> Decimal:
    return amount if amount else amount + Decimal(0)  # -0 is 0


def _serialize_amount(amount: Decimal) -> str:
    return format(amount, "f")


# Money: finite, at most 4 decimal places (trailing zeros aside), |x| < 1e15. Every check is one of
# pydantic-core's own decimal constraints, checked in Rust: money is on every event's path, and a Python
# validator per amount field cost more than the rest of an event's validation.
_MONEY = Field(allow_inf_nan=False, decimal_places=4, gt=-MAX_ABS_AMOUNT, lt=MAX_ABS_AMOUNT)
_AS_TEXT = PlainSerializer(_serialize_amount, return_type=str, when_used="json")

Amount = Annotated[Decimal, _MONEY, AfterValidator(_unsigned_zero), _AS_TEXT]
NonNegativeAmount = Annotated[Decimal, _MONEY, Field(ge=0), AfterValidator(_unsigned_zero), _AS_TEXT]
PositiveAmount = Annotated[Decimal, _MONEY, Field(gt=0), AfterValidator(_unsigned_zero), _AS_TEXT]


def _to_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        raise ValueError("a business date is YYYY-MM-DD, not a timestamp")
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str) or not _DATE_RE.fullmatch(value):
        raise ValueError("a business date is YYYY-MM-DD")
    return dt.date.fromisoformat(value)


BusinessDate = Annotated[
    dt.date,
    BeforeValidator(_to_date),
    PlainSerializer(lambda d: d.isoformat(), return_type=str, when_used="json"),
]

Identifier = Annotated[str, Field(pattern=IDENTIFIER_PATTERN)]


# --- Further value types of the event data (strings, timestamps, non-money decimals) ---------------

MAX_NAME_LENGTH = 200
MAX_EMAIL_LENGTH = 254


def _no_nul(value: str) -> str:
    # PostgreSQL text and jsonb cannot hold U+0000: bad input, refused here rather than failing in the database.
    if "\x00" in value:
        raise ValueError("text must not contain the NUL character (U+0000)")
    return value


Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NAME_LENGTH),
    AfterValidator(_no_nul),
]
"""A human-readable name or label (person, asset class, custodian): 1–200 characters, trimmed."""

Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=MAX_EMAIL_LENGTH, pattern=r"^[^@\s]+@[^@\s]+$"),
    AfterValidator(_no_nul),
]
"""Loosely checked: exactly one '@' with something on each side, no whitespace, ≤ 254 characters."""

CurrencyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
"""ISO 4217 alphabetic code, e.g. `EUR`."""


def _timestamp_is_text(value: Any) -> Any:
    # RFC 3339 is a string; pydantic would otherwise read a bare number as a Unix time.
    if not isinstance(value, str):
        raise ValueError("a timestamp is an RFC 3339 string with offset")
    return value


def in_utc_range(value: dt.datetime) -> dt.datetime:
    """A timestamp whose UTC instant Python can represent: `0001-01-01T00:30:00+01:00` is valid RFC 3339 but
    falls before year 1 in UTC, so storing it would fail (an OverflowError in the database driver)."""
    try:
        value.astimezone(dt.UTC)
    except OverflowError as exc:
        raise ValueError("timestamp out of range") from exc
    return value


Timestamp = Annotated[
    AwareDatetime,
    BeforeValidator(_timestamp_is_text),
    AfterValidator(in_utc_range),
    PlainSerializer(lambda t: t.isoformat(), return_type=str, when_used="json"),
]
"""An RFC 3339 timestamp with offset, given as a string."""

MAX_MEASURE_PLACES = 18


def _in_context(value: Decimal) -> Decimal:
    return value + Decimal(0)  # -0 is 0; rounded to the context's precision, as arithmetic on it would be


Measure = Annotated[
    Decimal,
    Field(allow_inf_nan=False, decimal_places=MAX_MEASURE_PLACES, gt=-MAX_ABS_AMOUNT, lt=MAX_ABS_AMOUNT),
    AfterValidator(_in_context),
    _AS_TEXT,
]
"""A decimal that is not money (a quantity, a price): finite, |x| < 1e15, up to 18 decimal places."""

Exact = Annotated[Decimal, Field(allow_inf_nan=False), _AS_TEXT]
"""A computed decimal Pulse publishes (a sum, a ratio): exact, unrounded, any number of places. Read back
as written: Pulse computed it in the decimal context, so rounding it to the context again (as `Measure`
does for upstream input) would change nothing, and on the internal topics that Python call per field was
a quarter of the cost of validating an event."""
