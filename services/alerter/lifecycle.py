"""The alert lifecycle of CONTRACT §2, pure: an alert is raised once when its rule starts to hold for a
scope, stays open while it holds (a change of severity updates it), and is resolved when it no longer
holds; it is never raised twice for the same open condition."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Literal

from shared.events.alerts import AlertType, Severity

ChangeKind = Literal["raised", "severity_changed", "resolved"]


@dataclass(frozen=True, slots=True)
class Alert:
    alert_id: str
    alert_type: AlertType
    severity: Severity
    business_date: dt.date  # raised on
    last_business_date: dt.date
    revision: int
    values: Mapping[str, Decimal]
    raised_at: dt.datetime
    resolved_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class Change:
    kind: ChangeKind
    alert: Alert  # the alert after the change
    previous_severity: Severity | None = None

    @property
    def emails(self) -> bool:
        """Critical alerts are emailed when raised, and when an open alert becomes critical."""
        return self.kind != "resolved" and self.alert.severity == "critical" and self.previous_severity != "critical"


def alert_id(scope: str, alert_type: str, raised_on: dt.date) -> str:
    """Deterministic: replaying history raises the same alert ids."""
    digest = hashlib.sha256(f"{scope}|{alert_type}|{raised_on.isoformat()}".encode()).hexdigest()
    return f"al-{digest[:24]}"


def evaluate(
    scope: str,
    day: dt.date,
    holding: Mapping[AlertType, Severity],
    open_alerts: Mapping[AlertType, Alert],
    values: Mapping[str, Mapping[str, Decimal]],
    now: dt.datetime,
) -> list[Change]:
    """The changes one (re)stated day of a scope makes: `holding` are the rules that hold on `day`,
    `open_alerts` the scope's open alerts, `values` each type's figures on `day`."""
    changes: list[Change] = []
    for alert_type, severity in holding.items():
        current = open_alerts.get(alert_type)
        if current is None:
            alert = Alert(alert_id(scope, alert_type, day), alert_type, severity, day, day, 1, values[alert_type], now)
            changes.append(Change("raised", alert))
        elif current.severity != severity:
            alert = replace(
                current, severity=severity, revision=current.revision + 1, last_business_date=day,
                values=values[alert_type],
            )  # fmt: skip
            changes.append(Change("severity_changed", alert, previous_severity=current.severity))
    for alert_type, current in open_alerts.items():
        if alert_type not in holding:
            alert = replace(
                current, revision=current.revision + 1, last_business_date=day, values=values[alert_type],
                resolved_at=now,
            )  # fmt: skip
            changes.append(Change("resolved", alert, previous_severity=current.severity))
    return changes
