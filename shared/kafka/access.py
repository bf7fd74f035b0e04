"""Who may do what on Kafka: each service's SASL user reads the topics it consumes and writes the topics it
publishes, and nothing else (no topic of another's, no other service's consumer groups). The one access policy
of the brokers, written as a spec for `deploy/local/KafkaAccess.java`:

    python -m shared.kafka.access [--prefix P] [--dev]   # the spec on standard output

Each user is `pulse-<service>`; its password comes from PULSE_KAFKA_PASSWORD_<SERVICE> (with `--dev`, the
local stack's development password `pulse` when unset; a user without a password is left as it is).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping

from shared.topics import Topic, topic_name

# What each service consumes and publishes: its `__main__`'s subscriptions and publications (every consumer
# also dead-letters what it refuses); tests/unit/kafka/test_access.py holds the two together.
READS: Mapping[str, tuple[Topic, ...]] = {
    "snapshotter": (Topic.LOAN_EVENTS, Topic.WEALTH_EVENTS, Topic.CONTROL),
    "returns": (Topic.SNAPSHOTS,),
    "aggregator": (Topic.SNAPSHOTS, Topic.RETURNS, Topic.ALERTS),
    "alerter": (Topic.LOAN_EVENTS, Topic.AGGREGATES),  # officer.upserted: whom to notify
    "gateway": (),
}
WRITES: Mapping[str, tuple[Topic, ...]] = {
    "snapshotter": (Topic.SNAPSHOTS, Topic.CONTROL, Topic.DEAD_LETTERS),
    "returns": (Topic.RETURNS, Topic.DEAD_LETTERS),
    "aggregator": (Topic.AGGREGATES, Topic.DEAD_LETTERS),
    "alerter": (Topic.ALERTS, Topic.NOTIFICATIONS, Topic.DEAD_LETTERS),
    "gateway": (Topic.CONTROL, Topic.ALERTS),
}
DEV_PASSWORD = "pulse"  # noqa: S105  # the local stack's development password, as for PostgreSQL


def user_of(service: str) -> str:
    return f"pulse-{service}"


def spec(prefix: str, passwords: Mapping[str, str]) -> list[str]:
    """The users (those with a password) and ACLs of every service for the topics of `prefix`."""
    lines = [f"user {user_of(s)} {passwords[s]}" for s in READS if s in passwords]
    for service in READS:
        user = user_of(service)
        lines += [f"allow {user} TOPIC LITERAL {topic_name(t, prefix)} READ" for t in READS[service]]
        lines += [f"allow {user} TOPIC LITERAL {topic_name(t, prefix)} WRITE" for t in WRITES[service]]
        if READS[service]:
            # Its consumer groups (shared.topics.consumer_group), and no one else's.
            lines.append(f"allow {user} GROUP PREFIXED {prefix}pulse.{service}. READ")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.kafka.access", description=__doc__)
    parser.add_argument("--prefix", default=os.environ.get("PULSE_TOPIC_PREFIX", ""))
    parser.add_argument("--dev", action="store_true", help="the development password for users without one")
    args = parser.parse_args(argv)
    passwords = {}
    for service in READS:
        password = os.environ.get(f"PULSE_KAFKA_PASSWORD_{service.upper()}") or (DEV_PASSWORD if args.dev else None)
        if password:
            passwords[service] = password
    sys.stdout.write("\n".join(spec(args.prefix, passwords)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
