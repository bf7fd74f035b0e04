"""Pulse's own Prometheus metrics, beside FastStream's middleware metrics, in one registry per process."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

DEAD_LETTERS = Counter(
    "pulse_dead_letters",
    "Messages copied to dead-letters, by consumer and error code",
    ["service", "consumer", "code"],
    registry=REGISTRY,
)
DUPLICATES_SKIPPED = Counter(
    "pulse_duplicates_skipped",
    "Messages whose event_id the consumer had already processed",
    ["service", "consumer"],
    registry=REGISTRY,
)
EVENTS_PROCESSED = Counter(
    "pulse_events_processed",
    "Events applied to the consumer's state",
    ["service", "consumer", "event_type"],
    registry=REGISTRY,
)
EVENT_AGE = Histogram(
    "pulse_event_age_seconds",
    "Seconds from an event's occurred_at to its processing",
    ["service", "consumer", "event_type"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 21600, 86400, 604800),
    registry=REGISTRY,
)
LAST_PROCESSED = Gauge(
    "pulse_last_processed_timestamp_seconds",
    "Unix time at which the consumer last committed a batch",
    ["service", "consumer"],
    registry=REGISTRY,
)
BATCH_DURATION = Histogram(
    "pulse_batch_duration_seconds",
    "Seconds to process one consumed batch, retries included",
    ["service", "consumer"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
    registry=REGISTRY,
)
BATCH_SIZE = Histogram(
    "pulse_batch_records",
    "Records per consumed batch",
    ["service", "consumer"],
    buckets=(1, 5, 10, 50, 100, 250, 500, 1000, 2500, 5000),
    registry=REGISTRY,
)
TRANSIENT_RETRIES = Counter(
    "pulse_transient_retries",
    "Retries after a transient fault (database or broker unreachable)",
    ["service", "consumer"],
    registry=REGISTRY,
)
CONSUMER_LAG = Gauge(
    "pulse_consumer_lag",
    "Records behind the partition's high watermark, as seen by the consumer",
    ["service", "group", "topic", "partition"],
    registry=REGISTRY,
)
OUTBOX_PENDING = Gauge(
    "pulse_outbox_pending",
    "Output events committed to the outbox and not yet acknowledged by the broker",
    ["service"],
    registry=REGISTRY,
)
PUBLISHED = Counter(
    "pulse_published_messages",
    "Messages acknowledged by the broker, by topic",
    ["service", "topic"],
    registry=REGISTRY,
)
DB_POOL_SIZE = Gauge("pulse_db_pool_size", "Connections open in the pool", ["service"], registry=REGISTRY)
DB_POOL_IN_USE = Gauge("pulse_db_pool_in_use", "Connections checked out of the pool", ["service"], registry=REGISTRY)
