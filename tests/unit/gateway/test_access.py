"""The gateway's access policy (CONTRACT §4): who may read which scope, which rows, which wealth client.

The SQL form of the row filter is checked against PostgreSQL in tests/integration/test_access_sql.py.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from services.gateway.access import AccessPolicy, RowFilter, contains
from services.gateway.errors import ApiError
from services.gateway.views.wealth import ALL_CLIENTS
from shared.auth import Claims, LoansScope, Role, parse_loans_scope

pytestmark = pytest.mark.unit

FUTURE = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)


def _claims(role: Role, **scope: str) -> Claims:
    return Claims(sub=f"{role.value}-user", role=role, exp=FUTURE, **scope)


ADMIN = _claims(Role.ADMIN)
LEADER_B1 = _claims(Role.TEAM_LEADER, branch_id="B1")
OFFICER_O1 = _claims(Role.LOAN_OFFICER, officer_id="O1")
CLIENT_C1 = _claims(Role.CLIENT, client_id="C1")

# O1 and O2 work in branch B1, O3 in B2; O9 is unknown.
OFFICER_BRANCHES = {"O1": "B1", "O2": "B1", "O3": "B2"}


@pytest.mark.parametrize(
    ("claims", "scope", "allowed"),
    [
        (ADMIN, "all", True),
        (ADMIN, "branch:B1", True),
        (ADMIN, "branch:B-unknown", True),
        (ADMIN, "officer:O3", True),
        (LEADER_B1, "branch:B1", True),
        (LEADER_B1, "officer:O1", True),
        (LEADER_B1, "officer:O2", True),
        (LEADER_B1, "all", False),
        (LEADER_B1, "branch:B2", False),
        (LEADER_B1, "officer:O3", False),  # an officer of another branch
        (LEADER_B1, "officer:O9", False),  # an unknown officer
        (OFFICER_O1, "officer:O1", True),
        (OFFICER_O1, "officer:O2", False),  # a colleague in the same branch
        (OFFICER_O1, "branch:B1", False),  # their own branch
        (OFFICER_O1, "all", False),
        (CLIENT_C1, "all", False),
        (CLIENT_C1, "branch:B1", False),
        (CLIENT_C1, "officer:O1", False),
    ],
)
def test_who_may_read_which_scope(claims: Claims, scope: str, allowed: bool) -> None:
    parsed = parse_loans_scope(scope)
    assert AccessPolicy(claims).covers(parsed, OFFICER_BRANCHES.get(parsed.id or "")) is allowed


def test_a_team_leader_reads_an_officer_only_knowing_the_officers_branch() -> None:
    assert AccessPolicy(LEADER_B1).covers(LoansScope("officer", "O1")) is False
    assert AccessPolicy(LEADER_B1).covers(LoansScope("branch", "B1")) is True


def test_reach_is_the_widest_scope_of_the_role() -> None:
    assert AccessPolicy(ADMIN).reach == LoansScope("all")
    assert AccessPolicy(LEADER_B1).reach == LoansScope("branch", "B1")
    assert AccessPolicy(OFFICER_O1).reach == LoansScope("officer", "O1")
    assert AccessPolicy(CLIENT_C1).reach is None


def test_clients_read_no_loans_and_no_alerts() -> None:
    policy = AccessPolicy(CLIENT_C1)
    for call in (policy.loans_reach, lambda: policy.loans_scope(None), policy.row_filter):
        with pytest.raises(ApiError) as raised:
            call()
        assert raised.value.status_code == 403


def test_a_bad_scope_is_422() -> None:
    with pytest.raises(ApiError) as raised:
        AccessPolicy(ADMIN).loans_scope("everything")
    assert raised.value.status_code == 422


def test_containment_is_the_one_rule() -> None:
    everything, b1, o1 = LoansScope("all"), LoansScope("branch", "B1"), LoansScope("officer", "O1")
    assert contains(everything, b1, None)
    assert contains(everything, o1, "B2")
    assert contains(b1, b1, None)
    assert contains(b1, o1, "B1")
    assert not contains(b1, o1, "B2")
    assert not contains(b1, everything, None)
    assert not contains(o1, b1, None)
    assert contains(o1, o1, "B1")
    assert not contains(o1, LoansScope("officer", "O2"), "B1")


# Rows of a table keyed by (kind, branch_id, officer_id), as the alerts and the loans summaries are.
ROWS: list[dict[str, Any]] = [
    {"kind": "all", "branch_id": None, "officer_id": None},
    {"kind": "branch", "branch_id": "B1", "officer_id": None},
    {"kind": "branch", "branch_id": "B2", "officer_id": None},
    {"kind": "officer", "branch_id": "B1", "officer_id": "O1"},
    {"kind": "officer", "branch_id": "B1", "officer_id": "O2"},
    {"kind": "officer", "branch_id": "B2", "officer_id": "O3"},
]


@pytest.mark.parametrize(
    ("claims", "visible"),
    [
        (ADMIN, [0, 1, 2, 3, 4, 5]),
        (LEADER_B1, [1, 3, 4]),  # their branch and its officers, never `all`
        (OFFICER_O1, [3]),
        (CLIENT_C1, []),
    ],
)
def test_which_rows_a_caller_sees(claims: Claims, visible: list[int]) -> None:
    policy = AccessPolicy(claims)
    assert [i for i, row in enumerate(ROWS) if policy.may_read_row(row)] == visible


def test_the_rows_within_a_scope() -> None:
    assert RowFilter.within(LoansScope("all")) == RowFilter()
    assert RowFilter.within(LoansScope("branch", "B2")).params() == ("B2", None)
    assert RowFilter.within(LoansScope("officer", "O3")).params() == (None, "O3")
    assert [i for i, row in enumerate(ROWS) if RowFilter(branch="B2").matches(row)] == [2, 5]


@pytest.mark.parametrize(
    ("claims", "client", "allowed"),
    [
        (ADMIN, ALL_CLIENTS, True),
        (ADMIN, "C1", True),
        (ADMIN, "C2", True),
        (CLIENT_C1, "C1", True),
        (CLIENT_C1, "C2", False),
        (CLIENT_C1, ALL_CLIENTS, False),
        (CLIENT_C1, "c1", False),
        (LEADER_B1, "C1", False),
        (LEADER_B1, ALL_CLIENTS, False),
        (OFFICER_O1, "C1", False),
        (OFFICER_O1, ALL_CLIENTS, False),
    ],
)
def test_who_may_read_which_wealth_client(claims: Claims, client: str, allowed: bool) -> None:
    policy = AccessPolicy(claims)
    assert policy.may_read_wealth(client) is allowed
    if allowed:
        assert policy.wealth_client(client) == client
    else:
        with pytest.raises(ApiError) as raised:
            policy.wealth_client(client)
        assert raised.value.status_code == 403


def test_wealth_defaults_to_all_for_admins_and_to_their_own_id_for_clients() -> None:
    assert AccessPolicy(ADMIN).wealth_client(None) == ALL_CLIENTS
    assert AccessPolicy(CLIENT_C1).wealth_client(None) == "C1"


def test_a_client_called_all_cannot_read_every_client() -> None:
    sneaky = AccessPolicy(_claims(Role.CLIENT, client_id="ALL"))
    assert sneaky.may_read_wealth(ALL_CLIENTS) is False


@pytest.mark.parametrize(
    ("claims", "allowed"), [(ADMIN, True), (LEADER_B1, False), (OFFICER_O1, False), (CLIENT_C1, False)]
)
def test_only_admins_request_snapshots(claims: Claims, allowed: bool) -> None:
    assert AccessPolicy(claims).may_request_snapshots is allowed
