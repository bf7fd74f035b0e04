"""The alerts API (CONTRACT §2 for the rules, §4 for the endpoints).

Alerts are read from the aggregator's read model `aggregator.alerts` (one row per alert, built from the
`alerts` topic; `services/aggregator/migrations/004_alerts.sql`). Rows with a NULL status are
acknowledgements waiting for their alert and are never shown. Each alert's `values` (the figures its rule
looked at, unrounded) are rounded here: `health_score` to 2 places, every other figure (a percent) to 4,
written as exact JSON numbers.

Who sees which alerts: admin all; a team leader the alerts of their branch (branch scope, and officer scope
whose `branch_id` is their branch), never `all`; a loan officer only `officer:<own>`; a client none (403).
A `scope` filter outside the caller's reach is a 403. Acknowledging publishes `alert.acknowledged` on
`alerts`, keyed by the alert's scope so that it is ordered with the alert's own events; the aggregator
applies it to the read model.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeAlias

import asyncpg
from asyncpg import Record
from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel, Field, ValidationError, WithJsonSchema

from services.gateway.db import Database, get_database
from services.gateway.errors import (
    READ_MODEL_RESPONSES,
    ErrorBody,
    forbidden,
    invalid_parameters,
    not_found,
    unavailable,
)
from services.gateway.publisher import Publisher, get_publisher
from services.gateway.rounding import DecimalJSONResponse, round_percent, round_score
from services.gateway.security import CurrentClaims
from shared.auth import Claims, LoansScope, Role, parse_loans_scope
from shared.events.alerts import AlertAcknowledged, AlertType, Severity
from shared.events.envelope import describe, make_envelope
from shared.events.types import IDENTIFIER_PATTERN
from shared.topics import Topic

router = APIRouter(prefix="/v1/alerts", tags=["alerts"], responses=READ_MODEL_RESPONSES)

TABLE = "aggregator.alerts"
LOAN_SUMMARIES = "aggregator.loan_summaries"
EVENT_TYPE = "alert.acknowledged"
SOURCE = "gateway"
DEFAULT_LIMIT = 200
MAX_LIMIT = 1000

ITEM_FIELDS: tuple[str, ...] = (
    "alert_id",
    "type",
    "severity",
    "scope",
    "business_date",
    "status",
    "raised_at",
    "resolved_at",
    "acknowledged",
    "values",
)
SCORE_FIGURES = frozenset({"health_score"})
"""Figures rounded as a score (2 places); every other figure of `values` is a percent (4 places)."""

_SELECT = (
    "alert_id, alert_type, severity, scope, business_date, status, raised_at, resolved_at, acknowledged,"
    ' "values"::text AS values_json'
)


JsonFigure = Annotated[Decimal, WithJsonSchema({"type": "number", "description": "A rule's figure, rounded"})]

# --- response models (OpenAPI; responses are rendered from dicts in the same field order) -------------


class AlertItem(BaseModel):
    """One alert (CONTRACT §2): raised once when its rule starts to hold, resolved when it stops."""

    alert_id: str
    type: AlertType
    severity: Severity = Field(description="The current (or, once resolved, the last) severity")
    scope: str = Field(description="`all`, `branch:<id>` or `officer:<id>`")
    business_date: dt.date = Field(description="The business day whose figures raised it")
    status: Literal["open", "resolved"]
    raised_at: dt.datetime
    resolved_at: dt.datetime | None
    acknowledged: bool
    values: dict[str, JsonFigure] = Field(
        description="The figures the rule looked at (latest revision): percents rounded half-up to 4 places, "
        "`health_score` to 2",
    )


class AlertAckAccepted(BaseModel):
    event_id: str = Field(description="`event_id` of the published `alert.acknowledged`")


# --- shaping ------------------------------------------------------------------------------------------


def rounded_values(text: str) -> dict[str, Any]:
    """The stored figures (jsonb text, exact digits) rounded: `health_score` to 2 places, percents to 4."""
    figures = json.loads(text, parse_float=Decimal, parse_int=Decimal)
    out: dict[str, Any] = {}
    for name, value in figures.items():
        if isinstance(value, Decimal):
            out[name] = round_score(value) if name in SCORE_FIGURES else round_percent(value)
        else:  # not a number (never written by the alerter): passed through
            out[name] = value
    return out


def alert_payload(row: Record) -> dict[str, Any]:
    return {
        "alert_id": row["alert_id"],
        "type": row["alert_type"],
        "severity": row["severity"],
        "scope": row["scope"],
        "business_date": row["business_date"],
        "status": row["status"],
        "raised_at": row["raised_at"],
        "resolved_at": row["resolved_at"],
        "acknowledged": row["acknowledged"],
        "values": rounded_values(row["values_json"]),
    }


# --- parameters ---------------------------------------------------------------------------------------

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

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    Connection: TypeAlias = PoolConnectionProxy[Record]


@asynccontextmanager
async def _read_model(db: Database) -> AsyncIterator[Connection]:
    """A connection for reading the read model; 503 if the aggregator has not created it yet."""
    async with db.acquire() as conn:
        try:
            yield conn
        except (asyncpg.exceptions.UndefinedTableError, asyncpg.exceptions.InvalidSchemaNameError) as exc:
            raise unavailable("the alerts read model is not available yet") from exc


def _refuse_clients(claims: Claims) -> None:
    if claims.role not in (Role.ADMIN, Role.TEAM_LEADER, Role.LOAN_OFFICER):
        raise forbidden(f"role {claims.role.value} may not read alerts")


def _parse_scope(text: str | None) -> LoansScope | None:
    if text is None:
        return None
    try:
        return parse_loans_scope(text)
    except ValueError as exc:
        raise invalid_parameters(str(exc)) from exc


async def _officer_branch(conn: Connection, officer_id: str) -> str | None:
    """The officer's branch: that of their latest alert, else of their latest loans row (None if unknown)."""
    branch: str | None = await conn.fetchval(
        f"SELECT branch_id FROM {TABLE} WHERE status IS NOT NULL AND kind = 'officer' AND officer_id = $1"
        " ORDER BY raised_at DESC, alert_id LIMIT 1",
        officer_id,
    )
    if branch is None:
        branch = await conn.fetchval(
            f"SELECT branch_id FROM {LOAN_SUMMARIES} WHERE scope = $1 ORDER BY business_date DESC LIMIT 1",
            f"officer:{officer_id}",
        )
    return branch


async def _authorise_filter(conn: Connection, claims: Claims, scope: LoansScope) -> None:
    """403 unless the caller may read alerts of `scope`."""
    match claims.role:
        case Role.ADMIN:
            allowed = True
        case Role.TEAM_LEADER:
            if scope.kind == "branch":
                allowed = scope.id == claims.branch_id
            elif scope.kind == "officer" and scope.id is not None:
                allowed = await _officer_branch(conn, scope.id) == claims.branch_id
            else:
                allowed = False
        case Role.LOAN_OFFICER:
            allowed = scope == LoansScope("officer", claims.officer_id)
        case _:
            allowed = False
    if not allowed:
        raise forbidden(f"alerts of scope {scope} are outside the caller's scope")


def _may_see(claims: Claims, row: Record) -> bool:
    """May the caller see (and acknowledge) this alert? The same rule as the listing's row filter."""
    match claims.role:
        case Role.ADMIN:
            return True
        case Role.TEAM_LEADER:
            return row["kind"] in ("branch", "officer") and row["branch_id"] == claims.branch_id
        case Role.LOAN_OFFICER:
            return bool(row["scope"] == f"officer:{claims.officer_id}")
        case _:
            return False


# --- endpoints ----------------------------------------------------------------------------------------


@router.get("", response_model=list[AlertItem], response_class=DecimalJSONResponse)
async def list_alerts(
    claims: CurrentClaims,
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
    _refuse_clients(claims)
    wanted = _parse_scope(scope)
    # The caller's reach, as a row filter: a branch (branch and officer scopes), or one scope.
    branch = claims.branch_id if claims.role is Role.TEAM_LEADER else None
    own_officer = claims.officer_id if claims.role is Role.LOAN_OFFICER else None
    async with _read_model(db) as conn:
        if wanted is not None:
            await _authorise_filter(conn, claims, wanted)
        rows = await conn.fetch(
            f"""
            SELECT {_SELECT} FROM {TABLE}
            WHERE status IS NOT NULL
              AND ($1::text IS NULL OR status = $1)
              AND ($2::text IS NULL OR severity = $2)
              AND ($3::text IS NULL OR alert_type = $3)
              AND ($4::text IS NULL OR scope = $4)
              AND ($5::boolean IS NULL OR acknowledged = NOT $5)
              AND ($6::text IS NULL OR (branch_id = $6 AND kind IN ('branch', 'officer')))
              AND ($7::text IS NULL OR (kind = 'officer' AND officer_id = $7))
            ORDER BY raised_at DESC, alert_id
            LIMIT $8 OFFSET $9
            """,
            None if status == "all" else status,
            severity,
            alert_type,
            None if wanted is None else str(wanted),
            unread,
            branch,
            own_officer,
            limit,
            offset,
        )
    return DecimalJSONResponse([alert_payload(row) for row in rows])


@router.post(
    "/{alert_id}/ack",
    status_code=202,
    responses={503: {"model": ErrorBody, "description": "Database or message broker unavailable"}},
)
async def acknowledge_alert(
    alert_id: AlertIdParam,
    claims: CurrentClaims,
    db: Db,
    publisher: Annotated[Publisher, Depends(get_publisher)],
) -> AlertAckAccepted:
    """Publish `alert.acknowledged {alert_id, acknowledged_by, acknowledged_at}` on `alerts`, keyed by the
    alert's scope (404 for an unknown alert, 403 for one outside the caller's scope)."""
    _refuse_clients(claims)
    async with _read_model(db) as conn:
        row = await conn.fetchrow(
            f"SELECT alert_id, scope, kind, branch_id FROM {TABLE} WHERE alert_id = $1 AND status IS NOT NULL",
            alert_id,
        )
    if row is None:
        raise not_found(f"no alert {alert_id}")
    if not _may_see(claims, row):
        raise forbidden(f"alert {alert_id} is outside the caller's scope")
    now = dt.datetime.now(dt.UTC)
    try:
        event = AlertAcknowledged.model_validate(
            {"alert_id": alert_id, "acknowledged_by": claims.sub, "acknowledged_at": now.isoformat()}
        )
    except ValidationError as exc:
        raise invalid_parameters(describe(exc)) from exc
    envelope = make_envelope(EVENT_TYPE, event.model_dump(mode="json"), source=SOURCE, occurred_at=now)
    await publisher.publish_event(Topic.ALERTS, row["scope"], envelope)
    return AlertAckAccepted(event_id=envelope["event_id"])
