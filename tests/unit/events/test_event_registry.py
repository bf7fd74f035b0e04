"""The registry: every event type has a data model on the right topic, and parse_event returns it."""

from __future__ import annotations

import dataclasses

import pytest

import shared.events
from shared.events import DATA_MODELS, Event, EventData, Rejected, data_model, parse_event
from shared.events.registry import parse_wanted
from shared.topics import EVENT_TYPES, Topic
from tests.unit.events import OFFICER, REPAYMENT, VALID, envelope, with_

pytestmark = pytest.mark.unit

INBOUND_TOPICS = (Topic.LOAN_EVENTS, Topic.WEALTH_EVENTS, Topic.CONTROL)


def test_every_inbound_and_control_event_type_has_a_model() -> None:
    for topic in INBOUND_TOPICS:
        assert EVENT_TYPES[topic] <= DATA_MODELS.keys(), topic
    assert "alert.acknowledged" in DATA_MODELS


def test_every_model_is_for_an_event_type_some_topic_lists() -> None:
    listed = frozenset().union(*EVENT_TYPES.values())
    assert DATA_MODELS.keys() <= listed


def test_every_model_is_event_data() -> None:
    for event_type, model in DATA_MODELS.items():
        assert issubclass(model, EventData), event_type


def test_every_registered_type_has_a_valid_example_in_these_tests() -> None:
    assert VALID.keys() == DATA_MODELS.keys()


@pytest.mark.parametrize("event_type", sorted(VALID))
def test_parse_event_returns_the_typed_model(event_type: str) -> None:
    topic, data = VALID[event_type]
    event = parse_event(topic, envelope(event_type, data))
    assert isinstance(event, Event)
    assert type(event.data) is DATA_MODELS[event_type]
    assert event.envelope.event_type == event_type
    assert event.envelope.data == data


@pytest.mark.parametrize("event_type", sorted(VALID))
def test_each_event_type_is_unknown_on_every_other_topic(event_type: str) -> None:
    topic, data = VALID[event_type]
    for other in Topic:
        if other is not topic:
            with pytest.raises(Rejected) as caught:
                parse_event(other, envelope(event_type, data))
            assert caught.value.code == "unknown_event_type"


def test_parse_event_accepts_the_plain_topic_name() -> None:
    topic, data = VALID["client.exited"]
    assert parse_event(Topic(str(topic)), envelope("client.exited", data)).data == (
        parse_event(topic, envelope("client.exited", data)).data
    )


def test_data_model_lookup() -> None:
    assert data_model("loan.disbursed") is shared.events.LoanDisbursed
    with pytest.raises(Rejected) as caught:
        data_model("loan.refinanced")
    assert caught.value.code == "unknown_event_type"


def test_event_is_immutable() -> None:
    topic, data = VALID["client.exited"]
    event = parse_event(topic, envelope("client.exited", data))
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.data = event.data  # type: ignore[misc]
    with pytest.raises(ValueError, match="frozen"):
        event.data.client_id = "other"  # type: ignore[attr-defined]


def test_the_package_exports_what_it_lists() -> None:
    for name in shared.events.__all__:
        assert hasattr(shared.events, name), name


def test_models_round_trip_through_json() -> None:
    for event_type, (topic, data) in VALID.items():
        parsed = parse_event(topic, envelope(event_type, data)).data
        again = type(parsed).model_validate_json(parsed.model_dump_json())
        assert again == parsed, event_type


def test_a_subscriber_of_some_event_types_validates_only_their_data() -> None:
    wanted = frozenset({"officer.upserted"})
    officer = parse_wanted(Topic.LOAN_EVENTS, envelope("officer.upserted", OFFICER), wanted)
    assert officer is not None
    assert officer.envelope.event_type == "officer.upserted"
    # Another type's data is its own consumers' business, even when it is invalid...
    bad_repayment = envelope("loan.repayment_received", with_(REPAYMENT, principal="NaN"))
    assert parse_wanted(Topic.LOAN_EVENTS, bad_repayment, wanted) is None
    # ...but a wanted type's data is validated, and a bad envelope or a type foreign to the topic is bad input.
    with pytest.raises(Rejected) as bad_officer:
        parse_wanted(Topic.LOAN_EVENTS, envelope("officer.upserted", with_(OFFICER, role="boss")), wanted)
    assert bad_officer.value.code == "invalid_data"
    with pytest.raises(Rejected) as foreign:
        parse_wanted(Topic.LOAN_EVENTS, envelope("portfolio.valued", {}), wanted)
    assert foreign.value.code == "unknown_event_type"
    with pytest.raises(Rejected) as not_json:
        parse_wanted(Topic.LOAN_EVENTS, b"{", wanted)
    assert not_json.value.code == "invalid_json"
