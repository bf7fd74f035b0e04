"""`pulse publish FILE.jsonl`: publish envelopes, one per line, each to its topic under the contract's key.

A line may name its `topic` (removed before publishing); otherwise the topic follows from `event_type`.
Envelopes are not validated here: the consumers do that, so bad input can be published on purpose and
watched arriving in `dead-letters`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from decimal import Decimal
from typing import Any

from shared.events.envelope import dumps
from shared.kafka.producer import OutboundRecord, Producer
from shared.settings import get_settings
from shared.topics import EVENT_TYPES, Topic, key_for, topic_name

INBOUND = (Topic.LOAN_EVENTS, Topic.WEALTH_EVENTS, Topic.CONTROL)


class LineError(ValueError):
    pass


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("publish", help="publish envelopes from a JSON-lines file ('-' for stdin)")
    parser.add_argument("file", help="FILE.jsonl, or - for standard input")
    parser.set_defaults(func=run)


def topic_of(envelope: dict[str, Any], named: object) -> Topic:
    if named is not None:
        try:
            return Topic(str(named))
        except ValueError as exc:
            raise LineError(f"unknown topic {named!r}") from exc
    event_type = envelope.get("event_type")
    for topic in INBOUND:
        if event_type in EVENT_TYPES[topic]:
            return topic
    raise LineError(f'cannot tell the topic of event_type {event_type!r}; name it with "topic"')


def to_record(line: str, prefix: str) -> OutboundRecord:
    try:
        envelope = json.loads(line, parse_float=Decimal)
    except ValueError as exc:
        raise LineError(f"not JSON: {exc}") from exc
    if not isinstance(envelope, dict):
        raise LineError("not a JSON object")
    topic = topic_of(envelope, envelope.pop("topic", None))
    raw_data = envelope.get("data")
    data: dict[str, object] = raw_data if isinstance(raw_data, dict) else {}
    key = key_for(topic, str(envelope.get("event_type")), data)
    return OutboundRecord(
        topic=topic_name(topic, prefix), value=dumps(envelope), key=key.encode() if key is not None else None
    )


def read_records(text: str, prefix: str) -> list[OutboundRecord]:
    records, errors = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(to_record(line, prefix))
        except LineError as exc:
            errors.append(f"line {number}: {exc}")
    if errors:
        raise LineError("\n".join(errors))
    return records


async def run(args: argparse.Namespace) -> int:
    settings = get_settings()
    text = sys.stdin.read() if args.file == "-" else open(args.file, encoding="utf-8").read()  # noqa: ASYNC230, SIM115
    try:
        records = read_records(text, settings.topic_prefix)
    except LineError as exc:
        print(f"pulse publish: nothing published:\n{exc}", file=sys.stderr)
        return 1
    async with Producer(settings.kafka(), client_id="pulse-cli", service="cli") as producer:
        await producer.send_all(records)
    for topic, n in sorted(Counter(r.topic for r in records).items()):
        print(f"{n} published to {topic}")
    return 0
