"""The alerts API (CONTRACT §2 for the rules, §4 for the endpoints): thin routes over `reads` and `commands`.

Who sees which alerts is the access policy's: an admin all; a team leader the alerts of their branch
(branch scope, and officer scope whose `branch_id` is their branch), never `all`; a loan officer only
`officer:<own>`; a client none (403). A `scope` filter outside the caller's reach is a 403.
Acknowledging publishes `alert.acknowledged` on `alerts`; the aggregator applies it to the read model.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Response

from services.gateway import commands, reads
from services.gateway.access import Access
from services.gateway.db import Database, get_database
from services.gateway.errors import READ_MODEL_RESPONSES, ErrorBody
from services.gateway.presenters.alerts import AlertAckAccepted, AlertItem
from services.gateway.publisher import Publisher, get_publisher
from services.gateway.rounding import DecimalJSONResponse
from shared.events.alerts import AlertType, Severity
from shared.events.types import IDENTIFIER_PATTERN

router = APIRouter(prefix="/v1/alerts", tags=["alerts"], responses=READ_MODEL_RESPONSES)

DEFAULT_LIMIT = 200
MAX_LIMIT = 1000

StatusParam = Annotated[Literal["open", "resolved", "all"], Query(description="`open` (default), `resolved` or `all`")]
SeverityParam = Annotated[Severity | None, Query(description="`critical` or `warning`")]
TypeParam = Annotated[AlertType | None, Query(alias="type", description="One alert type")]
ScopeParam = Annotated[
    str | None,
    Query(
        description="Only alerts of this scope: `all`, `branch:<id>` or `officer:<id>` (within the caller's)",
        max_length=80,
    ),
]
UnreadParam = Annotated[
    bool | None,
    Query(description="`true`: only alerts not acknowledged; `false`: only acknowledged ones"),
]
LimitParam = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"At most this many (≤ {MAX_LIMIT})")]
OffsetParam = Annotated[int, Query(ge=0, le=10_000_000, description="Skip this many first")]
AlertIdParam = Annotated[str, Path(pattern=IDENTIFIER_PATTERN, description="The alert's id")]
Db = Annotated[Database, Depends(get_database)]


@router.get("", response_model=list[AlertItem], response_class=DecimalJSONResponse)
async def list_alerts(
    access: Access,
    db: Db,
    status: StatusParam = "open",
    severity: SeverityParam = None,
    alert_type: TypeParam = None,
    scope: ScopeParam = None,
    unread: UnreadParam = None,
    limit: LimitParam = DEFAULT_LIMIT,
    offset: OffsetParam = 0,
) -> Response:
    """The alerts the caller may see, newest first (`raised_at` descending, then `alert_id`)."""
    access.loans_reach("alerts")
    query = reads.alert_query(status, severity, alert_type, scope, unread, limit, offset)
    async with db.read_model("alerts") as conn:
        return DecimalJSONResponse(await reads.alerts(conn, access, query))


@router.post(
    "/{alert_id}/ack",
    status_code=202,
    responses={503: {"model": ErrorBody, "description": "Database or message broker unavailable"}},
)
async def acknowledge_alert(
    alert_id: AlertIdParam,
    access: Access,
    db: Db,
    publisher: Annotated[Publisher, Depends(get_publisher)],
) -> AlertAckAccepted:
    """Publish `alert.acknowledged {alert_id, acknowledged_by, acknowledged_at}` on `alerts`, keyed by the
    alert's scope (404 for an unknown alert, 403 for one outside the caller's scope)."""
    acknowledged = await commands.acknowledge_alert(db, access, publisher, alert_id)
    return AlertAckAccepted(event_id=acknowledged["event_id"])
