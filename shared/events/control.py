"""`data` of the `control` topic: closing a business day and (re)generating snapshots (CONTRACT §2)."""

from __future__ import annotations

from pydantic import StrictBool

from shared.events.types import BusinessDate, EventData, Identifier, Name


class BusinessDayClosed(EventData):
    EVENT_DATES = ("business_date",)

    business_date: BusinessDate


class SnapshotRequested(EventData):
    """Regenerate `business_date` for one officer (or all); `force` restates even if nothing changed."""

    EVENT_DATES = ("business_date",)

    business_date: BusinessDate
    officer_id: Identifier | None = None
    force: StrictBool = False
    requested_by: Name | None = None
