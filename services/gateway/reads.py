"""What the gateway answers, for the JSON API (`routes/`) and the pages (`pages/`) alike.

Each read authorises with the caller's `AccessPolicy`, reads a view on the connection it is given, answers
404 where the contract says "no data", and returns the presenter's payload: the exact figures of the API,
which the pages then only format for people. The caller opens the connection
(`async with db.read_model("loans") as conn`), so a page composes several reads on one connection.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from services.gateway.access import AccessPolicy, RowFilter, parse_scope
from services.gateway.errors import forbidden, invalid_parameters, not_found
from services.gateway.presenters import alerts as alert_presenters
from services.gateway.presenters import loans as loan_presenters
from services.gateway.presenters import wealth as wealth_presenters
from services.gateway.views import Connection, Record
from services.gateway.views import alerts as alert_views
from services.gateway.views import loans as loan_views
from services.gateway.views import wealth as wealth_views
from shared.auth import LoansScope

MAX_HISTORY_DAYS = 3660
"""The longest range (inclusive, in days) the loans history and its CSV answer."""

# --- loans --------------------------------------------------------------------------------------------


async def loan_summary(
    conn: Connection, access: AccessPolicy, scope: LoansScope, day: dt.date | None
) -> dict[str, Any]:
    """`/v1/loans/summary`: the scope's figures on `day` (default: its latest)."""
    await access.authorise(conn, scope)
    row = await loan_views.summary(conn, str(scope), day)
    if row is None:
        when = f" on {day.isoformat()}" if day is not None else ""
        raise not_found(f"no loans data for scope {scope}{when}")
    return loan_presenters.summary_payload(row)


async def loan_officers(
    conn: Connection, access: AccessPolicy, branch: str | None, day: dt.date | None
) -> list[dict[str, Any]]:
    """`/v1/loans/officers`: one summary per officer the caller may read (of `branch`, if named) on `day`
    (default: the latest day with one of their rows), worst health first."""
    officers = await access.officers_filter(conn, branch)
    where = f" for branch {branch}" if branch is not None else ""
    if day is None:
        day = await loan_views.latest_officer_day(conn, officers)
        if day is None:
            raise not_found(f"no officer data{where}")
    rows = await loan_views.officers(conn, officers, day)
    if not rows:
        raise not_found(f"no officer data{where} on {day.isoformat()}")
    return [loan_presenters.officer_payload(row) for row in rows]


async def officers_within(conn: Connection, scope: LoansScope, day: dt.date) -> list[dict[str, Any]]:
    """The officers of an authorised `all` or branch scope on `day`, worst health first (a page's list)."""
    return [loan_presenters.officer_payload(r) for r in await loan_views.officers(conn, RowFilter.within(scope), day)]


async def branch_summaries(conn: Connection, access: AccessPolicy, day: dt.date) -> list[dict[str, Any]]:
    """Every branch's summary on `day`, worst health first: for callers who may read `all`."""
    await access.authorise(conn, LoansScope("all"))
    return [loan_presenters.summary_payload(row) for row in await loan_views.branches(conn, day)]


@dataclass(frozen=True, slots=True)
class LoanHistory:
    scope: LoansScope
    rows: list[Record]
    start: dt.date
    end: dt.date
    payloads: list[dict[str, Any]] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "payloads", [loan_presenters.summary_payload(row) for row in self.rows])


def check_range(start: dt.date | None, end: dt.date | None) -> None:
    """422 for a range that ends before it starts or is longer than `MAX_HISTORY_DAYS`."""
    if start is not None and end is not None:
        if start > end:
            raise invalid_parameters(f"from ({start}) is after to ({end})")
        if (end - start).days + 1 > MAX_HISTORY_DAYS:
            raise invalid_parameters(f"the range from {start} to {end} is longer than {MAX_HISTORY_DAYS} days")


def shift(day: dt.date, days: int) -> dt.date:
    """`day` moved by `days`, stopping at the ends of the calendar (`from=9999-12-01` or `to=0001-01-02` is
    a valid request, whose default other bound would otherwise overflow)."""
    try:
        return day + dt.timedelta(days=days)
    except OverflowError:
        return dt.date.max if days > 0 else dt.date.min


def history_range(first: dt.date, last: dt.date, start: dt.date | None, end: dt.date | None) -> tuple[dt.date, dt.date]:
    """The range to read of a scope whose data spans [first, last]: a missing bound defaults to the first /
    latest day with data, clamped so that the range stays within `MAX_HISTORY_DAYS` (the latest days win)."""
    window = MAX_HISTORY_DAYS - 1
    if start is None and end is None:
        end = last
        start = max(first, shift(end, -window))
    elif start is None:
        assert end is not None
        start = min(max(first, shift(end, -window)), end)
    elif end is None:
        end = max(min(last, shift(start, window)), start)
    return start, end


async def loan_history(
    conn: Connection, access: AccessPolicy, scope: LoansScope, start: dt.date | None, end: dt.date | None
) -> LoanHistory:
    """`/v1/loans/history` and `export.csv`: the scope's daily summaries in [start, end], oldest first."""
    check_range(start, end)
    await access.authorise(conn, scope)
    bounds = await loan_views.history_bounds(conn, str(scope))
    if bounds is None:
        raise not_found(f"no loans data for scope {scope}")
    start, end = history_range(*bounds, start, end)
    return LoanHistory(scope, await loan_views.history(conn, str(scope), start, end), start, end)


# --- alerts -------------------------------------------------------------------------------------------


def alert_query(
    status: str,
    severity: str | None,
    alert_type: str | None,
    scope: str | None,
    unread: bool | None,
    limit: int,
    offset: int,
) -> alert_views.AlertQuery:
    """The filters of `/v1/alerts` (and of the alerts page) as a query: `status=all` is no filter; a scope
    that is not a scope is a 422."""
    return alert_views.AlertQuery(
        status=None if status == "all" else status,
        severity=severity,
        alert_type=alert_type,
        scope=parse_scope(scope) if scope else None,
        unread=unread,
        limit=limit,
        offset=offset,
    )


async def alerts(
    conn: Connection, access: AccessPolicy, query: alert_views.AlertQuery, within: LoansScope | None = None
) -> list[dict[str, Any]]:
    """`/v1/alerts`: the alerts matching `query` that the caller may see, newest first.

    A `scope` filter outside the caller's reach is a 403. `within` (a page's scope, already authorised)
    narrows the list to the alerts of that scope and the scopes it contains.
    """
    rows = access.row_filter("alerts")
    if query.scope is not None:
        await access.authorise(conn, query.scope, "alerts of scope")
    if within is not None:
        rows = RowFilter.within(within)
    return [alert_presenters.alert_payload(row) for row in await alert_views.alerts(conn, query, rows)]


async def alert(conn: Connection, access: AccessPolicy, alert_id: str) -> dict[str, Any]:
    """One alert the caller may see: 404 if unknown, 403 if outside the caller's reach."""
    access.loans_reach("alerts")
    row = await alert_views.alert(conn, alert_id)
    if row is None:
        raise not_found(f"no alert {alert_id}")
    if not access.may_read_row(row):
        raise forbidden(f"alert {alert_id} is outside the caller's scope")
    return alert_presenters.alert_payload(row)


# --- wealth -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WealthView:
    """`/v1/wealth/summary`'s payload and, for one client, its window start dates (shown by the pages)."""

    payload: dict[str, Any]
    window_starts: dict[str, dt.date | None] | None


async def wealth_summary(conn: Connection, access: AccessPolicy, client: str | None, day: dt.date | None) -> WealthView:
    """`/v1/wealth/summary`: one client's figures, or all clients' (`ALL`), on `day` (default: latest)."""
    wanted = access.wealth_client(client)
    if wanted == wealth_views.ALL_CLIENTS:
        totals = await wealth_views.date_totals(conn, day)
        if totals is not None:
            allocations = await wealth_views.date_allocations(conn, totals["as_of"])
            return WealthView(wealth_presenters.all_summary_payload(totals, allocations), None)
    else:
        row = await wealth_views.client_day(conn, wanted, day)
        if row is not None:
            return WealthView(wealth_presenters.client_summary_payload(row), wealth_presenters.window_starts(row))
    when = f" on {day.isoformat()}" if day is not None else ""
    raise not_found(f"no wealth data for client {wanted}{when}")


async def wealth_history(
    conn: Connection, access: AccessPolicy, client: str, start: dt.date | None, end: dt.date | None
) -> list[dict[str, Any]]:
    """`/v1/wealth/clients/{id}/history`: the client's snapshots in [start, end], oldest first."""
    if start is not None and end is not None and start > end:
        raise invalid_parameters(f"from ({start}) is after to ({end})")
    wanted = access.wealth_client(client)
    if not await wealth_views.client_known(conn, wanted):
        raise not_found(f"no wealth data for client {wanted}")
    return [
        wealth_presenters.history_payload(row) for row in await wealth_views.client_history(conn, wanted, start, end)
    ]


async def wealth_clients(conn: Connection, access: AccessPolicy, day: dt.date) -> list[str]:
    """The clients with a snapshot on `day` (the admins' client picker)."""
    access.wealth_client(wealth_views.ALL_CLIENTS)
    return await wealth_views.clients_on(conn, day)
