"""`control` (business_day.closed, snapshot.requested) and `alerts` (alert.acknowledged)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from shared.events import AlertAcknowledged, BusinessDayClosed, SnapshotRequested
from shared.topics import Topic
from tests.unit.events import (
    ALERT_ACKNOWLEDGED,
    BUSINESS_DAY_CLOSED,
    MISSING,
    SNAPSHOT_REQUESTED,
    parse,
    rejected,
    with_,
)

pytestmark = pytest.mark.unit

CONTROL = Topic.CONTROL


def test_business_day_closed() -> None:
    data = parse(CONTROL, "business_day.closed", BUSINESS_DAY_CLOSED).data
    assert data == BusinessDayClosed(business_date=dt.date(2025, 10, 7))


@pytest.mark.parametrize(
    "data",
    [
        pytest.param({}, id="empty"),
        pytest.param({"business_date": "2025-10-07T00:00:00"}, id="timestamp"),
        pytest.param({"business_date": "2025-02-30"}, id="not-a-day"),
        pytest.param({"business_date": "2025-10-07", "branch_id": "B"}, id="extra-field"),
    ],
)
def test_business_day_closed_invalid(data: dict[str, Any]) -> None:
    assert rejected(CONTROL, "business_day.closed", data) == "invalid_data"


def test_snapshot_requested() -> None:
    data = parse(CONTROL, "snapshot.requested", SNAPSHOT_REQUESTED).data
    assert data == SnapshotRequested(
        business_date=dt.date(2025, 10, 7), officer_id="OFF-1", force=True, requested_by="admin"
    )


def test_snapshot_requested_defaults() -> None:
    data = parse(CONTROL, "snapshot.requested", {"business_date": "2025-10-07"}).data
    assert isinstance(data, SnapshotRequested)
    assert (data.officer_id, data.force, data.requested_by) == (None, False, None)


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"force": "true"}, id="force-string"),
        pytest.param({"force": 1}, id="force-number"),
        pytest.param({"force": None}, id="force-null"),
        pytest.param({"officer_id": "OFF 1"}, id="officer-space"),
        pytest.param({"requested_by": ""}, id="requested-by-empty"),
        pytest.param({"requested_by": "x" * 201}, id="requested-by-long"),
        pytest.param({"business_date": MISSING}, id="no-date"),
    ],
)
def test_snapshot_requested_invalid(changes: dict[str, Any]) -> None:
    assert rejected(CONTROL, "snapshot.requested", with_(SNAPSHOT_REQUESTED, **changes)) == "invalid_data"


def test_alert_acknowledged() -> None:
    data = parse(Topic.ALERTS, "alert.acknowledged", ALERT_ACKNOWLEDGED).data
    assert isinstance(data, AlertAcknowledged)
    assert data.alert_id == "alert-42"
    assert data.acknowledged_by == "officer:OFF-1"
    assert data.acknowledged_at == dt.datetime(2025, 10, 8, 7, 15, tzinfo=dt.UTC)


def test_acknowledged_by_is_any_jwt_subject() -> None:
    data = parse(Topic.ALERTS, "alert.acknowledged", with_(ALERT_ACKNOWLEDGED, acknowledged_by="ops@x.example")).data
    assert isinstance(data, AlertAcknowledged)
    assert data.acknowledged_by == "ops@x.example"


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"acknowledged_at": "2025-10-08T10:15:00"}, id="at-without-offset"),
        pytest.param({"acknowledged_at": 1759918500}, id="at-number"),
        pytest.param({"acknowledged_at": "2025-10-08"}, id="at-date-only"),
        pytest.param({"acknowledged_by": ""}, id="by-empty"),
        pytest.param({"acknowledged_by": MISSING}, id="by-missing"),
        pytest.param({"alert_id": "alert 42"}, id="alert-id-space"),
        pytest.param({"note": "seen"}, id="extra-field"),
    ],
)
def test_alert_acknowledged_invalid(changes: dict[str, Any]) -> None:
    assert rejected(Topic.ALERTS, "alert.acknowledged", with_(ALERT_ACKNOWLEDGED, **changes)) == "invalid_data"
