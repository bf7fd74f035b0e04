"""Who may read what (CONTRACT §4, §6): the one access policy of the JSON API and of the pages.

A caller's **reach** is a loans scope fixed by its role: `all` for an admin, `branch:<own>` for a team
leader, `officer:<own>` for a loan officer, nothing for a wealth client. Everything about loans and alerts
follows from one rule, *containment*: `all` contains every scope, `branch:<b>` contains itself and the
officers whose branch is `b`, `officer:<o>` contains itself. `AccessPolicy` answers, from that rule:

- may this caller read that scope? (`authorise`: 403 otherwise), and
- which rows may it see? (`row_filter`: the SQL condition on a table with `kind`, `branch_id` and
  `officer_id` columns, and `may_read_row`, the same condition for one row in Python).

"The officer's branch" has one definition, `views.loans.officer_branch`. Authorisation comes before
existence: a scope outside the reach is a 403 whether or not it has data.

Wealth: an admin reads every client and `ALL`, a client only its own id. Snapshot requests: admins.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends

from services.gateway.errors import forbidden, invalid_parameters
from services.gateway.security import CurrentClaims
from services.gateway.views import Connection, Record
from services.gateway.views import loans as loan_views
from services.gateway.views.wealth import ALL_CLIENTS
from shared.auth import Claims, LoansScope, Role, parse_loans_scope

_WEALTH_READERS = frozenset({Role.ADMIN, Role.CLIENT})


@dataclass(frozen=True, slots=True)
class RowFilter:
    """The rows contained in one scope, for a table with `kind`, `branch_id` and `officer_id` columns.

    `branch` set: the branch's own row and its officers' rows; `officer` set: that officer's rows;
    neither: every row.
    """

    branch: str | None = None
    officer: str | None = None

    @classmethod
    def within(cls, scope: LoansScope) -> RowFilter:
        match scope.kind:
            case "branch":
                return cls(branch=scope.id)
            case "officer":
                return cls(officer=scope.id)
            case _:
                return cls()

    def sql(self, first_param: int) -> str:
        """The condition, with `self.params()` bound at `$first_param` and `$first_param + 1`."""
        b, o = first_param, first_param + 1
        return (
            f"(${b}::text IS NULL OR (branch_id = ${b} AND kind IN ('branch', 'officer')))"
            f" AND (${o}::text IS NULL OR (kind = 'officer' AND officer_id = ${o}))"
        )

    def params(self) -> tuple[str | None, str | None]:
        return self.branch, self.officer

    def matches(self, row: Mapping[str, Any] | Record) -> bool:
        """`sql()` for one row (with `kind`, `branch_id` and `officer_id`)."""
        if self.branch is not None and not (row["kind"] in ("branch", "officer") and row["branch_id"] == self.branch):
            return False
        return self.officer is None or (row["kind"] == "officer" and row["officer_id"] == self.officer)


def contains(outer: LoansScope, inner: LoansScope, inner_officer_branch: str | None) -> bool:
    """Does `outer` contain `inner`? `inner_officer_branch` is the branch of `inner`'s officer, if any."""
    match outer.kind:
        case "all":
            return True
        case "branch":
            return inner == outer or (inner.kind == "officer" and inner_officer_branch == outer.id)
        case _:
            return inner == outer


def reach_of(claims: Claims) -> LoansScope | None:
    """The widest loans scope the caller may read (`None` for clients)."""
    match claims.role:
        case Role.ADMIN:
            return LoansScope("all")
        case Role.TEAM_LEADER if claims.branch_id is not None:
            return LoansScope("branch", claims.branch_id)
        case Role.LOAN_OFFICER if claims.officer_id is not None:
            return LoansScope("officer", claims.officer_id)
        case _:
            return None


def parse_scope(text: str) -> LoansScope:
    """A scope parameter, or 422."""
    try:
        return parse_loans_scope(text)
    except ValueError as exc:
        raise invalid_parameters(str(exc)) from exc


class AccessPolicy:
    """What one caller may read and do."""

    def __init__(self, claims: Claims) -> None:
        self.claims = claims
        self.reach = reach_of(claims)

    @property
    def role(self) -> Role:
        return self.claims.role

    # --- loans and alerts ---------------------------------------------------------------------------

    def loans_reach(self, what: str = "loans") -> LoansScope:
        """The caller's reach, or 403 for a role that reads no `what` (loans, alerts)."""
        if self.reach is None:
            raise forbidden(f"role {self.role.value} may not read {what}")
        return self.reach

    def loans_scope(self, text: str | None) -> LoansScope:
        """The scope a request names (default: the caller's reach), not yet authorised; 403 or 422."""
        reach = self.loans_reach()
        return reach if text is None else parse_scope(text)

    def covers(self, scope: LoansScope, officer_branch: str | None = None) -> bool:
        """May the caller read `scope`, given the branch of its officer (for an officer scope)?"""
        return self.reach is not None and contains(self.reach, scope, officer_branch)

    async def authorise(self, conn: Connection, scope: LoansScope, what: str = "scope") -> None:
        """403 unless the caller's reach contains `scope` (the officer's branch is looked up only when
        that decides it: a team leader asking for an officer)."""
        branch = None
        if self.reach is not None and self.reach.kind == "branch" and scope.kind == "officer" and scope.id:
            branch = await loan_views.officer_branch(conn, scope.id)
        if not self.covers(scope, branch):
            raise forbidden(f"{what} {scope} is outside the caller's scope")

    def row_filter(self, what: str = "loans") -> RowFilter:
        """The rows of the caller's reach (403 for a role with none)."""
        return RowFilter.within(self.loans_reach(what))

    def may_read_row(self, row: Mapping[str, Any] | Record) -> bool:
        return self.reach is not None and RowFilter.within(self.reach).matches(row)

    async def officers_filter(self, conn: Connection, branch: str | None) -> RowFilter:
        """The officers a listing may show: the caller's reach, narrowed to `branch` if one is named.

        Naming a branch the reach does not meet is a 403: for a team leader another branch, for a loan
        officer any branch but their own.
        """
        reach = self.loans_reach()
        if branch is None:
            return RowFilter.within(reach)
        match reach.kind:
            case "all":
                return RowFilter(branch=branch)
            case "branch":
                allowed = branch == reach.id
            case _:
                assert reach.id is not None
                allowed = await loan_views.officer_branch(conn, reach.id) == branch
        if not allowed:
            raise forbidden(f"branch {branch} is outside the caller's scope")
        return RowFilter.within(reach)

    # --- wealth ---------------------------------------------------------------------------------------

    def wealth_home(self) -> str | None:
        """The wealth filter the caller sees by default: `ALL` for an admin, its id for a client."""
        if self.role is Role.ADMIN:
            return ALL_CLIENTS
        return self.claims.client_id if self.role is Role.CLIENT else None

    def may_read_wealth(self, client: str) -> bool:
        if self.role is Role.ADMIN:
            return True
        return self.role is Role.CLIENT and client != ALL_CLIENTS and client == self.claims.client_id

    def wealth_client(self, client: str | None) -> str:
        """The wealth filter to read (`ALL` or a client id; default: `wealth_home`), or 403."""
        if self.role not in _WEALTH_READERS:
            raise forbidden(f"role {self.role.value} may not read wealth")
        wanted = client if client is not None else self.wealth_home()
        if wanted is None or not self.may_read_wealth(wanted):
            raise forbidden(f"client {wanted} is outside the caller's scope")
        return wanted

    # --- commands -------------------------------------------------------------------------------------

    @property
    def may_request_snapshots(self) -> bool:
        return self.role is Role.ADMIN

    def require_snapshot_requests(self) -> None:
        if not self.may_request_snapshots:
            raise forbidden(f"role {self.role.value} may not do this")


def access_policy(claims: CurrentClaims) -> AccessPolicy:
    """FastAPI dependency: the policy of the authenticated caller."""
    return AccessPolicy(claims)


Access = Annotated[AccessPolicy, Depends(access_policy)]
"""Use as a parameter type: `async def endpoint(access: Access) -> ...`."""
