"""The loans read API (CONTRACT §2 for the figures, §4 for the endpoints).

Everything is read from the aggregator's read model `aggregator.loan_summaries` (one row per scope and
day, figures unrounded) and rounded here: money half-up to 2 places, percents to 4, `health_score` to 2,
written as exact JSON numbers (`services.gateway.rounding`). `health_category` is passed through as the
aggregator computed it from the unrounded score.

Who may read what (`shared.auth.can_read_loans_scope`): admin everything; a team leader `branch:<own>` and
`officer:<x>` for the officers whose branch (on their latest row) is their own; a loan officer
`officer:<own>`; a client nothing. Authorisation is checked before existence, so a scope outside the
caller's reach is a 403 whether or not it has data; inside it, a scope or day without data is a 404.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, TypeAlias

import asyncpg
from asyncpg import Record
from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field

from services.gateway.db import Database, get_database
from services.gateway.errors import READ_MODEL_RESPONSES, forbidden, invalid_parameters, not_found, unavailable
from services.gateway.rounding import (
    DecimalJSONResponse,
    JsonMoney,
    JsonPercent,
    JsonScore,
    decimal_text,
    round_money,
    round_percent,
    round_score,
)
from services.gateway.security import CurrentClaims
from shared.auth import Claims, LoansScope, Role, can_read_loans_scope, default_loans_scope, parse_loans_scope
from shared.events.types import IDENTIFIER_PATTERN, BusinessDate

router = APIRouter(prefix="/v1/loans", tags=["loans"], responses=READ_MODEL_RESPONSES)

TABLE = "aggregator.loan_summaries"
MAX_HISTORY_DAYS = 3660
"""The longest range (inclusive, in days) `history` and `export.csv` answer."""

HEALTH_CATEGORIES = ("critical", "warning", "good", "excellent")

# Field order of a summary (JSON objects and CSV columns); `as_of` is the row's `business_date`.
SUMMARY_FIELDS: tuple[str, ...] = (
    "scope",
    "as_of",
    "revision",
    "total_clients",
    "active_clients",
    "total_loans",
    "active_loans",
    "total_disbursed",
    "total_outstanding",
    "total_collected",
    "par_30",
    "par_60",
    "par_90",
    "default_rate",
    "collection_rate",
    "portfolio_yield",
    "growth_rate",
    "new_clients_30d",
    "exited_clients_30d",
    "health_score",
    "health_category",
)
OFFICER_FIELDS: tuple[str, ...] = ("officer_id", "name", "branch_id")

ROUNDING: dict[str, Callable[[Decimal | int], Decimal]] = {
    "total_disbursed": round_money,
    "total_outstanding": round_money,
    "total_collected": round_money,
    "par_30": round_percent,
    "par_60": round_percent,
    "par_90": round_percent,
    "default_rate": round_percent,
    "collection_rate": round_percent,
    "portfolio_yield": round_percent,
    "growth_rate": round_percent,
    "health_score": round_score,
}

_COLUMNS = ", ".join(
    [
        "scope",
        "business_date",
        "kind",
        "branch_id",
        "officer_id",
        "officer_name",
        *(name for name in SUMMARY_FIELDS if name not in ("scope", "as_of")),
    ]
)


# --- response models (OpenAPI; responses are rendered from dicts in the same field order) -------------


class LoanSummary(BaseModel):
    """The figures of one loans portfolio (officer, branch or all) at the end of `as_of` (CONTRACT §2)."""

    scope: str = Field(description="`all`, `branch:<id>` or `officer:<id>`")
    as_of: dt.date
    revision: int
    total_clients: int
    active_clients: int
    total_loans: int
    active_loans: int
    total_disbursed: JsonMoney
    total_outstanding: JsonMoney
    total_collected: JsonMoney
    par_30: JsonPercent
    par_60: JsonPercent
    par_90: JsonPercent
    default_rate: JsonPercent
    collection_rate: JsonPercent
    portfolio_yield: JsonPercent
    growth_rate: JsonPercent
    new_clients_30d: int
    exited_clients_30d: int
    health_score: JsonScore
    health_category: str = Field(json_schema_extra={"enum": list(HEALTH_CATEGORIES)})


class OfficerSummary(LoanSummary):
    """An officer's summary, with who the officer is."""

    officer_id: str
    name: str | None
    branch_id: str | None


# --- shaping ------------------------------------------------------------------------------------------


Row: TypeAlias = Mapping[str, Any] | Record


def summary_payload(row: Row) -> dict[str, Any]:
    """A read-model row as the API's summary: fields in contract order, figures rounded."""
    out: dict[str, Any] = {"scope": row["scope"], "as_of": row["business_date"]}
    for name in SUMMARY_FIELDS[2:]:
        value = row[name]
        rounder = ROUNDING.get(name)
        out[name] = rounder(value) if rounder is not None else value
    return out


def officer_payload(row: Row) -> dict[str, Any]:
    return {
        "officer_id": row["officer_id"],
        "name": row["officer_name"],
        "branch_id": row["branch_id"],
        **summary_payload(row),
    }


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def summaries_csv(rows: Sequence[Row]) -> str:
    """Header (`SUMMARY_FIELDS`) and one line per row, figures rounded as in JSON; CRLF line ends."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(SUMMARY_FIELDS)
    for row in rows:
        payload = summary_payload(row)
        writer.writerow([_csv_cell(payload[name]) for name in SUMMARY_FIELDS])
    return buffer.getvalue()


# --- parameters ---------------------------------------------------------------------------------------

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

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    Connection: TypeAlias = PoolConnectionProxy[Record]


def _requested_scope(claims: Claims, text: str | None) -> LoansScope:
    default = default_loans_scope(claims)
    if default is None:
        raise forbidden(f"role {claims.role.value} may not read loans")
    if text is None:
        return default
    try:
        return parse_loans_scope(text)
    except ValueError as exc:
        raise invalid_parameters(str(exc)) from exc


@asynccontextmanager
async def _read_model(db: Database) -> AsyncIterator[Connection]:
    """A connection for reading the read model; 503 if the aggregator has not created it yet."""
    async with db.acquire() as conn:
        try:
            yield conn
        except (asyncpg.exceptions.UndefinedTableError, asyncpg.exceptions.InvalidSchemaNameError) as exc:
            raise unavailable("the loans read model is not available yet") from exc


async def _officer_branch(conn: Connection, officer_id: str) -> str | None:
    """The officer's branch on their latest row (a branch move re-files the whole history)."""
    branch: str | None = await conn.fetchval(
        f"SELECT branch_id FROM {TABLE} WHERE scope = $1 ORDER BY business_date DESC LIMIT 1",
        f"officer:{officer_id}",
    )
    return branch


async def _authorise(conn: Connection, claims: Claims, scope: LoansScope) -> None:
    if claims.role is Role.TEAM_LEADER and scope.kind == "officer" and scope.id is not None:
        branch = await _officer_branch(conn, scope.id)
        allowed = can_read_loans_scope(claims, scope, {scope.id: branch} if branch is not None else {})
    else:
        allowed = can_read_loans_scope(claims, scope)
    if not allowed:
        raise forbidden(f"scope {scope} is outside the caller's scope")


def _span_days(start: dt.date, end: dt.date) -> int:
    return (end - start).days + 1


def _shift(day: dt.date, days: int) -> dt.date:
    """`day` moved by `days`, stopping at the ends of the calendar (`from=9999-12-01` or `to=0001-01-02` is
    a valid request, whose default other bound would otherwise overflow)."""
    try:
        return day + dt.timedelta(days=days)
    except OverflowError:
        return dt.date.max if days > 0 else dt.date.min


def _check_range(start: dt.date | None, end: dt.date | None) -> None:
    if start is not None and end is not None:
        if start > end:
            raise invalid_parameters(f"from ({start}) is after to ({end})")
        if _span_days(start, end) > MAX_HISTORY_DAYS:
            raise invalid_parameters(f"the range from {start} to {end} is longer than {MAX_HISTORY_DAYS} days")


async def _history(
    conn: Connection, scope: LoansScope, start: dt.date | None, end: dt.date | None
) -> tuple[list[Record], dt.date, dt.date]:
    """The scope's rows in [start, end], oldest first, and the range actually read.

    A missing bound defaults to the first / latest day with data, clamped so that the range stays within
    `MAX_HISTORY_DAYS` (the latest days win). A scope without any data is a 404.
    """
    bounds = await conn.fetchrow(
        f"SELECT min(business_date) AS first, max(business_date) AS last FROM {TABLE} WHERE scope = $1",
        str(scope),
    )
    if bounds is None or bounds["first"] is None:
        raise not_found(f"no loans data for scope {scope}")
    first: dt.date = bounds["first"]
    last: dt.date = bounds["last"]
    window = MAX_HISTORY_DAYS - 1
    if start is None and end is None:
        end = last
        start = max(first, _shift(end, -window))
    elif start is None:
        assert end is not None
        start = min(max(first, _shift(end, -window)), end)
    elif end is None:
        end = max(min(last, _shift(start, window)), start)
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM {TABLE} WHERE scope = $1 AND business_date BETWEEN $2 AND $3 ORDER BY business_date",
        str(scope),
        start,
        end,
    )
    return rows, start, end


# --- endpoints ----------------------------------------------------------------------------------------


@router.get("/summary", response_model=LoanSummary, response_class=DecimalJSONResponse)
async def loan_summary(claims: CurrentClaims, db: Db, scope: ScopeParam = None, date: DateParam = None) -> Response:
    """The summary of a scope on `date` (default: the scope's latest day with data)."""
    loans_scope = _requested_scope(claims, scope)
    async with _read_model(db) as conn:
        await _authorise(conn, claims, loans_scope)
        if date is None:
            row = await conn.fetchrow(
                f"SELECT {_COLUMNS} FROM {TABLE} WHERE scope = $1 ORDER BY business_date DESC LIMIT 1",
                str(loans_scope),
            )
        else:
            row = await conn.fetchrow(
                f"SELECT {_COLUMNS} FROM {TABLE} WHERE scope = $1 AND business_date = $2",
                str(loans_scope),
                date,
            )
    if row is None:
        when = f" on {date.isoformat()}" if date is not None else ""
        raise not_found(f"no loans data for scope {loans_scope}{when}")
    return DecimalJSONResponse(summary_payload(row))


@router.get("/officers", response_model=list[OfficerSummary], response_class=DecimalJSONResponse)
async def loan_officers(claims: CurrentClaims, db: Db, branch: BranchParam = None, date: DateParam = None) -> Response:
    """One summary per officer on `date` (default: the latest day with officer rows), worst health first.

    Admins see every officer (or one branch's); a team leader their own branch; a loan officer only
    themselves.
    """
    officer_id: str | None = None
    match claims.role:
        case Role.ADMIN:
            pass
        case Role.TEAM_LEADER:
            if branch is None:
                branch = claims.branch_id
            elif branch != claims.branch_id:
                raise forbidden(f"branch {branch} is outside the caller's scope")
        case Role.LOAN_OFFICER:
            officer_id = claims.officer_id
        case _:
            raise forbidden(f"role {claims.role.value} may not read loans")
    async with _read_model(db) as conn:
        # A loan officer naming a branch must name their own.
        if officer_id is not None and branch is not None and await _officer_branch(conn, officer_id) != branch:
            raise forbidden(f"branch {branch} is outside the caller's scope")
        filters = "kind = 'officer' AND ($1::text IS NULL OR branch_id = $1) AND ($2::text IS NULL OR officer_id = $2)"
        if date is None:
            date = await conn.fetchval(f"SELECT max(business_date) FROM {TABLE} WHERE {filters}", branch, officer_id)
            if date is None:
                raise not_found("no officer data" + (f" for branch {branch}" if branch is not None else ""))
        rows = await conn.fetch(
            f"SELECT {_COLUMNS} FROM {TABLE} WHERE {filters} AND business_date = $3"
            " ORDER BY health_score ASC, officer_id ASC",
            branch,
            officer_id,
            date,
        )
    if not rows:
        where = f" for branch {branch}" if branch is not None else ""
        raise not_found(f"no officer data{where} on {date.isoformat()}")
    return DecimalJSONResponse([officer_payload(row) for row in rows])


async def _authorised_history(
    claims: Claims, db: Database, scope: str | None, from_: dt.date | None, to: dt.date | None
) -> tuple[LoansScope, list[asyncpg.Record], dt.date, dt.date]:
    """What /history and /export.csv share: the range checked, the scope resolved and authorised, the rows."""
    _check_range(from_, to)
    loans_scope = _requested_scope(claims, scope)
    async with _read_model(db) as conn:
        await _authorise(conn, claims, loans_scope)
        rows, start, end = await _history(conn, loans_scope, from_, to)
    return loans_scope, rows, start, end


@router.get("/history", response_model=list[LoanSummary], response_class=DecimalJSONResponse)
async def loan_history(
    claims: CurrentClaims,
    db: Db,
    scope: ScopeParam = None,
    from_: FromParam = None,
    to: ToParam = None,
) -> Response:
    """The daily summaries of a scope in [`from`, `to`], oldest first (at most 3,660 days)."""
    _, rows, _, _ = await _authorised_history(claims, db, scope, from_, to)
    return DecimalJSONResponse([summary_payload(row) for row in rows])


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
    claims: CurrentClaims,
    db: Db,
    scope: ScopeParam = None,
    from_: FromParam = None,
    to: ToParam = None,
) -> Response:
    """`/v1/loans/history` as CSV (`loans-<scope>-<from>-<to>.csv`), rounded the same way."""
    loans_scope, rows, start, end = await _authorised_history(claims, db, scope, from_, to)
    filename = f"loans-{loans_scope}-{start.isoformat()}-{end.isoformat()}.csv"
    return Response(
        content=summaries_csv(rows),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
