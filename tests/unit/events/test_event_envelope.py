"""Rejections at the level of the message and the envelope (CONTRACT §1), whatever the event type."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from shared.events import Rejected, parse_event
from shared.events.envelope import MAX_JSON_DEPTH, MAX_MESSAGE_BYTES
from shared.topics import Topic
from tests.unit.events import CLIENT_EXITED, MISSING, envelope, parse, rejected, rejection, with_

pytestmark = pytest.mark.unit

LOANS = Topic.LOAN_EVENTS


def test_a_valid_envelope_is_read_exactly() -> None:
    event = parse(LOANS, "client.exited", CLIENT_EXITED, event_id="5b0c:lms.2025-10_08", source="lms")
    assert event.envelope.event_id == "5b0c:lms.2025-10_08"
    assert event.envelope.event_type == "client.exited"
    assert event.envelope.schema_version == 1
    assert event.envelope.source == "lms"
    assert event.envelope.occurred_at == dt.datetime(2025, 10, 8, 9, 30, tzinfo=dt.UTC)


def test_occurred_at_keeps_its_offset() -> None:
    event = parse(LOANS, "client.exited", CLIENT_EXITED, occurred_at="2025-10-08T12:30:00.250+03:00")
    assert event.envelope.occurred_at == dt.datetime(2025, 10, 8, 9, 30, 0, 250_000, tzinfo=dt.UTC)
    assert event.envelope.occurred_at.utcoffset() == dt.timedelta(hours=3)


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"not json", id="not-json"),
        pytest.param(b"", id="empty"),
        pytest.param(b'{"event_id": "a"', id="truncated"),
        pytest.param(b'{"event_id": "caf\xe9"}', id="latin-1-not-utf8"),
        pytest.param(b"\xff\xfe{\x00}\x00", id="utf16"),
        pytest.param(None, id="tombstone"),
        pytest.param(b'{"a": NaN}', id="NaN-literal"),
        pytest.param(b'{"a": Infinity}', id="Infinity-literal"),
    ],
)
def test_what_is_not_json_is_invalid_json(raw: bytes | None) -> None:
    assert rejection(LOANS, raw) == "invalid_json"


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"[]", id="array"),
        pytest.param(b'[{"event_id": "a"}]', id="array-of-object"),
        pytest.param(b'"text"', id="string"),
        pytest.param(b"42", id="number"),
        pytest.param(b"null", id="null"),
    ],
)
def test_json_that_is_not_an_object_is_an_invalid_envelope(raw: bytes) -> None:
    assert rejection(LOANS, raw) == "invalid_envelope"


@pytest.mark.parametrize("key", ["event_id", "event_type", "occurred_at", "source", "data"])
def test_a_missing_envelope_field_is_an_invalid_envelope(key: str) -> None:
    assert rejected(LOANS, "client.exited", CLIENT_EXITED, **{key: MISSING}) == "invalid_envelope"


@pytest.mark.parametrize(
    "event_id",
    [
        pytest.param("evt 1", id="space"),
        pytest.param("a" * 65, id="65-chars"),
        pytest.param("", id="empty"),
        pytest.param("evt/1", id="slash"),
        pytest.param("evt-1\n", id="trailing-newline"),
        pytest.param("évt", id="non-ascii"),
        pytest.param(12345, id="number"),
        pytest.param(None, id="null"),
    ],
)
def test_a_malformed_event_id_is_an_invalid_envelope(event_id: object) -> None:
    assert rejected(LOANS, "client.exited", CLIENT_EXITED, event_id=event_id) == "invalid_envelope"


def test_an_event_id_of_64_chars_is_accepted() -> None:
    event_id = "A1._:-" + "z" * 58
    assert len(event_id) == 64
    assert parse(LOANS, "client.exited", CLIENT_EXITED, event_id=event_id).envelope.event_id == event_id


@pytest.mark.parametrize(
    "occurred_at",
    [
        pytest.param("2025-10-08T09:30:00", id="no-offset"),
        pytest.param("2025-10-08", id="date-only"),
        pytest.param("yesterday", id="words"),
        pytest.param("2025-13-08T09:30:00Z", id="month-13"),
        pytest.param(1759915800, id="unix-number"),
        pytest.param(1759915800.5, id="float"),
        pytest.param(None, id="null"),
    ],
)
def test_a_bad_occurred_at_is_an_invalid_envelope(occurred_at: object) -> None:
    assert rejected(LOANS, "client.exited", CLIENT_EXITED, occurred_at=occurred_at) == "invalid_envelope"


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        pytest.param({"data": []}, "invalid_envelope", id="data-array"),
        pytest.param({"data": None}, "invalid_envelope", id="data-null"),
        pytest.param({"source": ""}, "invalid_envelope", id="empty-source"),
        pytest.param({"event_type": ""}, "invalid_envelope", id="empty-event-type"),
        pytest.param({"unexpected": 1}, "invalid_envelope", id="extra-envelope-field"),
        pytest.param({"schema_version": 0}, "invalid_envelope", id="version-0"),
        pytest.param({"schema_version": "1"}, "invalid_envelope", id="version-string"),
        pytest.param({"schema_version": True}, "invalid_envelope", id="version-true"),
        pytest.param({"schema_version": 2}, "unsupported_schema_version", id="version-2"),
    ],
)
def test_envelope_fields_are_checked(overrides: dict[str, object], code: str) -> None:
    assert rejected(LOANS, "client.exited", CLIENT_EXITED, **overrides) == code


def test_schema_version_defaults_to_1() -> None:
    event = parse(LOANS, "client.exited", CLIENT_EXITED, schema_version=MISSING)
    assert event.envelope.schema_version == 1


@pytest.mark.parametrize(
    ("topic", "event_type"),
    [
        pytest.param(LOANS, "loan.refinanced", id="unknown"),
        pytest.param(LOANS, "LOAN.DISBURSED", id="wrong-case"),
        pytest.param(LOANS, "portfolio.valued", id="wealth-type-on-loans"),
        pytest.param(Topic.WEALTH_EVENTS, "client.registered", id="loan-type-on-wealth"),
        pytest.param(Topic.CONTROL, "client.exited", id="loan-type-on-control"),
        pytest.param(Topic.ALERTS, "notification.delivered", id="notification-type-on-alerts"),
        pytest.param(Topic.DEAD_LETTERS, "client.exited", id="dead-letters-topic"),
    ],
)
def test_an_event_type_not_of_the_topic_is_unknown(topic: Topic, event_type: str) -> None:
    assert rejected(topic, event_type, CLIENT_EXITED) == "unknown_event_type"


def test_unknown_event_type_wins_over_unsupported_version() -> None:
    assert rejected(LOANS, "loan.refinanced", {}, schema_version=2) == "unknown_event_type"


def test_an_unsupported_version_is_reported_before_its_data_is_read() -> None:
    assert rejected(LOANS, "client.exited", {"whatever": True}, schema_version=2) == ("unsupported_schema_version")


def test_an_extra_field_in_data_is_invalid_data() -> None:
    code = rejected(LOANS, "client.exited", with_(CLIENT_EXITED, reason="moved"))
    assert code == "invalid_data"


def test_invalid_data_names_the_field_in_its_message() -> None:
    with pytest.raises(Rejected) as caught:
        parse(LOANS, "client.exited", with_(CLIENT_EXITED, exited_on="31/12/2025"))
    assert caught.value.code == "invalid_data"
    assert "exited_on" in caught.value.message


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_very_deep_nesting_is_rejected_not_a_recursion_error(depth: int) -> None:
    raw = b'{"event_id":"e","event_type":"client.exited","schema_version":1,'
    raw += b'"occurred_at":"2025-10-08T09:30:00Z","source":"t","data":{"x":' + _nested(depth).encode() + b"}}"
    # Python's decoder gives up (invalid_json) or the depth check does (invalid_envelope): never a crash.
    assert rejection(LOANS, raw) in {"invalid_json", "invalid_envelope"}


def test_nesting_past_the_depth_limit_is_an_invalid_envelope() -> None:
    data = with_(CLIENT_EXITED, x=json.loads(_nested(MAX_JSON_DEPTH)))
    assert rejected(LOANS, "client.exited", data) == "invalid_envelope"


def test_a_message_over_the_size_limit_is_too_large() -> None:
    raw = envelope("client.exited", with_(CLIENT_EXITED, padding="x" * 2_000_000))
    assert len(raw) > 2_000_000
    assert rejection(LOANS, raw) == "message_too_large"


def test_a_message_just_under_the_size_limit_is_read() -> None:
    raw = envelope("client.exited", with_(CLIENT_EXITED, padding=""))
    raw = raw.replace(b'"padding":""', b'"padding":"' + b"x" * (MAX_MESSAGE_BYTES - len(raw)) + b'"')
    assert len(raw) == MAX_MESSAGE_BYTES
    # Not too large: it reaches the data model, which does not know `padding`.
    assert rejection(LOANS, raw) == "invalid_data"


def test_a_utf8_bom_or_non_ascii_text_is_handled() -> None:
    data = {"client_id": "W-1", "name": "Zoë Ångström 山田"}
    event = parse_event(Topic.WEALTH_EVENTS, envelope("client.onboarded", data))
    assert event.data.model_dump()["name"] == "Zoë Ångström 山田"
    assert rejection(Topic.WEALTH_EVENTS, b"\xef\xbb\xbf" + envelope("client.onboarded", data)) == ("invalid_json")
