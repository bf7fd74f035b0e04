"""`data` of the `alerts` topic. Only `alert.acknowledged` (published by the gateway) so far; the
alerter's `alert.raised` / `alert.resolved` are added here and registered in `registry.py`."""

from __future__ import annotations

from shared.events.types import EventData, Identifier, Name, Timestamp


class AlertAcknowledged(EventData):
    alert_id: Identifier
    acknowledged_by: Name
    """The JWT `sub` of who acknowledged."""
    acknowledged_at: Timestamp
