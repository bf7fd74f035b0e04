"""`POST /v1/snapshots/requests`: ask the snapshotter to regenerate a day (CONTRACT §2, §4; admin only).

Publishes `snapshot.requested {business_date, officer_id?, force, requested_by}` on `control`, keyed by
`business_date`, and answers 202 with the event's id once the broker acknowledged it (503 if it cannot).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError

from services.gateway import commands
from services.gateway.access import Access
from services.gateway.errors import ErrorBody, invalid_parameters
from services.gateway.publisher import Publisher, get_publisher
from shared.events.envelope import describe
from shared.events.types import BusinessDate, Identifier

router = APIRouter(prefix="/v1/snapshots", tags=["snapshots"])


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
    access: Access,
    publisher: Annotated[Publisher, Depends(get_publisher)],
) -> SnapshotRequestAccepted:
    """Publish `snapshot.requested` on `control` (admins only)."""
    access.require_snapshot_requests()
    body = await _read_body(request)
    event_id = await commands.request_snapshots(access, publisher, body.business_date, body.officer_id, body.force)
    return SnapshotRequestAccepted(event_id=event_id)
