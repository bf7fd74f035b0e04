"""The snapshotter's own metrics (beside the shared ones)."""

from prometheus_client import Gauge

from shared.metrics import REGISTRY

LAST_CLOSED = Gauge(
    "pulse_last_closed_business_date_timestamp_seconds",
    "The last closed business day, as Unix seconds at 00:00 UTC of that day",
    registry=REGISTRY,
)
