"""The wealth read API (CONTRACT §3 for the figures, §4 for the endpoints).

Everything is read from the aggregator's read model (`services/aggregator/migrations/002_wealth.sql`),
whose figures are unrounded, and rounded here: money half-up to 2 places, percents to 4, written as exact
JSON numbers (`services.gateway.rounding`); a percent that is not computable stays `null`.

- `client=<id>`: the client's own row of `aggregator.wealth_client_days` (its percents as stored).
- `client=ALL`: the running sums of `aggregator.wealth_date_totals` over the clients with a snapshot on
  that date; each percent is asset-weighted by average capital, Σ cᵢ·rᵢ ÷ Σ cᵢ (`weighted_percent`), and
  the allocations come from `aggregator.wealth_date_allocations`.

Who may read what (`shared.auth.can_read_wealth_client`): admin every client and `ALL`; a client only its
own id; team leaders and loan officers nothing. Authorisation is checked before existence, so a client
outside the caller's reach is a 403 whether or not it has data; inside it, no data is a 404.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from decimal import Context, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Annotated, Any, TypeAlias

import asyncpg
from asyncpg import Record
from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel, Field

from services.gateway.db import Database, get_database
from services.gateway.errors import READ_MODEL_RESPONSES, forbidden, invalid_parameters, not_found, unavailable
from services.gateway.rounding import DecimalJSONResponse, JsonMoney, JsonPercent, round_money, round_percent
from services.gateway.security import CurrentClaims
from shared.auth import ALL_CLIENTS, Claims, Role, can_read_wealth_client
from shared.events.types import IDENTIFIER_PATTERN, BusinessDate

router = APIRouter(prefix="/v1/wealth", tags=["wealth"], responses=READ_MODEL_RESPONSES)

CLIENT_DAYS = "aggregator.wealth_client_days"
DATE_TOTALS = "aggregator.wealth_date_totals"
DATE_ALLOCATIONS = "aggregator.wealth_date_allocations"

SUMMARY_FIELDS: tuple[str, ...] = (
    "total_aum",
    "inception_dollar_performance",
    "inception_return_pct",
    "estimated_annual_income",
    "period_return_dollar",
    "period_return_percent",
    "monthly_return_dollar",
    "monthly_return_percent",
    "ytd_return_dollar",
    "ytd_return_percent",
)
HISTORY_FIELDS: tuple[str, ...] = (
    "date",
    "total_value",
    "net_external_flows",
    "period_return_dollar",
    "period_return_percent",
    "inception_return_pct",
    "revision",
)
# The figures of §3 ("period", "monthly", "ytd", "inception") → (dollar field, percent field) of the summary.
FIGURES: dict[str, tuple[str, str]] = {
    "period": ("period_return_dollar", "period_return_percent"),
    "monthly": ("monthly_return_dollar", "monthly_return_percent"),
    "ytd": ("ytd_return_dollar", "ytd_return_percent"),
    "inception": ("inception_dollar_performance", "inception_return_pct"),
}

# Division of the weighted sums: far more digits than the 4 places the percent is rounded to.
_DIVISION = Context(prec=60)


# --- response models (OpenAPI; responses are rendered from dicts in the same field order) -------------


class WealthFigures(BaseModel):
    """The figures of one client or of all clients on one date (CONTRACT §3)."""

    total_aum: JsonMoney
    inception_dollar_performance: JsonMoney
    inception_return_pct: JsonPercent | None
    estimated_annual_income: JsonMoney
    period_return_dollar: JsonMoney
    period_return_percent: JsonPercent | None
    monthly_return_dollar: JsonMoney
    monthly_return_percent: JsonPercent | None
    ytd_return_dollar: JsonMoney
    ytd_return_percent: JsonPercent | None


class AllocationEntry(BaseModel):
    name: str
    value: JsonMoney
    percent: JsonPercent | None = Field(description="100 × value ÷ the dimension's total; null if that is 0")


class BondMaturityEntry(BaseModel):
    year: int
    value: JsonMoney


class WealthSummary(BaseModel):
    filter_applied: str = Field(description="`ALL` or the client id")
    as_of: dt.date
    client_count: int
    summary: WealthFigures
    asset_allocation: list[AllocationEntry] = Field(description="By asset class, largest first")
    bank_allocation: list[AllocationEntry] = Field(description="By custodian, largest first")
    bond_maturity: list[BondMaturityEntry] = Field(description="By maturity year, earliest first")


class WealthHistoryEntry(BaseModel):
    date: dt.date
    total_value: JsonMoney
    net_external_flows: JsonMoney
    period_return_dollar: JsonMoney
    period_return_percent: JsonPercent | None
    inception_return_pct: JsonPercent | None
    revision: int


# --- pure rules ---------------------------------------------------------------------------------------


def _decimal(value: Any) -> Decimal:
    """An amount from the read model (NUMERIC, or a number or string inside jsonb) as a Decimal."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, str, float)):
        raise ValueError(f"not an amount: {value!r}")
    try:
        return Decimal(repr(value) if isinstance(value, float) else value)
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {value!r}") from exc


def _percent_or_none(value: Decimal | None) -> Decimal | None:
    return round_percent(value) if value is not None else None


def weighted_percent(weighted: Decimal, capital: Decimal, windows: int) -> Decimal | None:
    """The asset-weighted percent of all clients (CONTRACT §3), unrounded.

    Σ cᵢ·rᵢ ÷ Σ cᵢ over the qualifying clients (cᵢ > 0 and rᵢ not null) when Σ cᵢ > 0; otherwise 0 when
    no client has a window for the figure (every client is "0 and 0"), and null (not computable) when some
    client has one.
    """
    if capital > 0:
        return _DIVISION.divide(weighted, capital)
    return Decimal(0) if windows == 0 else None


def allocation_entries(items: Iterable[tuple[str, Any]]) -> list[dict[str, Any]]:
    """`[{name, value, percent}]` of one dimension: percent = 100 × value ÷ Σ values (null if Σ is 0),
    largest value first, then by name; value and percent rounded (the percent from unrounded values).
    Values may be Decimals (NUMERIC) or the numbers or strings of a jsonb list."""
    entries = sorted(((str(name), _decimal(value)) for name, value in items), key=lambda e: (-e[1], e[0]))
    total = sum((value for _, value in entries), Decimal(0))
    return [
        {
            "name": name,
            "value": round_money(value),
            "percent": round_percent(_DIVISION.divide(100 * value, total)) if total != 0 else None,
        }
        for name, value in entries
    ]


def bond_maturity_entries(items: Iterable[tuple[Any, Any]]) -> list[dict[str, Any]]:
    """`[{year, value}]`, earliest year first, `year` an integer (from a number or a text name), value rounded."""
    entries = sorted((int(year), _decimal(value)) for year, value in items)
    return [{"year": year, "value": round_money(value)} for year, value in entries]


def _jsonb_list(value: Any) -> list[Mapping[str, Any]]:
    """A jsonb list column read as text (numbers kept exact), or already decoded."""
    decoded = json.loads(value, parse_float=Decimal) if isinstance(value, str) else value
    if decoded is None:
        return []
    if not isinstance(decoded, list) or not all(isinstance(item, Mapping) for item in decoded):
        raise ValueError("expected a JSON list of objects")
    return decoded


def client_summary_payload(row: Mapping[str, Any] | Record) -> dict[str, Any]:
    """The summary of one client from its `wealth_client_days` row (percents as stored)."""
    summary: dict[str, Any] = {}
    for name in SUMMARY_FIELDS:
        source = "total_value" if name == "total_aum" else name
        value = row[source]
        summary[name] = _percent_or_none(value) if _is_percent(name) else round_money(value)
    return {
        "filter_applied": row["client_id"],
        "as_of": row["as_of"],
        "client_count": 1,
        "summary": summary,
        "asset_allocation": allocation_entries(
            (item["name"], item["value"]) for item in _jsonb_list(row["asset_allocation"])
        ),
        "bank_allocation": allocation_entries(
            (item["name"], item["value"]) for item in _jsonb_list(row["custodian_allocation"])
        ),
        "bond_maturity": bond_maturity_entries(
            (item["year"], item["value"]) for item in _jsonb_list(row["bond_maturity"])
        ),
    }


def all_summary_payload(
    totals: Mapping[str, Any] | Record, allocations: Iterable[Mapping[str, Any] | Record]
) -> dict[str, Any]:
    """The summary of all clients from the date's `wealth_date_totals` row and allocation rows."""
    summary: dict[str, Any] = {
        "total_aum": round_money(totals["total_aum"]),
        "estimated_annual_income": round_money(totals["estimated_annual_income"]),
    }
    for figure, (dollar, percent) in FIGURES.items():
        summary[dollar] = round_money(totals[f"{figure}_dollar"])
        summary[percent] = _percent_or_none(
            weighted_percent(totals[f"{figure}_weighted"], totals[f"{figure}_capital"], totals[f"{figure}_windows"])
        )
    by_dimension: dict[str, list[tuple[str, Decimal]]] = {"asset_class": [], "custodian": [], "bond_year": []}
    for item in allocations:
        by_dimension.setdefault(item["dimension"], []).append((item["name"], item["value"]))
    return {
        "filter_applied": ALL_CLIENTS,
        "as_of": totals["as_of"],
        "client_count": totals["client_count"],
        "summary": {name: summary[name] for name in SUMMARY_FIELDS},
        "asset_allocation": allocation_entries(by_dimension["asset_class"]),
        "bank_allocation": allocation_entries(by_dimension["custodian"]),
        "bond_maturity": bond_maturity_entries(by_dimension["bond_year"]),
    }


def history_payload(row: Mapping[str, Any] | Record) -> dict[str, Any]:
    return {
        "date": row["as_of"],
        "total_value": round_money(row["total_value"]),
        "net_external_flows": round_money(row["net_external_flows"]),
        "period_return_dollar": round_money(row["period_return_dollar"]),
        "period_return_percent": _percent_or_none(row["period_return_percent"]),
        "inception_return_pct": _percent_or_none(row["inception_return_pct"]),
        "revision": row["revision"],
    }


def _is_percent(name: str) -> bool:
    return name.endswith("_percent") or name.endswith("_pct")


# --- parameters ---------------------------------------------------------------------------------------

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

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    Connection: TypeAlias = PoolConnectionProxy[Record]


def _authorise(claims: Claims, client: str | None) -> str:
    """The client filter to read (`ALL` or an id), or 403 if it is outside the caller's scope."""
    if claims.role not in (Role.ADMIN, Role.CLIENT):
        raise forbidden(f"role {claims.role.value} may not read wealth")
    if client is None:
        client = ALL_CLIENTS if claims.role is Role.ADMIN else claims.client_id
    if client is None or not can_read_wealth_client(claims, client):
        raise forbidden(f"client {client} is outside the caller's scope")
    return client


@asynccontextmanager
async def _read_model(db: Database) -> AsyncIterator[Connection]:
    """A connection for reading the read model; 503 if the aggregator has not created it yet."""
    async with db.acquire() as conn:
        try:
            yield conn
        except (asyncpg.exceptions.UndefinedTableError, asyncpg.exceptions.InvalidSchemaNameError) as exc:
            raise unavailable("the wealth read model is not available yet") from exc


_CLIENT_COLUMNS = (
    "client_id, as_of, total_value, estimated_annual_income, inception_dollar_performance, inception_return_pct,"
    " period_return_dollar, period_return_percent, monthly_return_dollar, monthly_return_percent,"
    " ytd_return_dollar, ytd_return_percent, asset_allocation::text AS asset_allocation,"
    " custodian_allocation::text AS custodian_allocation, bond_maturity::text AS bond_maturity"
)
_TOTALS_COLUMNS = "as_of, client_count, total_aum, estimated_annual_income, " + ", ".join(
    f"{figure}_{part}" for figure in FIGURES for part in ("dollar", "weighted", "capital", "windows")
)


async def _client_summary(conn: Connection, client: str, date: dt.date | None) -> dict[str, Any] | None:
    if date is None:
        row = await conn.fetchrow(
            f"SELECT {_CLIENT_COLUMNS} FROM {CLIENT_DAYS} WHERE client_id = $1 ORDER BY as_of DESC LIMIT 1", client
        )
    else:
        row = await conn.fetchrow(
            f"SELECT {_CLIENT_COLUMNS} FROM {CLIENT_DAYS} WHERE client_id = $1 AND as_of = $2", client, date
        )
    return client_summary_payload(row) if row is not None else None


async def _all_summary(conn: Connection, date: dt.date | None) -> dict[str, Any] | None:
    # A date whose running sums count no client (every snapshot of that date was moved away) has no data.
    if date is None:
        totals = await conn.fetchrow(
            f"SELECT {_TOTALS_COLUMNS} FROM {DATE_TOTALS} WHERE client_count > 0 ORDER BY as_of DESC LIMIT 1"
        )
    else:
        totals = await conn.fetchrow(
            f"SELECT {_TOTALS_COLUMNS} FROM {DATE_TOTALS} WHERE as_of = $1 AND client_count > 0", date
        )
    if totals is None:
        return None
    # Running sums leave a 0 where no client holds a class any more: not an allocation.
    allocations = await conn.fetch(
        f"SELECT dimension, name, value FROM {DATE_ALLOCATIONS} WHERE as_of = $1 AND value <> 0", totals["as_of"]
    )
    return all_summary_payload(totals, allocations)


# --- endpoints ----------------------------------------------------------------------------------------


@router.get("/summary", response_model=WealthSummary, response_class=DecimalJSONResponse)
async def wealth_summary(claims: CurrentClaims, db: Db, client: ClientParam = None, date: DateParam = None) -> Response:
    """The figures of one client, or of all clients (`ALL`), on `date` (default: the latest with data)."""
    wanted = _authorise(claims, client)
    async with _read_model(db) as conn:
        if wanted == ALL_CLIENTS:
            payload = await _all_summary(conn, date)
        else:
            payload = await _client_summary(conn, wanted, date)
    if payload is None:
        when = f" on {date.isoformat()}" if date is not None else ""
        raise not_found(f"no wealth data for client {wanted}{when}")
    return DecimalJSONResponse(payload)


@router.get("/clients/{client_id}/history", response_model=list[WealthHistoryEntry], response_class=DecimalJSONResponse)
async def wealth_client_history(
    claims: CurrentClaims,
    db: Db,
    client_id: ClientPath,
    from_: FromParam = None,
    to: ToParam = None,
) -> Response:
    """A client's snapshots in [`from`, `to`], oldest first (default: its whole history)."""
    if from_ is not None and to is not None and from_ > to:
        raise invalid_parameters(f"from ({from_}) is after to ({to})")
    wanted = _authorise(claims, client_id)
    async with _read_model(db) as conn:
        known = await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM {CLIENT_DAYS} WHERE client_id = $1)", wanted)
        if not known:
            raise not_found(f"no wealth data for client {wanted}")
        rows = await conn.fetch(
            "SELECT as_of, revision, total_value, net_external_flows, period_return_dollar, period_return_percent,"
            f" inception_return_pct FROM {CLIENT_DAYS}"
            " WHERE client_id = $1 AND ($2::date IS NULL OR as_of >= $2) AND ($3::date IS NULL OR as_of <= $3)"
            " ORDER BY as_of",
            wanted,
            from_,
            to,
        )
    return DecimalJSONResponse([history_payload(row) for row in rows])
