"""Who may do what on Kafka: each service's SASL user reads the topics it consumes and writes the topics it
publishes, and nothing else (no topic of another's, no other service's consumer groups); the operator's user
(`pulse-operator`, the `pulse` command's) handles dead letters and stands in for upstream systems. The one
access policy of the brokers, written as a spec for `deploy/local/KafkaAccess.java`:

    python -m shared.kafka.access [--prefix P] [--group-prefix G] [--dev]   # the spec on standard output

Each user is `pulse-<service>` or `pulse-operator`; its password comes from PULSE_KAFKA_PASSWORD_<SERVICE> or
PULSE_KAFKA_PASSWORD_OPERATOR (with `--dev`, the local stack's development password `pulse` when unset; a user
without a password is left as it is).
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
# The `pulse` command's user, an operator's. It reads the dead letters (`pulse dlq list`, in no consumer
# group) and writes every topic a service consumes: `pulse dlq replay` puts a letter back where it came from,
# `pulse publish` and `pulse demo` stand in for the upstream systems, `pulse snapshots generate` asks for a
# close. It reads the services' group offsets (`pulse demo` waits for them to catch up) but joins no group.
OPERATOR = "operator"
OPERATOR_READS: tuple[Topic, ...] = (Topic.DEAD_LETTERS,)
OPERATOR_WRITES: tuple[Topic, ...] = tuple(t for t in Topic if any(t in topics for topics in READS.values()))
USERS = (*READS, OPERATOR)
DEV_PASSWORD = "pulse"  # noqa: S105  # the local stack's development password, as for PostgreSQL


def user_of(service: str) -> str:
    return f"pulse-{service}"


def spec(prefix: str, passwords: Mapping[str, str], *, group_prefix: str | None = None) -> list[str]:
    """The users (those with a password) and ACLs of every service and the operator for the topics of `prefix`
    and the consumer groups of `group_prefix` (PULSE_GROUP_PREFIX; the topic prefix when None, as
    shared.service has it)."""
    groups = prefix if group_prefix is None else group_prefix
    lines = [f"user {user_of(s)} {passwords[s]}" for s in USERS if s in passwords]
    for service in READS:
        user = user_of(service)
        lines += [f"allow {user} TOPIC LITERAL {topic_name(t, prefix)} READ" for t in READS[service]]
        lines += [f"allow {user} TOPIC LITERAL {topic_name(t, prefix)} WRITE" for t in WRITES[service]]
        if READS[service]:
            # Its consumer groups (shared.topics.consumer_group), and no one else's.
            lines.append(f"allow {user} GROUP PREFIXED {groups}pulse.{service}. READ")
    operator = user_of(OPERATOR)
    lines += [f"allow {operator} TOPIC LITERAL {topic_name(t, prefix)} READ" for t in OPERATOR_READS]
    lines += [f"allow {operator} TOPIC LITERAL {topic_name(t, prefix)} WRITE" for t in OPERATOR_WRITES]
    lines.append(f"allow {operator} GROUP PREFIXED {groups}pulse. DESCRIBE")
    return lines


def withdrawal(prefix: str, *, group_prefix: str | None = None) -> list[str]:
    """The spec that takes away every right on the topics of `prefix` and the consumer groups of `group_prefix`
    (once they are gone: deleting a topic leaves its ACLs behind)."""
    groups = prefix if group_prefix is None else group_prefix
    topics = {*_all(READS), *_all(WRITES), *OPERATOR_READS, *OPERATOR_WRITES}
    lines = [f"drop TOPIC LITERAL {topic_name(t, prefix)}" for t in sorted(topics)]
    lines += [f"drop GROUP PREFIXED {groups}pulse.{service}." for service in READS if READS[service]]
    return [*lines, f"drop GROUP PREFIXED {groups}pulse."]


def _all(topics: Mapping[str, tuple[Topic, ...]]) -> set[Topic]:
    return {topic for service_topics in topics.values() for topic in service_topics}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.kafka.access", description=__doc__)
    parser.add_argument("--prefix", default=os.environ.get("PULSE_TOPIC_PREFIX", ""))
    parser.add_argument("--group-prefix", default=os.environ.get("PULSE_GROUP_PREFIX"))
    parser.add_argument("--dev", action="store_true", help="the development password for users without one")
    args = parser.parse_args(argv)
    passwords = {}
    for service in USERS:
        password = os.environ.get(f"PULSE_KAFKA_PASSWORD_{service.upper()}") or (DEV_PASSWORD if args.dev else None)
        if password:
            passwords[service] = password
    sys.stdout.write("\n".join(spec(args.prefix, passwords, group_prefix=args.group_prefix)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
