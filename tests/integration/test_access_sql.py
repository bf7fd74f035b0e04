"""The access policy's row filter as SQL, on the real PostgreSQL: it selects exactly the rows its Python form
(`RowFilter.matches`, used for one alert) admits, for every scope a caller's reach can be."""

from __future__ import annotations

import asyncpg
import pytest

from services.gateway.access import RowFilter
from shared.auth import LoansScope
from tests.support.stack import Stack
from tests.unit.gateway.test_access import ROWS

pytestmark = pytest.mark.integration

SCOPES = [
    LoansScope("all"),
    LoansScope("branch", "B1"),
    LoansScope("branch", "B2"),
    LoansScope("branch", "B9"),
    LoansScope("officer", "O1"),
    LoansScope("officer", "O3"),
    LoansScope("officer", "O9"),
]


@pytest.mark.parametrize("scope", SCOPES, ids=str)
async def test_the_sql_filter_and_the_python_predicate_agree(stack: Stack, scope: LoansScope) -> None:
    rows = RowFilter.within(scope)
    conn = await asyncpg.connect(stack.database_url)
    try:
        await conn.execute("CREATE TEMP TABLE t (n int, kind text, branch_id text, officer_id text)")
        await conn.executemany(
            "INSERT INTO t VALUES ($1, $2, $3, $4)",
            [(n, r["kind"], r["branch_id"], r["officer_id"]) for n, r in enumerate(ROWS)],
        )
        found = await conn.fetch(f"SELECT n FROM t WHERE {rows.sql(1)} ORDER BY n", *rows.params())
    finally:
        await conn.close()
    assert [r["n"] for r in found] == [n for n, row in enumerate(ROWS) if rows.matches(row)]
