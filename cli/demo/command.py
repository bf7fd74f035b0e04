"""`pulse demo [--seed N] [--out FILE.jsonl] [--part loans|wealth|all] [--today YYYY-MM-DD]` (CONTRACT §5).

Generates the demo data set, deterministic for a seed and a `today`, dated up to `today − 1`. With
`--out` the envelopes are written as JSON lines, each naming its `topic` (what `pulse publish` reads);
otherwise they are published in order, in chunks, each message under the key CONTRACT §1 prescribes.

A part is a pure generator `(seed: int, *, today: date) -> list[envelope dict]`, listed in `PARTS` as
"module:function": adding the wealth demo is one line there.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import importlib
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, cast

from shared.events.envelope import dumps
from shared.kafka.connection import KafkaConnection
from shared.kafka.lag import wait_caught_up
from shared.kafka.producer import OutboundRecord, Producer
from shared.settings import get_settings
from shared.topics import EVENT_TYPES, Topic, consumer_group, key_for, topic_name

PARTS: dict[str, str] = {
    "loans": "cli.demo.loans:generate_loan_book",
    "wealth": "cli.demo.wealth:generate_wealth_book",
}
KNOWN_PARTS = ("loans", "wealth")
ALL = "all"
CHUNK = 5_000
INGEST_TIMEOUT = 900.0  # seconds to wait for each consumer group to take what was published
INBOUND = (Topic.LOAN_EVENTS, Topic.WEALTH_EVENTS, Topic.CONTROL)


class Generator(Protocol):
    def __call__(self, seed: int, *, today: dt.date) -> list[dict[str, Any]]: ...


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("demo", help="publish a realistic demo data set (or write it to a JSON-lines file)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7): same seed, same data")
    parser.add_argument("--out", metavar="FILE.jsonl", help="write the envelopes to this file instead of publishing")
    parser.add_argument("--part", choices=(*KNOWN_PARTS, ALL), default=ALL, help="which data set (default all)")
    parser.add_argument(
        "--today",
        type=_date,
        default=None,
        help="the day the data set leads up to, YYYY-MM-DD (default today, UTC); the last business day is the "
        "day before",
    )
    parser.add_argument(
        "--no-wait", action="store_true", help="return once published, without waiting for the services to take it in"
    )
    parser.set_defaults(func=run)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from exc


def generator(spec: str) -> Generator:
    module_name, _, function = spec.partition(":")
    return cast(Generator, getattr(importlib.import_module(module_name), function))


def topic_of(event_type: str) -> Topic:
    for topic in INBOUND:
        if event_type in EVENT_TYPES[topic]:
            return topic
    raise ValueError(f"event type {event_type!r} is not an inbound event")


def to_record(envelope: dict[str, Any], prefix: str) -> OutboundRecord:
    event_type = str(envelope["event_type"])
    topic = topic_of(event_type)
    key = key_for(topic, event_type, envelope["data"])
    return OutboundRecord(
        topic=topic_name(topic, prefix),
        value=dumps(envelope),
        key=key.encode() if key is not None else None,
    )


def generate(part: str, seed: int, today: dt.date) -> list[dict[str, Any]]:
    """The envelopes of one part, or of every available part (`all`), in publishing order; a part
    that is not available yet is reported on stderr."""
    names = KNOWN_PARTS if part == ALL else (part,)
    envelopes: list[dict[str, Any]] = []
    for name in names:
        spec = PARTS.get(name)
        if spec is None:
            print(f"{name} demo data not available yet", file=sys.stderr)
            continue
        envelopes += generator(spec)(seed, today=today)
    return envelopes


def write_jsonl(envelopes: Sequence[dict[str, Any]], path: Path) -> int:
    """Write one envelope per line with its `topic` first; returns the file's size in bytes."""
    with path.open("wb") as out:
        for envelope in envelopes:
            out.write(dumps({"topic": str(topic_of(str(envelope["event_type"]))), **envelope}))
            out.write(b"\n")
    return path.stat().st_size


# Downstream of the snapshotter, in the order the read model is built: every service relays its output events
# before it commits its input offsets, so a group caught up here means the next topic already holds all it
# will get from that input.
DERIVED: tuple[tuple[str, Topic], ...] = (
    ("returns", Topic.SNAPSHOTS),
    ("aggregator", Topic.SNAPSHOTS),
    ("aggregator", Topic.RETURNS),
    ("alerter", Topic.AGGREGATES),
    ("aggregator", Topic.ALERTS),
)


async def publish(envelopes: Sequence[dict[str, Any]], *, wait: float = INGEST_TIMEOUT) -> Counter[str]:
    """Publish the data events, then the control events, and wait (up to `wait` s per consumer group) until
    the read model holds all of it: the snapshotter has taken everything, the day close included, and the
    services after it have caught up, so the dashboard shows the whole demo when this returns.

    Publishing the close right behind its history is safe: the snapshotter holds a close back until the loan
    events published before it are ingested (services/snapshotter/handlers.py LOAN_INGEST)."""
    settings = get_settings()
    records = [to_record(envelope, settings.topic_prefix) for envelope in envelopes]
    control = topic_name(Topic.CONTROL, settings.topic_prefix)
    data = [r for r in records if r.topic != control]
    closes = [r for r in records if r.topic == control]
    async with Producer(settings.kafka(), client_id="pulse-demo", service="cli") as producer:
        for start in range(0, len(data), CHUNK):
            chunk = data[start : start + CHUNK]
            await producer.send_all(chunk)
            print(f"published {start + len(chunk)}/{len(data)}", flush=True)
        await producer.send_all(closes)
    if wait > 0:
        prefix = settings.topic_prefix
        published = [("snapshotter", Topic(t[len(prefix) :])) for t in sorted({r.topic for r in records})]
        await wait_for_read_model(settings.kafka(), prefix, [*published, *DERIVED], wait)
    return Counter(r.topic for r in records)


async def wait_for_read_model(
    kafka: KafkaConnection, prefix: str, groups: Sequence[tuple[str, Topic]], within: float
) -> None:
    for service, topic in groups:
        name = topic_name(topic, prefix)
        print(f"waiting for {service} to take {name} …", flush=True)
        lag = await wait_caught_up(kafka, consumer_group(service, topic, prefix), name, within=within)
        if lag != 0:
            print(f"{service} has not caught up on {name} (lag {lag}) within {within:.0f} s", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    today: dt.date = args.today or dt.datetime.now(dt.UTC).date()
    envelopes = generate(args.part, args.seed, today)
    if not envelopes:
        return 1
    by_type = Counter(str(e["event_type"]) for e in envelopes)
    days = [str(e["occurred_at"])[:10] for e in envelopes]
    first, last = min(days), max(days)
    print(f"demo data set: {len(envelopes)} events from {first} to {last} (seed {args.seed})")
    for event_type, n in sorted(by_type.items()):
        print(f"  {n:>7} {event_type}")
    if args.out:
        size = write_jsonl(envelopes, Path(args.out))
        print(f"wrote {len(envelopes)} envelopes ({size} bytes) to {args.out}")
        return 0
    per_topic = asyncio.run(publish(envelopes, wait=0 if args.no_wait else INGEST_TIMEOUT))
    for topic, n in sorted(per_topic.items()):
        print(f"{n} published to {topic}")
    return 0
