"""`data` of the `alerts` topic (the alerter's lifecycle events; `alert.acknowledged` from the gateway)
and of the `notifications` topic (each delivery's request and outcome)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from shared.events.types import BusinessDate, EventData, Exact, Identifier, Name, Timestamp

AlertType = Literal[
    "portfolio_health_critical",
    "portfolio_health_warning",
    "high_default_rate",
    "high_par",
    "low_collection_rate",
    "negative_growth",
]
Severity = Literal["critical", "warning"]
ScopeKind = Literal["all", "branch", "officer"]
SCOPE_PATTERN = r"^(all|branch:[A-Za-z0-9._:-]{1,64}|officer:[A-Za-z0-9._:-]{1,64})$"


class AlertRaised(EventData):
    """An alert starts (revision 1) or changes severity while it stays open (revision + 1)."""

    alert_id: Identifier
    alert_type: AlertType
    severity: Severity
    previous_severity: Severity | None = None
    scope: str = Field(pattern=SCOPE_PATTERN)
    kind: ScopeKind
    branch_id: Identifier | None = None
    officer_id: Identifier | None = None
    officer_name: Name | None = None
    business_date: BusinessDate  # the day whose figures raised (or changed) it
    revision: int = Field(ge=1)
    values: dict[str, Exact]  # the figures the rule looked at, unrounded
    raised_at: dt.datetime


class AlertResolved(EventData):
    alert_id: Identifier
    alert_type: AlertType
    severity: Severity  # the last one
    scope: str = Field(pattern=SCOPE_PATTERN)
    kind: ScopeKind
    branch_id: Identifier | None = None
    officer_id: Identifier | None = None
    officer_name: Name | None = None
    business_date: BusinessDate  # the day whose figures no longer hold the rule
    revision: int = Field(ge=1)
    values: dict[str, Exact]
    raised_at: dt.datetime
    resolved_at: dt.datetime


class AlertAcknowledged(EventData):
    alert_id: Identifier
    acknowledged_by: Name
    """The JWT `sub` of who acknowledged."""
    acknowledged_at: Timestamp


Channel = Literal["email", "webhook"]


class NotificationRequested(EventData):
    """A delivery planned: of an alert change, or of a weekly summary (alert_id `weekly-<week start>`)."""

    delivery_id: Identifier  # also the webhook's X-Pulse-Delivery, stable across retries
    alert_id: Identifier
    alert_event: Literal["alert.raised", "alert.resolved", "weekly.summary"]
    channel: Channel
    recipient: str = Field(min_length=1, max_length=2000)  # an email address or the webhook URL
    requested_at: dt.datetime


class NotificationDelivered(EventData):
    delivery_id: Identifier
    alert_id: Identifier
    channel: Channel
    recipient: str = Field(min_length=1, max_length=2000)
    attempts: int = Field(ge=1)
    delivered_at: dt.datetime


class NotificationFailed(EventData):
    delivery_id: Identifier
    alert_id: Identifier
    channel: Channel
    recipient: str = Field(min_length=1, max_length=2000)
    attempts: int = Field(ge=0)
    error: str = Field(max_length=2000)
    failed_at: dt.datetime
