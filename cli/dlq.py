"""`pulse dlq list` shows dead letters; `pulse dlq replay` publishes chosen ones back to their original topic.

A dead letter is named by its position in `dead-letters`: `PARTITION:OFFSET`. Replay sends the original
value, key and headers (without the `x-…` headers) to `x-original-topic`; the consumers had not recorded
the rejected event_id, so a corrected consumer processes it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.kafka.connection import KafkaConnection
from shared.kafka.deadletter import X_HEADERS
from shared.kafka.producer import OutboundRecord, Producer
from shared.settings import get_settings
from shared.topics import Topic, topic_name


@dataclass(frozen=True, slots=True)
class DeadLetter:
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...]

    @property
    def position(self) -> str:
        return f"{self.partition}:{self.offset}"

    def header(self, name: str) -> str:
        for k, v in self.headers:
            if k == name:
                return v.decode("utf-8", "replace")
        return ""

    def as_json(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "code": self.header("x-error-code"),
            "message": self.header("x-error-message"),
            "original_topic": self.header("x-original-topic"),
            "original_position": f"{self.header('x-original-partition')}:{self.header('x-original-offset')}",
            "consumer_group": self.header("x-consumer-group"),
            "failed_at": self.header("x-failed-at"),
            "key": self.key.decode("utf-8", "replace") if self.key is not None else None,
            "value": self.value.decode("utf-8", "replace"),
        }

    def replay_record(self) -> OutboundRecord:
        return OutboundRecord(
            topic=self.header("x-original-topic"),
            value=self.value,
            key=self.key,
            headers=tuple((k, v) for k, v in self.headers if k not in X_HEADERS),
        )


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("dlq", help="inspect and replay dead letters")
    actions = parser.add_subparsers(dest="dlq_command", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="show dead letters, oldest first")
    listing.add_argument("--code", help="only this x-error-code")
    listing.add_argument("--limit", type=int, default=100)
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(func=run_list)
    replay = actions.add_parser("replay", help="publish dead letters back to their original topic")
    choice = replay.add_mutually_exclusive_group(required=True)
    choice.add_argument("--position", action="append", metavar="PARTITION:OFFSET", help="repeatable")
    choice.add_argument("--code", help="every dead letter with this x-error-code")
    choice.add_argument("--all", action="store_true")
    replay.add_argument("--dry-run", action="store_true")
    replay.set_defaults(func=run_replay)


async def read_all(kafka: KafkaConnection, topic: str) -> list[DeadLetter]:
    """Every record of `topic` up to its current end, without joining a consumer group."""
    # Subscribed without a group, the consumer is assigned every partition of the topic.
    consumer = AIOKafkaConsumer(
        topic, **kafka.options(), enable_auto_commit=False, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        partitions = list(consumer.assignment())
        if not partitions:
            return []
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        letters: list[DeadLetter] = []
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            batches = await consumer.getmany(timeout_ms=1000)
            for records in batches.values():
                letters.extend(
                    DeadLetter(r.partition, r.offset, r.key, r.value or b"", tuple(r.headers or ()))
                    for r in records
                    if r.offset < ends[TopicPartition(r.topic, r.partition)]
                )
        return sorted(letters, key=lambda d: (d.header("x-failed-at"), d.partition, d.offset))
    finally:
        await _stop(consumer)


async def _stop(consumer: AIOKafkaConsumer) -> None:
    # aiokafka 0.14's group-less consumer re-raises the CancelledError of its own cancelled background task
    # on stop(); absorb it unless this task itself is being cancelled.
    try:
        await consumer.stop()
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise


async def _letters() -> list[DeadLetter]:
    settings = get_settings()
    return await read_all(settings.kafka(), topic_name(Topic.DEAD_LETTERS, settings.topic_prefix))


async def run_list(args: argparse.Namespace) -> int:
    letters = [d for d in await _letters() if args.code is None or d.header("x-error-code") == args.code]
    shown = letters[: args.limit]
    for letter in shown:
        item = letter.as_json()
        if args.json:
            print(json.dumps(item, ensure_ascii=False))
        else:
            value = item["value"][:80].replace("\n", " ")
            columns = (f"{item['position']:>10}", f"{item['code']:<28}", f"{item['original_topic']:<16}")
            print(*columns, item["failed_at"], value)
    if not args.json:
        print(f"{len(shown)} of {len(letters)} dead letters shown", file=sys.stderr)
    return 0


async def run_replay(args: argparse.Namespace) -> int:
    letters = await _letters()
    if args.position:
        by_position = {d.position: d for d in letters}
        missing = [p for p in args.position if p not in by_position]
        if missing:
            print(f"pulse dlq replay: no dead letter at {', '.join(missing)}", file=sys.stderr)
            return 1
        chosen = [by_position[p] for p in args.position]
    elif args.code:
        chosen = [d for d in letters if d.header("x-error-code") == args.code]
    else:
        chosen = letters
    records = [d.replay_record() for d in chosen]
    if args.dry_run:
        for d in chosen:
            print(f"would replay {d.position} to {d.header('x-original-topic')}")
        return 0
    settings = get_settings()
    async with Producer(settings.kafka(), client_id="pulse-cli", service="cli") as producer:
        await producer.send_all(records)
    print(f"{len(records)} dead letters replayed")
    return 0
