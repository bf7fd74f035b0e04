"""The envelope every message value is (CONTRACT §1) and the parsing of raw bytes into it."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import msgspec
from pydantic import AwareDatetime, Field, ValidationError, field_validator

from shared.events.types import IDENTIFIER_PATTERN, Model, in_utc_range

MAX_MESSAGE_BYTES = 1_000_000
MAX_JSON_DEPTH = 32


class Rejected(Exception):  # noqa: N818 (the dead-letter vocabulary: a message is rejected)
    """A message that must go to `dead-letters`: `code` is the stable `x-error-code`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class Envelope(Model):
    event_id: str = Field(pattern=IDENTIFIER_PATTERN)
    event_type: str = Field(min_length=1, max_length=100)
    # strict: `true`, `"1"` and `1.0` are not a schema version.
    schema_version: int = Field(1, ge=1, strict=True)
    occurred_at: AwareDatetime
    source: str = Field(min_length=1, max_length=100)
    data: dict[str, Any]

    @field_validator("occurred_at", mode="before")
    @classmethod
    def _rfc3339(cls, value: Any) -> Any:
        # RFC 3339 is a string; a bare number would be read by pydantic as a Unix time.
        if not isinstance(value, str):
            raise ValueError("occurred_at is an RFC 3339 timestamp with offset")
        return value

    @field_validator("occurred_at")
    @classmethod
    def _in_range(cls, value: dt.datetime) -> dt.datetime:
        return in_utc_range(value)


def new_event_id() -> str:
    return uuid.uuid4().hex


def make_envelope(
    event_type: str,
    data: dict[str, Any],
    *,
    source: str,
    occurred_at: dt.datetime | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """A JSON-ready envelope: what producers inside Pulse publish."""
    at = occurred_at or dt.datetime.now(dt.UTC)
    return {
        "event_id": event_id or new_event_id(),
        "event_type": event_type,
        "schema_version": 1,
        "occurred_at": at.isoformat().replace("+00:00", "Z"),
        "source": source,
        "data": data,
    }


def envelope_json(event_type: str, data_json: bytes, *, source: str, occurred_at: dt.datetime, event_id: str) -> bytes:
    """`dumps(make_envelope(...))` for a `data` already serialized (a model's `model_dump_json()`, which
    is faster than building its dict and encoding that): `data` is the envelope's last member."""
    head = dumps(make_envelope(event_type, {}, source=source, occurred_at=occurred_at, event_id=event_id))
    return head[: -len(b'"data":{}}')] + b'"data":' + data_json + b"}"


# msgspec, not the standard library: on every message's path, it decodes 2–4× and encodes ~5× faster.
# `float_hook` hands each JSON number with a fraction or exponent to Decimal as its exact text, so no amount
# passes through a float (integers stay int, of any size). It refuses NaN and Infinity, which are not JSON.
_DECODER = msgspec.json.Decoder(float_hook=Decimal)
_ENCODER = msgspec.json.Encoder(decimal_format="string")


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON. Decimals are written as strings so no amount passes through a float; dates
    and times in ISO 8601 / RFC 3339 (UTC as `Z`)."""
    return _ENCODER.encode(value)


def _depth(value: Any, limit: int) -> int:
    """How deeply `value` nests, a scalar counting as one level; stops once past `limit`.
    Level by level, scanning containers with comprehensions: this is on every message's path."""
    if not isinstance(value, (dict, list)):
        return 1
    level: list[Any] = [value]
    depth = deepest = 1
    while level:
        below: list[Any] = []
        for item in level:
            children = item.values() if isinstance(item, dict) else item
            containers = [c for c in children if isinstance(c, (dict, list))]
            if len(containers) < len(children):
                deepest = depth + 1
            below += containers
        if below:
            deepest = depth = depth + 1
        if deepest > limit:
            return deepest
        level = below
    return deepest


def loads(raw: bytes | None) -> dict[str, Any]:
    """Decode a message value into a JSON object, with every number as a Decimal or int."""
    if raw is None:
        raise Rejected("invalid_json", "the message has no value (tombstone)")
    if len(raw) > MAX_MESSAGE_BYTES:
        raise Rejected("message_too_large", f"{len(raw)} bytes > {MAX_MESSAGE_BYTES}")
    try:
        value = _DECODER.decode(raw)
    except RecursionError as exc:
        # msgspec gives up far past our limit: the same fault as any depth > limit.
        raise Rejected("invalid_envelope", f"JSON nested deeper than {MAX_JSON_DEPTH}") from exc
    except msgspec.DecodeError as exc:
        raise Rejected("invalid_json", f"not JSON: {str(exc)[:200]}") from exc
    if not isinstance(value, dict):
        raise Rejected("invalid_envelope", "the message is not a JSON object")
    # A text cannot nest deeper than its count of opening brackets: most messages need no walk at all.
    brackets = raw.count(b"{") + raw.count(b"[")
    if brackets > MAX_JSON_DEPTH and _depth(value, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        raise Rejected("invalid_envelope", f"JSON nested deeper than {MAX_JSON_DEPTH}")
    return value


def parse_envelope(raw: bytes | None) -> Envelope:
    value = loads(raw)
    try:
        return Envelope.model_validate(value)
    except ValidationError as exc:
        raise Rejected("invalid_envelope", describe(exc)) from exc


def describe(exc: ValidationError) -> str:
    """A short, stable rendering of a validation error for `x-error-message`."""
    parts = []
    for error in exc.errors(include_url=False, include_input=False)[:5]:
        where = ".".join(str(p) for p in error["loc"]) or "(root)"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)[:1000]
