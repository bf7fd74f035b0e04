"""`/alerts?status=&severity=&type=&scope=&unread=`: the alerts of `/v1/alerts` with those filters
(CONTRACT §6), each linking to its scope; "mark as read" acknowledges one in place.

Marking as read posts to `/alerts/{id}/ack` (the same command as `POST /v1/alerts/{id}/ack`) and gets the
alert's row back, shown as read: the read model follows once the aggregator has applied the event, and the
live refresh then shows its own copy. Without JavaScript the form posts and comes back to the list.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.gateway import commands, reads
from services.gateway.db import Database, get_database
from services.gateway.pages.session import PAGE_TAG, PageAccess, safe_next
from services.gateway.pages.templating import is_fragment_request, render, render_live_page
from services.gateway.presenters import display
from services.gateway.publisher import Publisher, get_publisher
from shared.events.alerts import AlertType, Severity
from shared.events.types import IDENTIFIER_PATTERN

router = APIRouter(include_in_schema=False, tags=[PAGE_TAG])

PAGE_SIZE = 100

Db = Annotated[Database, Depends(get_database)]


@router.get("/alerts", response_class=HTMLResponse)
async def alerts_page(
    request: Request,
    access: PageAccess,
    db: Db,
    status: Literal["open", "resolved", "all"] = "open",
    severity: Severity | None = None,
    alert_type: Annotated[AlertType | None, Query(alias="type")] = None,
    scope: Annotated[str | None, Query(max_length=80)] = None,
    unread: bool | None = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> HTMLResponse:
    access.loans_reach("alerts")
    query = reads.alert_query(status, severity, alert_type, scope, unread, PAGE_SIZE + 1, offset)
    if query.scope is not None:  # every request is authorised; what it shows may be shared
        async with db.read_model("alerts") as conn:
            await access.authorise(conn, query.scope, "alerts of scope")

    async def load() -> dict[str, Any]:
        async with db.read_model("alerts") as conn:
            alerts = await reads.alerts(conn, access, query)
        return {
            "alerts": alerts[:PAGE_SIZE],
            "more": len(alerts) > PAGE_SIZE,
            "filters": {
                "status": status,
                "severity": severity,
                "type": alert_type,
                "scope": scope or "",
                "unread": unread,
            },
            "offset": offset,
            "page_size": PAGE_SIZE,
            "display": display,
        }

    return await render_live_page(request, "alerts.html", "alerts_live.html", load, access=access, areas=("alerts",))


@router.post("/alerts/{alert_id}/ack", response_model=None)
async def mark_as_read(
    request: Request,
    access: PageAccess,
    db: Db,
    publisher: Annotated[Publisher, Depends(get_publisher)],
    alert_id: Annotated[str, Path(pattern=IDENTIFIER_PATTERN)],
) -> Response:
    alert = await commands.acknowledge_alert(db, access, publisher, alert_id)
    if not is_fragment_request(request):  # a plain form post, without JavaScript: back to the list
        referer = urlsplit(request.headers.get("referer") or "/alerts")
        return RedirectResponse(safe_next(referer.path + (f"?{referer.query}" if referer.query else "")), 303)
    context = {"alert": {**alert, "acknowledged": True}, "display": display}
    return render(request, "_alert_row.html", context, access=access)
