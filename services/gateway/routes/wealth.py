"""The wealth read API (CONTRACT §3 for the figures, §4 for the endpoints): thin routes over `reads`.

Who may read what is the access policy's: an admin every client and `ALL`, a client only its own id.
Authorisation comes before existence, so a client outside the caller's reach is a 403 whether or not it has
data; inside it, no data is a 404.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from services.gateway import reads
from services.gateway.access import Access
from services.gateway.db import Database, get_database
from services.gateway.errors import READ_MODEL_RESPONSES, invalid_parameters
from services.gateway.presenters.wealth import WealthHistoryEntry, WealthSummary
from services.gateway.rounding import DecimalJSONResponse
from shared.events.types import IDENTIFIER_PATTERN, BusinessDate

router = APIRouter(prefix="/v1/wealth", tags=["wealth"], responses=READ_MODEL_RESPONSES)

ClientParam = Annotated[
    str | None,
    Query(
        pattern=IDENTIFIER_PATTERN,
        description="`ALL` or a client id; defaults to `ALL` for admins and to their own id for clients",
    ),
]
DateParam = Annotated[
    BusinessDate | None,
    Query(description="Snapshot date `YYYY-MM-DD`; defaults to the latest date with data"),
]
ClientPath = Annotated[str, Path(pattern=IDENTIFIER_PATTERN, description="The client id")]
FromParam = Annotated[
    BusinessDate | None,
    Query(alias="from", description="First date (inclusive) `YYYY-MM-DD`; defaults to the client's first"),
]
ToParam = Annotated[
    BusinessDate | None,
    Query(alias="to", description="Last date (inclusive) `YYYY-MM-DD`; defaults to the client's latest"),
]
Db = Annotated[Database, Depends(get_database)]


@router.get("/summary", response_model=WealthSummary, response_class=DecimalJSONResponse)
async def wealth_summary(access: Access, db: Db, client: ClientParam = None, date: DateParam = None) -> Response:
    """The figures of one client, or of all clients (`ALL`), on `date` (default: the latest with data)."""
    access.wealth_client(client)
    async with db.read_model("wealth") as conn:
        return DecimalJSONResponse((await reads.wealth_summary(conn, access, client, date)).payload)


@router.get("/clients/{client_id}/history", response_model=list[WealthHistoryEntry], response_class=DecimalJSONResponse)
async def wealth_client_history(
    access: Access,
    db: Db,
    client_id: ClientPath,
    from_: FromParam = None,
    to: ToParam = None,
) -> Response:
    """A client's snapshots in [`from`, `to`], oldest first (default: its whole history)."""
    if from_ is not None and to is not None and from_ > to:
        raise invalid_parameters(f"from ({from_}) is after to ({to})")
    access.wealth_client(client_id)
    async with db.read_model("wealth") as conn:
        return DecimalJSONResponse(await reads.wealth_history(conn, access, client_id, from_, to))
