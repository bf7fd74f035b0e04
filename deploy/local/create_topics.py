"""Create every Pulse topic (shared.topics.PARTITIONS) on the configured broker. Idempotent.

    uv run python deploy/local/create_topics.py

Bootstrap servers and topic prefix come from shared.settings (KAFKA_BOOTSTRAP_SERVERS, PULSE_TOPIC_PREFIX).
Replication factor 1 (a single local broker). Existing topics are left as they are; a topic that exists
with fewer partitions than wanted is reported (not altered).
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from shared.kafka.connection import KafkaConnection
from shared.settings import get_settings
from shared.topics import PARTITIONS, TOPIC_CONFIGS, topic_name

REPLICATION_FACTOR = 1
START_TIMEOUT_S = 60.0


async def _start_admin(kafka: KafkaConnection) -> AIOKafkaAdminClient:
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        admin = AIOKafkaAdminClient(**kafka.options(), request_timeout_ms=15000)
        try:
            await admin.start()
            return admin
        except KafkaError:
            await admin.close()
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(1)


def _partition_counts(described: list[dict[str, object]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for topic in described:
        partitions = topic.get("partitions")
        if isinstance(partitions, list) and topic.get("error_code") == 0:
            counts[str(topic["topic"])] = len(partitions)
    return counts


async def create_topics() -> int:
    settings = get_settings()
    prefix = settings.topic_prefix
    wanted = {topic_name(topic, prefix): count for topic, count in PARTITIONS.items()}
    configs = {topic_name(topic, prefix): config for topic, config in TOPIC_CONFIGS.items()}
    admin = await _start_admin(settings.kafka())
    try:
        existing = set(await admin.list_topics())
        missing = [name for name in wanted if name not in existing]
        if missing:
            response = await admin.create_topics(
                [
                    NewTopic(
                        name,
                        num_partitions=wanted[name],
                        replication_factor=REPLICATION_FACTOR,
                        topic_configs=configs.get(name),
                    )
                    for name in missing
                ]
            )
            for name, code, message in getattr(response, "topic_errors", []):
                if code not in (0, TopicAlreadyExistsError.errno):
                    print(f"create {name}: error {code}: {message}", file=sys.stderr)
                    return 1
        # Topics made before a config was introduced get it too (alter_configs is idempotent).
        await admin.alter_configs(
            [ConfigResource(ConfigResourceType.TOPIC, name, configs=config) for name, config in configs.items()]
        )
        counts = _partition_counts(await admin.describe_topics(list(wanted)))
        status = 0
        for name, count in wanted.items():
            have = counts.get(name)
            if have is None:
                print(f"topic {name} is missing after create", file=sys.stderr)
                status = 1
            elif have < count:
                print(f"topic {name} has {have} partitions, {count} wanted (left as is)", file=sys.stderr)
        created = ", ".join(missing) if missing else "none"
        print(f"topics ok on {settings.kafka_bootstrap_servers}: {len(wanted)} (prefix {prefix!r}; created: {created})")
        return status
    finally:
        await admin.close()


def main() -> None:
    sys.exit(asyncio.run(create_topics()))


if __name__ == "__main__":
    main()
