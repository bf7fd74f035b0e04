"""What the AsyncAPI document says of each service (`deploy/asyncapi/generate.py`): the topics it publishes
to and the schema of one message of a topic (the envelope, one alternative per event type with its `data`
model). Declarations only: output events go through the outbox relay and `Producer`."""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal, cast

from faststream.kafka import KafkaBroker
from pydantic import create_model

from shared.events.envelope import Envelope
from shared.events.registry import DATA_MODELS
from shared.topics import EVENT_TYPES, Topic, topic_name


@dataclass(frozen=True, slots=True)
class Publication:
    """A topic the service publishes to, declared for the AsyncAPI document only (the outbox relay publishes)."""

    topic: Topic
    description: str
    event_types: tuple[str, ...] = ()
    """The event types the service publishes there; all of the topic's (`shared.topics.EVENT_TYPES`) if empty."""


DEAD_LETTER_PUBLICATION = Publication(
    Topic.DEAD_LETTERS,
    "Messages a consumer rejected (bad input, a broken business rule, an event that keeps failing), copied "
    "unchanged (key, value and headers) with headers saying why and whence: x-error-code, x-error-message, "
    "x-original-topic, x-original-partition, x-original-offset, x-consumer-group, x-failed-at. "
    "`pulse dlq list` shows them, `pulse dlq replay` sends them back to their topic.",
)


def declare_publications(broker: KafkaBroker, service: str, publications: Iterable[Publication], prefix: str) -> None:
    """Declare `service`'s output topics on `broker`, for the AsyncAPI document only."""
    for publication in publications:
        broker.publisher(
            topic_name(publication.topic, prefix),
            title=f"{service}:publishes:{publication.topic}",
            description=publication.description,
            schema=message_schema(publication.topic, publication.event_types),
        )


def message_schema(topic: Topic, event_types: Iterable[str] = ()) -> Any:
    """The type of one message of `topic`, for the AsyncAPI document: the envelope, one alternative per event
    type (sorted) with `event_type` fixed and `data` typed by its model. Dead letters are the rejected bytes."""
    names = sorted(event_types or EVENT_TYPES.get(topic, ()))
    if not names:
        return bytes
    models: list[Any] = [_envelope_model(name) for name in names]
    return functools.reduce(operator.or_, models)


@functools.cache
def _envelope_model(event_type: str) -> type[Envelope]:
    data_model = DATA_MODELS[event_type]
    return create_model(
        f"{data_model.__name__}Event",
        __base__=Envelope,
        __doc__=f"A `{event_type}` event: the envelope (CONTRACT §1), `data` a {data_model.__name__}.",
        event_type=(cast(Any, Literal)[event_type], ...),
        data=(data_model, ...),
    )
