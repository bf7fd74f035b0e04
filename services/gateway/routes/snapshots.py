"""`POST /v1/snapshots/requests`: ask the snapshotter to regenerate a day (CONTRACT §2, §4; admin only).

Publishes `snapshot.requested {business_date, officer_id?, force, requested_by}` on `control`, keyed by
`business_date`, and answers 202 with the event's id once the broker acknowledged it (503 if it cannot).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError

from services.gateway.errors import ErrorBody, invalid_parameters
from services.gateway.publisher import Publisher, get_publisher
from services.gateway.security import AdminClaims
from shared.events.control import SnapshotRequested
from shared.events.envelope import Rejected, describe, make_envelope
from shared.events.types import BusinessDate, Identifier
from shared.topics import Topic

router = APIRouter(prefix="/v1/snapshots", tags=["snapshots"])

EVENT_TYPE = "snapshot.requested"
SOURCE = "gateway"


class SnapshotRequestBody(BaseModel):
    """Regenerate `business_date` for one officer (or all of them); `force` restates even if unchanged."""

    model_config = ConfigDict(extra="forbid")

    business_date: BusinessDate
    officer_id: Identifier | None = None
    force: StrictBool = False


class SnapshotRequestAccepted(BaseModel):
    event_id: str = Field(description="`event_id` of the published `snapshot.requested`")


MAX_BODY_BYTES = 64 * 1024


async def _read_body(request: Request) -> SnapshotRequestBody:
    """The JSON body, parsed here rather than by FastAPI so that 401 and 403 come before any 422."""
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise invalid_parameters(f"the body is larger than {MAX_BODY_BYTES} bytes")
    try:
        value: Any = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # incl. UnicodeDecodeError
        raise invalid_parameters("the body is not JSON") from exc
    if not isinstance(value, dict):
        raise invalid_parameters("the body is a JSON object")
    try:
        return SnapshotRequestBody.model_validate(value)
    except ValidationError as exc:
        raise invalid_parameters(describe(exc)) from exc


@router.post(
    "/requests",
    status_code=202,
    responses={503: {"model": ErrorBody, "description": "Message broker unavailable"}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": SnapshotRequestBody.model_json_schema()}},
        }
    },
)
async def request_snapshots(
    request: Request,
    claims: AdminClaims,
    publisher: Annotated[Publisher, Depends(get_publisher)],
) -> SnapshotRequestAccepted:
    """Publish `snapshot.requested` on `control` (admins only)."""
    body = await _read_body(request)
    raw = {
        "business_date": body.business_date,
        "officer_id": body.officer_id,
        "force": body.force,
        "requested_by": claims.sub,
    }
    try:
        event = SnapshotRequested.model_validate(raw)
    except ValidationError as exc:
        raise invalid_parameters(describe(exc)) from exc
    except Rejected as exc:
        raise invalid_parameters(exc.message) from exc
    data = event.model_dump(mode="json", exclude_none=True)
    envelope = make_envelope(EVENT_TYPE, data, source=SOURCE)
    await publisher.publish_event(Topic.CONTROL, data["business_date"], envelope)
    return SnapshotRequestAccepted(event_id=envelope["event_id"])
