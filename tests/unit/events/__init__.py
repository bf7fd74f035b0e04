"""Builders shared by the event-schema tests: envelopes as raw bytes, and one valid `data` per event type."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from shared.events import Event, Rejected, parse_event
from shared.topics import Topic

MISSING: Any = object()
"""Pass as an override to leave a key out of the envelope."""

_RAW_NUMBER = re.compile(r'"@num:([^"@]*)@"')


def number(literal: str) -> str:
    """A JSON number written exactly as `literal` (e.g. `1e400`), which Python's json cannot produce."""
    return f"@num:{literal}@"


def envelope(event_type: str, data: Any, /, **overrides: Any) -> bytes:
    """The raw message value of an envelope; `overrides` replace (or, with MISSING, remove) its keys."""
    value: dict[str, Any] = {
        "event_id": "evt-0001",
        "event_type": event_type,
        "schema_version": 1,
        "occurred_at": "2025-10-08T09:30:00Z",
        "source": "test",
        "data": data,
    }
    for key, override in overrides.items():
        if override is MISSING:
            value.pop(key, None)
        else:
            value[key] = override
    text = json.dumps(value, separators=(",", ":"))
    return _RAW_NUMBER.sub(lambda m: m.group(1), text).encode()


def parse(topic: Topic, event_type: str, data: Any, /, **overrides: Any) -> Event:
    return parse_event(topic, envelope(event_type, data, **overrides))


def rejection(topic: Topic, raw: bytes | None) -> str:
    """The `Rejected.code` of a message that must be rejected (fails the test if it is accepted)."""
    with pytest.raises(Rejected) as caught:
        parse_event(topic, raw)
    assert caught.value.message, "a rejection explains itself"
    return caught.value.code


def rejected(topic: Topic, event_type: str, data: Any, /, **overrides: Any) -> str:
    return rejection(topic, envelope(event_type, data, **overrides))


def with_(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A copy of `base` with keys changed (or removed, with MISSING)."""
    copy = dict(base)
    for key, change in changes.items():
        if change is MISSING:
            copy.pop(key, None)
        else:
            copy[key] = change
    return copy


# One valid `data` per event type, with its topic.
OFFICER: dict[str, Any] = {
    "officer_id": "OFF-1",
    "branch_id": "BR-NAI",
    "name": "Amina Wanjiru",
    "email": "amina@lender.example",
    "role": "loan_officer",
}
CLIENT_REGISTERED: dict[str, Any] = {
    "client_id": "CL-1",
    "officer_id": "OFF-1",
    "registered_on": "2025-01-15",
}
CLIENT_REASSIGNED: dict[str, Any] = {"client_id": "CL-1", "officer_id": "OFF-2", "effective_on": "2025-06-01"}
CLIENT_EXITED: dict[str, Any] = {"client_id": "CL-1", "exited_on": "2025-12-31"}
LOAN_DISBURSED: dict[str, Any] = {
    "loan_id": "LN-1",
    "client_id": "CL-1",
    "disbursed_on": "2025-02-01",
    "principal": "1500.25",
    "schedule": [
        {"due_on": "2025-03-01", "principal": "500.25", "interest": "30.0050"},
        {"due_on": "2025-04-01", "principal": "500", "interest": "20"},
        {"due_on": "2025-05-01", "principal": "500.00", "interest": 10},
    ],
}
REPAYMENT: dict[str, Any] = {
    "payment_id": "PAY-1",
    "loan_id": "LN-1",
    "client_id": "CL-1",
    "paid_on": "2025-03-01",
    "principal": "500.25",
    "interest": "30.005",
    "fees": "0",
}
WRITTEN_OFF: dict[str, Any] = {"loan_id": "LN-1", "client_id": "CL-1", "written_off_on": "2025-09-30"}
CLIENT_ONBOARDED: dict[str, Any] = {"client_id": "W-1", "name": "Jane Doe", "base_currency": "EUR"}
PORTFOLIO_VALUED: dict[str, Any] = {
    "client_id": "W-1",
    "as_of": "2025-10-07",
    "positions": [
        {
            "instrument_id": "US0378331005",
            "asset_class": "Equity",
            "custodian": "Bank A",
            "market_value": "120000.50",
            "est_annual_income": "600",
            "quantity": "512.123456789",
            "price": "234.3266845",
        },
        {
            "instrument_id": "DE0001102580",
            "asset_class": "Fixed Income",
            "custodian": "Bank B",
            "market_value": "50000",
            "est_annual_income": "1250.75",
            "maturity_date": "2032-02-15",
        },
        {"instrument_id": "CASH-EUR", "asset_class": "Cash", "custodian": "Bank A", "market_value": "-25.5"},
    ],
}
CASH_FLOW: dict[str, Any] = {
    "flow_id": "FL-1",
    "client_id": "W-1",
    "flow_date": "2025-10-01",
    "amount": "10000",
    "kind": "contribution",
}
BUSINESS_DAY_CLOSED: dict[str, Any] = {"business_date": "2025-10-07"}
SNAPSHOT_REQUESTED: dict[str, Any] = {
    "business_date": "2025-10-07",
    "officer_id": "OFF-1",
    "force": True,
    "requested_by": "admin",
}
ALERT_ACKNOWLEDGED: dict[str, Any] = {
    "alert_id": "alert-42",
    "acknowledged_by": "officer:OFF-1",
    "acknowledged_at": "2025-10-08T10:15:00+03:00",
}

LOAN_METRICS: dict[str, Any] = {
    "total_clients": 1, "active_clients": 1, "total_loans": 1, "active_loans": 1, "total_disbursed": "1000",
    "total_outstanding": "650", "total_collected": "364", "par_30": "0", "par_60": "0", "par_90": "0",
    "default_rate": "0", "collection_rate": "70", "portfolio_yield": "30.69069069069069069069069069",
    "growth_rate": "0", "new_clients_30d": 1, "exited_clients_30d": 0, "health_score": "78.0",
    "health_category": "good",
}  # fmt: skip

LOAN_SNAPSHOT: dict[str, Any] = {
    "officer_id": "O1", "officer_name": "Ada Obi", "branch_id": "B1", "business_date": "2025-01-20",
    "revision": 1, "has_clients": True, "officers_on_day": 1,
    "numerators": {
        "total_clients": 1, "active_clients": 1, "total_loans": 1, "active_loans": 1, "total_disbursed": "1000",
        "total_outstanding": "650", "total_collected": "364", "par30_balance": "0", "par60_balance": "0",
        "par90_balance": "0", "due_30d": "520", "covered_30d": "364", "new_clients_30d": 1,
        "exited_clients_30d": 0, "glp_30d_ago": "0", "glp_sum_window": "16650", "written_off_window": "0",
        "interest_fees_window": "14", "window_days": 20, "first_positive_glp_on": "2025-01-01",
        "cum_written_off": "0", "cum_interest_fees": "14",
    },
    "metrics": LOAN_METRICS,
    "computed_at": "2025-01-21T01:00:00Z",
}  # fmt: skip

AGGREGATE_UPDATED: dict[str, Any] = {
    "domain": "loans", "scope": "branch:B1", "kind": "branch", "business_date": "2025-01-20", "revision": 1,
    "branch_id": "B1", "officer_id": None, "officer_name": None, "metrics": LOAN_METRICS,
}  # fmt: skip

WEALTH_SNAPSHOT: dict[str, Any] = {
    "client_id": "W1", "as_of": "2025-05-01", "revision": 1, "previous_as_of": "2025-04-01",
    "total_value": "290", "estimated_annual_income": "0",
    "asset_allocation": [{"name": "Equity", "value": "290"}],
    "custodian_allocation": [{"name": "Bank 2", "value": "290"}],
    "bond_maturity": [{"year": 2031, "value": "0"}],
    "external_flows": [{"flow_id": "F1", "flow_date": "2025-04-16", "amount": "20"}],
    "net_external_flows": "20",
}  # fmt: skip

RETURNS_COMPUTED: dict[str, Any] = {
    "client_id": "W1", "as_of": "2025-05-01", "revision": 1, "total_value": "290",
    "estimated_annual_income": "0", "net_external_flows": "20",
    "asset_allocation": [{"name": "Equity", "value": "290"}],
    "custodian_allocation": [{"name": "Bank 2", "value": "290"}], "bond_maturity": [],
    "period_start_date": "2025-04-01", "period_return_dollar": "-30",
    "period_return_percent": "-9.677419354838709677419354839", "period_average_capital": "310",
    "month_start_date": None, "monthly_return_dollar": "0", "monthly_return_percent": "0",
    "monthly_average_capital": None, "ytd_start_date": None, "ytd_return_dollar": "0", "ytd_return_percent": "0",
    "ytd_average_capital": None, "inception_date": "2025-04-01", "inception_dollar_performance": "-30",
    "inception_return_pct": None, "inception_average_capital": "310",
}  # fmt: skip

ALERT_RAISED: dict[str, Any] = {
    "alert_id": "al-0123456789abcdef01234567", "alert_type": "high_par", "severity": "critical",
    "previous_severity": None, "scope": "officer:O1", "kind": "officer", "branch_id": "B1", "officer_id": "O1",
    "officer_name": "Ada Obi", "business_date": "2025-10-08", "revision": 1, "values": {"par_30": "16.5"},
    "raised_at": "2025-10-09T01:00:05Z",
}  # fmt: skip

ALERT_RESOLVED: dict[str, Any] = {
    **{k: v for k, v in ALERT_RAISED.items() if k != "previous_severity"},
    "revision": 3, "values": {"par_30": "8.25"}, "resolved_at": "2025-10-20T01:00:05Z",
}  # fmt: skip

NOTIFICATION_REQUESTED: dict[str, Any] = {
    "delivery_id": "dl-0123456789abcdef0123456789a", "alert_id": "al-0123456789abcdef01234567",
    "alert_event": "alert.raised", "channel": "email", "recipient": "ada@example.org",
    "requested_at": "2025-10-09T01:00:05Z",
}  # fmt: skip

NOTIFICATION_DELIVERED: dict[str, Any] = {
    "delivery_id": "dl-0123456789abcdef0123456789a", "alert_id": "al-0123456789abcdef01234567",
    "channel": "webhook", "recipient": "https://hooks.example.org/pulse", "attempts": 3,
    "delivered_at": "2025-10-09T01:00:09Z",
}  # fmt: skip

NOTIFICATION_FAILED: dict[str, Any] = {
    "delivery_id": "dl-0123456789abcdef0123456789a", "alert_id": "al-0123456789abcdef01234567",
    "channel": "webhook", "recipient": "https://hooks.example.org/pulse", "attempts": 12,
    "error": "timed out after 5 s", "failed_at": "2025-10-09T02:00:05Z",
}  # fmt: skip

VALID: dict[str, tuple[Topic, dict[str, Any]]] = {
    "officer.upserted": (Topic.LOAN_EVENTS, OFFICER),
    "client.registered": (Topic.LOAN_EVENTS, CLIENT_REGISTERED),
    "client.reassigned": (Topic.LOAN_EVENTS, CLIENT_REASSIGNED),
    "client.exited": (Topic.LOAN_EVENTS, CLIENT_EXITED),
    "loan.disbursed": (Topic.LOAN_EVENTS, LOAN_DISBURSED),
    "loan.repayment_received": (Topic.LOAN_EVENTS, REPAYMENT),
    "loan.written_off": (Topic.LOAN_EVENTS, WRITTEN_OFF),
    "client.onboarded": (Topic.WEALTH_EVENTS, CLIENT_ONBOARDED),
    "portfolio.valued": (Topic.WEALTH_EVENTS, PORTFOLIO_VALUED),
    "cash_flow.recorded": (Topic.WEALTH_EVENTS, CASH_FLOW),
    "business_day.closed": (Topic.CONTROL, BUSINESS_DAY_CLOSED),
    "snapshot.requested": (Topic.CONTROL, SNAPSHOT_REQUESTED),
    "alert.acknowledged": (Topic.ALERTS, ALERT_ACKNOWLEDGED),
    "loan_snapshot.created": (Topic.SNAPSHOTS, LOAN_SNAPSHOT),
    "aggregate.updated": (Topic.AGGREGATES, AGGREGATE_UPDATED),
    "wealth_snapshot.created": (Topic.SNAPSHOTS, WEALTH_SNAPSHOT),
    "returns.computed": (Topic.RETURNS, RETURNS_COMPUTED),
    "alert.raised": (Topic.ALERTS, ALERT_RAISED),
    "alert.resolved": (Topic.ALERTS, ALERT_RESOLVED),
    "notification.requested": (Topic.NOTIFICATIONS, NOTIFICATION_REQUESTED),
    "notification.delivered": (Topic.NOTIFICATIONS, NOTIFICATION_DELIVERED),
    "notification.failed": (Topic.NOTIFICATIONS, NOTIFICATION_FAILED),
}
