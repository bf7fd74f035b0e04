"""Dead letters (CONTRACT §1): the rejected message copied unchanged, with headers that say why and whence."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from shared.kafka.producer import OutboundRecord

X_HEADERS = (
    "x-error-code",
    "x-error-message",
    "x-original-topic",
    "x-original-partition",
    "x-original-offset",
    "x-consumer-group",
    "x-failed-at",
)


@dataclass(frozen=True, slots=True)
class InboundRecord:
    """One consumed Kafka record, independent of the client library's type."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    timestamp_ms: int


def dead_letter(
    record: InboundRecord, *, code: str, message: str, group: str, dead_letter_topic: str
) -> OutboundRecord:
    # A replayed dead letter that fails again carries our headers already: replace, never duplicate them.
    kept = tuple((k, v) for k, v in record.headers if k not in X_HEADERS)
    failed_at = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    ours = (
        ("x-error-code", code.encode()),
        ("x-error-message", message[:2000].encode("utf-8", "replace")),
        ("x-original-topic", record.topic.encode()),
        ("x-original-partition", str(record.partition).encode()),
        ("x-original-offset", str(record.offset).encode()),
        ("x-consumer-group", group.encode()),
        ("x-failed-at", failed_at.encode()),
    )
    # A tombstone has no value; a dead letter must have one, so it gets an empty value.
    return OutboundRecord(topic=dead_letter_topic, value=record.value or b"", key=record.key, headers=kept + ours)
