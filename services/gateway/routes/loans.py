"""The loans read API (CONTRACT §2 for the figures, §4 for the endpoints): thin routes over `reads`.

Who may read what is the access policy's (`services.gateway.access`); authorisation comes before
existence, so a scope outside the caller's reach is a 403 whether or not it has data; inside it, a scope
or day without data is a 404.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from services.gateway import reads
from services.gateway.access import Access
from services.gateway.db import Database, get_database
from services.gateway.errors import READ_MODEL_RESPONSES
from services.gateway.presenters.loans import LoanSummary, OfficerSummary, summaries_csv
from services.gateway.rounding import DecimalJSONResponse
from shared.events.types import IDENTIFIER_PATTERN, BusinessDate

router = APIRouter(prefix="/v1/loans", tags=["loans"], responses=READ_MODEL_RESPONSES)

ScopeParam = Annotated[
    str | None,
    Query(
        description="`all`, `branch:<id>` or `officer:<id>`; defaults to the widest scope the caller may read",
        max_length=80,
    ),
]
DateParam = Annotated[
    BusinessDate | None,
    Query(description="Business date `YYYY-MM-DD`; defaults to the latest date with data"),
]
FromParam = Annotated[
    BusinessDate | None,
    Query(alias="from", description="First day (inclusive) `YYYY-MM-DD`; defaults to the first with data"),
]
ToParam = Annotated[
    BusinessDate | None,
    Query(alias="to", description="Last day (inclusive) `YYYY-MM-DD`; defaults to the latest with data"),
]
BranchParam = Annotated[
    str | None,
    Query(
        pattern=IDENTIFIER_PATTERN,
        description="Only this branch's officers (admins); team leaders get their own branch",
    ),
]
Db = Annotated[Database, Depends(get_database)]


@router.get("/summary", response_model=LoanSummary, response_class=DecimalJSONResponse)
async def loan_summary(access: Access, db: Db, scope: ScopeParam = None, date: DateParam = None) -> Response:
    """The summary of a scope on `date` (default: the scope's latest day with data)."""
    loans_scope = access.loans_scope(scope)
    async with db.read_model("loans") as conn:
        return DecimalJSONResponse(await reads.loan_summary(conn, access, loans_scope, date))


@router.get("/officers", response_model=list[OfficerSummary], response_class=DecimalJSONResponse)
async def loan_officers(access: Access, db: Db, branch: BranchParam = None, date: DateParam = None) -> Response:
    """One summary per officer on `date` (default: the latest day with officer rows), worst health first.

    Admins see every officer (or one branch's); a team leader their own branch; a loan officer only
    themselves.
    """
    access.loans_reach()
    async with db.read_model("loans") as conn:
        return DecimalJSONResponse(await reads.loan_officers(conn, access, branch, date))


@router.get("/history", response_model=list[LoanSummary], response_class=DecimalJSONResponse)
async def loan_history(
    access: Access,
    db: Db,
    scope: ScopeParam = None,
    from_: FromParam = None,
    to: ToParam = None,
) -> Response:
    """The daily summaries of a scope in [`from`, `to`], oldest first (at most 3,660 days)."""
    reads.check_range(from_, to)
    loans_scope = access.loans_scope(scope)
    async with db.read_model("loans") as conn:
        history = await reads.loan_history(conn, access, loans_scope, from_, to)
    return DecimalJSONResponse(history.payloads)


@router.get(
    "/export.csv",
    response_class=Response,
    responses={
        200: {
            "description": "The daily summaries as CSV: a header row, then one row per day, oldest first",
            "content": {"text/csv": {"schema": {"type": "string"}}},
            "headers": {
                "Content-Disposition": {
                    "description": 'attachment; filename="loans-<scope>-<from>-<to>.csv"',
                    "required": True,
                    "schema": {"type": "string"},
                }
            },
        }
    },
)
async def loan_history_csv(
    access: Access,
    db: Db,
    scope: ScopeParam = None,
    from_: FromParam = None,
    to: ToParam = None,
) -> Response:
    """`/v1/loans/history` as CSV (`loans-<scope>-<from>-<to>.csv`), rounded the same way."""
    reads.check_range(from_, to)
    loans_scope = access.loans_scope(scope)
    async with db.read_model("loans") as conn:
        history = await reads.loan_history(conn, access, loans_scope, from_, to)
    filename = f"loans-{history.scope}-{history.start.isoformat()}-{history.end.isoformat()}.csv"
    return Response(
        content=summaries_csv(history.rows),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
