"""`/wealth?client=ALL|<id>&date=`: the wealth dashboard (CONTRACT §6).

The eight figures and year to date (the API's `/v1/wealth/summary`, formatted for people), the client
picker for admins, allocations by asset class and custodian, bond maturities by year; for one client its
window start dates and the history of its total value and return since inception.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from services.gateway import reads
from services.gateway.db import Database, get_database
from services.gateway.pages.session import PAGE_TAG, PageAccess
from services.gateway.pages.templating import render_live_page
from services.gateway.presenters import display
from services.gateway.views.wealth import ALL_CLIENTS
from shared.events.types import IDENTIFIER_PATTERN, BusinessDate

router = APIRouter(include_in_schema=False, tags=[PAGE_TAG])

Db = Annotated[Database, Depends(get_database)]


@router.get("/wealth", response_class=HTMLResponse)
async def wealth_page(
    request: Request,
    access: PageAccess,
    db: Db,
    client: Annotated[str | None, Query(pattern=IDENTIFIER_PATTERN)] = None,
    date: BusinessDate | None = None,
) -> HTMLResponse:
    wanted = access.wealth_client(client)
    all_clients = wanted == ALL_CLIENTS

    async def load() -> dict[str, Any]:
        async with db.read_model("wealth") as conn:
            view = await reads.wealth_summary(conn, access, wanted, date)
            as_of = view.payload["as_of"]
            clients = await reads.wealth_clients(conn, access, as_of) if access.may_read_wealth(ALL_CLIENTS) else []
            history = [] if all_clients else await reads.wealth_history(conn, access, wanted, None, None)
        return {
            "client": wanted,
            "all_clients": all_clients,
            "date": date,
            "payload": view.payload,
            "cards": display.wealth_cards(view.payload["summary"], all_clients=all_clients),
            "window_starts": view.window_starts,
            "clients": clients,
            "history": history,
            "display": display,
        }

    return await render_live_page(request, "wealth.html", "wealth_live.html", load, access=access, areas=("wealth",))
