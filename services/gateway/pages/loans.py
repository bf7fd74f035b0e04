"""`/loans?scope=&date=&range=`: a loans portfolio's dashboard (CONTRACT §6).

Every figure is the API's (`reads`, the same presenters as `/v1/loans/*`), formatted for people
(`presenters.display`): the summary as cards, the branches and officers worst health first, trend charts
over the chosen range with their numbers as a table, the scope's open alerts, the CSV export.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from services.gateway import reads
from services.gateway.db import Database, get_database
from services.gateway.pages.session import PAGE_TAG, PageAccess
from services.gateway.pages.templating import render_live_page
from services.gateway.presenters import display
from services.gateway.views import Connection
from services.gateway.views.alerts import AlertQuery
from services.gateway.views.loans import officer_identity
from shared.auth import LoansScope
from shared.events.types import BusinessDate

router = APIRouter(include_in_schema=False, tags=[PAGE_TAG])

Range = Literal["30d", "90d", "1y", "all"]
RANGES: dict[str, tuple[str, int | None]] = {
    "30d": ("30 days", 30),
    "90d": ("90 days", 90),
    "1y": ("1 year", 365),
    "all": ("All", None),
}
"""The trend charts' ranges: label and days (None: all the history there is)."""
OPEN_ALERTS_SHOWN = 20
AREAS = ("loans", "alerts")
"""What the page shows of the read model: it refreshes when either changes."""

Db = Annotated[Database, Depends(get_database)]


def range_start(as_of: dt.date, days: int | None) -> dt.date | None:
    return None if days is None else reads.shift(as_of, -(days - 1))


async def _scope_names(conn: Connection, scope: LoansScope) -> dict[str, str | None]:
    """Who an officer scope is, for the title and the way back to its branch."""
    if scope.kind != "officer" or scope.id is None:
        return {"officer_name": None, "branch_id": scope.id if scope.kind == "branch" else None}
    name, branch = await officer_identity(conn, scope.id)
    return {"officer_name": name, "branch_id": branch}


@router.get("/loans", response_class=HTMLResponse)
async def loans_page(
    request: Request,
    access: PageAccess,
    db: Db,
    scope: Annotated[str | None, Query(max_length=80)] = None,
    date: BusinessDate | None = None,
    range: Range = "90d",
) -> HTMLResponse:
    loans_scope = access.loans_scope(scope)
    label, days = RANGES[range]
    async with db.read_model("loans") as conn:  # every request is authorised; what it shows may be shared
        await access.authorise(conn, loans_scope)

    async def load() -> dict[str, Any]:
        async with db.read_model("loans") as conn:
            summary = await reads.loan_summary(conn, access, loans_scope, date)
            as_of: dt.date = summary["as_of"]
            history = await reads.loan_history(conn, access, loans_scope, range_start(as_of, days), as_of)
            officers = await reads.officers_within(conn, loans_scope, as_of) if loans_scope.kind != "officer" else []
            branches = await reads.branch_summaries(conn, access, as_of) if loans_scope.kind == "all" else []
            alerts = await reads.alerts(
                conn, access, AlertQuery(status="open", limit=OPEN_ALERTS_SHOWN + 1), within=loans_scope
            )
            names = await _scope_names(conn, loans_scope)
        return {
            "scope": loans_scope,
            "names": names,
            "date": date,
            "range": range,
            "ranges": RANGES,
            "range_label": label,
            "summary": summary,
            "health": display.loan_figure("health_score", summary),
            "groups": display.loan_groups(summary),
            "history": history,
            "officers": officers,
            "branches": branches,
            "alerts": alerts[:OPEN_ALERTS_SHOWN],
            "more_alerts": len(alerts) > OPEN_ALERTS_SHOWN,
            "display": display,
        }

    return await render_live_page(request, "loans.html", "loans_live.html", load, access=access, areas=AREAS)
