"""Topic names, message keys and the event types each topic may carry (CONTRACT §1)."""

from __future__ import annotations

import functools
from enum import StrEnum


class Topic(StrEnum):
    LOAN_EVENTS = "loan-events"
    WEALTH_EVENTS = "wealth-events"
    CONTROL = "control"
    SNAPSHOTS = "snapshots"
    RETURNS = "returns"
    AGGREGATES = "aggregates"
    ALERTS = "alerts"
    NOTIFICATIONS = "notifications"
    DEAD_LETTERS = "dead-letters"


# A topic's partitions are as many instances of its consumer as can share the work. The inbound topics carry
# the bulk of the traffic (a replay of years of history) and are keyed by client: 24 splits evenly over 1, 2,
# 3, 4, 6, 8, 12 or 24 instances, and costs the broker little. Snapshots and returns (keyed by officer or
# client) feed the returns service and the aggregator: 12. Control is one ordered stream of day closes,
# read by one instance at a time (a close fans out inside the database). Kafka can add partitions later but
# not take them away, and adding them moves keys to other partitions: size them for the largest deployment.
PARTITIONS: dict[Topic, int] = {
    Topic.LOAN_EVENTS: 24,
    Topic.WEALTH_EVENTS: 24,
    Topic.CONTROL: 1,
    Topic.SNAPSHOTS: 12,
    Topic.RETURNS: 12,
    Topic.AGGREGATES: 3,
    Topic.ALERTS: 3,
    Topic.NOTIFICATIONS: 3,
    Topic.DEAD_LETTERS: 3,
}

# A dead letter is the rejected message unchanged plus seven x- headers: its topic must take messages larger
# than any inbound topic does (1 MiB by default), or the largest bad messages could not be dead-lettered.
DEAD_LETTER_MAX_BYTES = 4 * 1024 * 1024
TOPIC_CONFIGS: dict[Topic, dict[str, str]] = {Topic.DEAD_LETTERS: {"max.message.bytes": str(DEAD_LETTER_MAX_BYTES)}}

EVENT_TYPES: dict[Topic, frozenset[str]] = {
    Topic.LOAN_EVENTS: frozenset(
        {
            "officer.upserted",
            "client.registered",
            "client.reassigned",
            "client.exited",
            "loan.disbursed",
            "loan.repayment_received",
            "loan.written_off",
        }
    ),
    Topic.WEALTH_EVENTS: frozenset({"client.onboarded", "portfolio.valued", "cash_flow.recorded"}),
    Topic.CONTROL: frozenset({"business_day.closed", "snapshot.requested"}),
    Topic.SNAPSHOTS: frozenset({"loan_snapshot.created", "wealth_snapshot.created"}),
    Topic.RETURNS: frozenset({"returns.computed"}),
    Topic.AGGREGATES: frozenset({"aggregate.updated"}),
    Topic.ALERTS: frozenset({"alert.raised", "alert.resolved", "alert.acknowledged"}),
    Topic.NOTIFICATIONS: frozenset({"notification.requested", "notification.delivered", "notification.failed"}),
}


def topic_name(topic: Topic | str, prefix: str = "") -> str:
    """The broker-side name: `PULSE_TOPIC_PREFIX` is prepended as it is."""
    return f"{prefix}{topic}"


@functools.cache  # on every consumed message's path; the names are few
def unprefixed(name: str, prefix: str = "") -> Topic | None:
    """The logical topic of a broker-side name, or None if it is not one of ours."""
    if prefix and not name.startswith(prefix):
        return None
    try:
        return Topic(name[len(prefix) :])
    except ValueError:
        return None


def key_for(topic: Topic, event_type: str, data: dict[str, object]) -> str | None:
    """The message key CONTRACT §1 prescribes for an inbound or control event."""
    if topic is Topic.LOAN_EVENTS:
        field = "officer_id" if event_type == "officer.upserted" else "client_id"
        return _str_or_none(data.get(field))
    if topic is Topic.WEALTH_EVENTS:
        return _str_or_none(data.get("client_id"))
    if topic is Topic.CONTROL:
        return _str_or_none(data.get("business_date"))
    return None


def _str_or_none(value: object) -> str | None:
    return None if value is None else str(value)


def consumer_group(service: str, topic: Topic, prefix: str = "") -> str:
    """One consumer group per subscriber; the prefix keeps environments (and test runs) apart."""
    return f"{prefix}pulse.{service}.{topic}"
