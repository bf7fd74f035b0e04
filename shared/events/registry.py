"""From raw message bytes to a typed event: the envelope, then the `data` model of its event type.

To add an event type (e.g. an output event): list it for its topic in `shared.topics.EVENT_TYPES` and add
one line to `DATA_MODELS` below.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from shared.events.aggregates import LoanAggregateUpdated
from shared.events.alerts import (
    AlertAcknowledged,
    AlertRaised,
    AlertResolved,
    NotificationDelivered,
    NotificationFailed,
    NotificationRequested,
)
from shared.events.control import BusinessDayClosed, SnapshotRequested
from shared.events.envelope import Envelope, Rejected, describe, parse_envelope
from shared.events.loans import (
    ClientExited,
    ClientReassigned,
    ClientRegistered,
    LoanDisbursed,
    LoanRepaymentReceived,
    LoanWrittenOff,
    OfficerUpserted,
)
from shared.events.returns import ReturnsComputed
from shared.events.snapshots import LoanSnapshotCreated, WealthSnapshotCreated
from shared.events.types import EventData, Model
from shared.events.wealth import CashFlowRecorded, ClientOnboarded, PortfolioValued
from shared.topics import EVENT_TYPES, Topic

SUPPORTED_SCHEMA_VERSION = 1

# Event type names are unique across topics, so one flat table serves every topic.
DATA_MODELS: dict[str, type[EventData]] = {
    # loan-events
    "officer.upserted": OfficerUpserted,
    "client.registered": ClientRegistered,
    "client.reassigned": ClientReassigned,
    "client.exited": ClientExited,
    "loan.disbursed": LoanDisbursed,
    "loan.repayment_received": LoanRepaymentReceived,
    "loan.written_off": LoanWrittenOff,
    # wealth-events
    "client.onboarded": ClientOnboarded,
    "portfolio.valued": PortfolioValued,
    "cash_flow.recorded": CashFlowRecorded,
    # control
    "business_day.closed": BusinessDayClosed,
    "snapshot.requested": SnapshotRequested,
    # snapshots
    "loan_snapshot.created": LoanSnapshotCreated,
    "wealth_snapshot.created": WealthSnapshotCreated,
    # returns
    "returns.computed": ReturnsComputed,
    # aggregates
    "aggregate.updated": LoanAggregateUpdated,
    # alerts
    "alert.raised": AlertRaised,
    "alert.resolved": AlertResolved,
    "alert.acknowledged": AlertAcknowledged,
    # notifications
    "notification.requested": NotificationRequested,
    "notification.delivered": NotificationDelivered,
    "notification.failed": NotificationFailed,
}

_NO_TYPES: frozenset[str] = frozenset()
_EVENT_TYPE_OF: dict[type[Model], str] = {model: event_type for event_type, model in DATA_MODELS.items()}
_TOPIC_OF: dict[str, Topic] = {event_type: topic for topic, types in EVENT_TYPES.items() for event_type in types}


def event_type_of(data: Model) -> str:
    """The event type whose `data` is `data` (each model is the data of one event type)."""
    return _EVENT_TYPE_OF[type(data)]


def topic_of(event_type: str) -> Topic:
    """The one topic that carries `event_type`."""
    return _TOPIC_OF[event_type]


@dataclass(frozen=True, slots=True)
class Event:
    envelope: Envelope
    data: EventData
    """The typed data model of `envelope.event_type` (see `DATA_MODELS`)."""


def data_model(event_type: str) -> type[EventData]:
    """The model of an event type's `data`; `Rejected("unknown_event_type")` if there is none."""
    model = DATA_MODELS.get(event_type)
    if model is None:
        raise Rejected("unknown_event_type", f"no data model for event type {event_type!r}")
    return model


def parse_event(topic: Topic, raw: bytes | None) -> Event:
    """Parse one message value read from `topic`, or raise `Rejected` with the dead-letter code:
    `invalid_json`, `message_too_large`, `invalid_envelope`, `unknown_event_type`,
    `unsupported_schema_version`, `invalid_data`, or a business-rule code of the event type."""
    envelope, model = _envelope_of(topic, raw)
    return _with_data(envelope, model)


def parse_wanted(topic: Topic, raw: bytes | None, wanted: frozenset[str]) -> Event | None:
    """`parse_event` for a subscriber that uses only the `wanted` event types of the topic: the others are
    checked as far as their envelope and None is returned (their data is the business of their own consumers)."""
    envelope, model = _envelope_of(topic, raw)
    return _with_data(envelope, model) if envelope.event_type in wanted else None


def _envelope_of(topic: Topic, raw: bytes | None) -> tuple[Envelope, type[EventData]]:
    envelope = parse_envelope(raw)
    event_type = envelope.event_type
    model = DATA_MODELS.get(event_type)
    if model is None or event_type not in EVENT_TYPES.get(topic, _NO_TYPES):
        raise Rejected("unknown_event_type", f"event type {event_type!r} is not one of {topic}")
    if envelope.schema_version != SUPPORTED_SCHEMA_VERSION:
        raise Rejected(
            "unsupported_schema_version",
            f"schema_version {envelope.schema_version} of {event_type} is not supported",
        )
    return envelope, model


def _with_data(envelope: Envelope, model: type[EventData]) -> Event:
    try:
        data = model.model_validate(envelope.data)
    except ValidationError as exc:
        raise Rejected("invalid_data", describe(exc)) from exc
    return Event(envelope, data)
