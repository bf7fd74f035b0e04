"""`/snapshots/new`: the form of `snapshot.requested` (CONTRACT §6; admins): a business date, an optional
officer, `force`. Posting it publishes the event (the same command as `POST /v1/snapshots/requests`) and
comes back to the form, which says what was requested."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import TypeAdapter, ValidationError

from services.gateway import commands
from services.gateway.db import Database, get_database
from services.gateway.errors import ApiError
from services.gateway.pages.session import PAGE_TAG, PageAccess
from services.gateway.pages.templating import render
from services.gateway.publisher import Publisher, get_publisher
from services.gateway.views import loans as loan_views
from shared.events.types import IDENTIFIER_PATTERN, BusinessDate, Identifier

router = APIRouter(include_in_schema=False, tags=[PAGE_TAG])

Db = Annotated[Database, Depends(get_database)]
_DATE = TypeAdapter(BusinessDate)
_OFFICER = TypeAdapter(Identifier)


async def _form_context(db: Database) -> dict[str, object]:
    """The latest closed day and the officers, to fill the form (empty if the read model is not there yet)."""
    try:
        async with db.read_model("loans") as conn:
            latest = await loan_views.summary(conn, "all", None)
            officers = await loan_views.officer_names(conn)
    except ApiError:
        latest, officers = None, []
    return {"latest": latest["business_date"] if latest is not None else None, "officers": officers}


@router.get("/snapshots/new", response_class=HTMLResponse)
async def snapshot_form(
    request: Request,
    access: PageAccess,
    db: Db,
    requested: Annotated[str | None, Query(pattern=IDENTIFIER_PATTERN)] = None,
    date: BusinessDate | None = None,
    officer_id: Annotated[str | None, Query(pattern=IDENTIFIER_PATTERN)] = None,
) -> HTMLResponse:
    """The form, filled with `date` and `officer_id` if given; after a request, what was requested."""
    access.require_snapshot_requests()
    form = {"business_date": date.isoformat() if date else "", "officer_id": officer_id or "", "force": False}
    context = {**await _form_context(db), "requested": requested, "requested_date": date, "error": None, "form": form}
    return render(request, "snapshots.html", context, access=access)


@router.post("/snapshots/new", response_model=None)
async def request_snapshots(
    request: Request,
    access: PageAccess,
    db: Db,
    publisher: Annotated[Publisher, Depends(get_publisher)],
    business_date: Annotated[str, Form(max_length=40)] = "",
    officer_id: Annotated[str, Form(max_length=80)] = "",
    force: Annotated[str | None, Form(max_length=10)] = None,
) -> Response:
    access.require_snapshot_requests()
    form = {"business_date": business_date, "officer_id": officer_id, "force": force is not None}
    try:
        day: dt.date = _DATE.validate_python(business_date.strip())
        officer = _OFFICER.validate_python(officer_id.strip()) if officer_id.strip() else None
    except ValidationError:
        context = {**await _form_context(db), "requested": None, "requested_date": None, "form": form}
        context["error"] = "Give a business date (YYYY-MM-DD) and, if you want one officer only, a valid officer id."
        return render(request, "snapshots.html", context, access=access, status_code=422)
    event_id = await commands.request_snapshots(access, publisher, day, officer, force is not None)
    return RedirectResponse(f"/snapshots/new?requested={event_id}&date={day.isoformat()}", 303)
