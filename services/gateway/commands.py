"""What the gateway does on a caller's behalf (CONTRACT §4, §6), for the JSON API and the pages alike:
each command checks the caller's `AccessPolicy`, validates the event it publishes, and publishes it with the
gateway's one producer. Both answer 202 once the broker has the event: the read model follows from it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import ValidationError

from services.gateway import reads
from services.gateway.access import AccessPolicy
from services.gateway.db import Database
from services.gateway.errors import invalid_parameters
from services.gateway.publisher import Publisher
from shared.events.alerts import AlertAcknowledged
from shared.events.control import SnapshotRequested
from shared.events.envelope import Rejected, describe, make_envelope
from shared.topics import Topic

SOURCE = "gateway"


async def acknowledge_alert(db: Database, access: AccessPolicy, publisher: Publisher, alert_id: str) -> dict[str, Any]:
    """Publish `alert.acknowledged {alert_id, acknowledged_by, acknowledged_at}` on `alerts`, keyed by the
    alert's scope so that it is ordered with the alert's own events (404 for an unknown alert, 403 for one
    outside the caller's reach). Returns the alert as read, and the event's id as `event_id`."""
    async with db.read_model("alerts") as conn:  # released before publishing, which may wait for the broker
        alert = await reads.alert(conn, access, alert_id)
    now = dt.datetime.now(dt.UTC)
    try:
        event = AlertAcknowledged.model_validate(
            {"alert_id": alert_id, "acknowledged_by": access.claims.sub, "acknowledged_at": now.isoformat()}
        )
    except ValidationError as exc:
        raise invalid_parameters(describe(exc)) from exc
    envelope = make_envelope("alert.acknowledged", event.model_dump(mode="json"), source=SOURCE, occurred_at=now)
    await publisher.publish_event(Topic.ALERTS, alert["scope"], envelope)
    return {**alert, "event_id": str(envelope["event_id"])}


async def request_snapshots(
    access: AccessPolicy, publisher: Publisher, business_date: dt.date, officer_id: str | None, force: bool
) -> str:
    """Publish `snapshot.requested {business_date, officer_id?, force, requested_by}` on `control`, keyed by
    the business date (admins only). Returns the event's id."""
    access.require_snapshot_requests()
    raw: dict[str, Any] = {
        "business_date": business_date,
        "officer_id": officer_id,
        "force": force,
        "requested_by": access.claims.sub,
    }
    try:
        event = SnapshotRequested.model_validate(raw)
        publisher.bounds.check(event, dt.datetime.now(dt.UTC))  # a day after tomorrow is bad input
    except ValidationError as exc:
        raise invalid_parameters(describe(exc)) from exc
    except Rejected as exc:
        raise invalid_parameters(exc.message) from exc
    data = event.model_dump(mode="json", exclude_none=True)
    envelope = make_envelope("snapshot.requested", data, source=SOURCE)
    await publisher.publish_event(Topic.CONTROL, data["business_date"], envelope)
    return str(envelope["event_id"])
