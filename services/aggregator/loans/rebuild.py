"""Rebuilding the loans read model of the days that new officer rows touched."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from typing import Any

import asyncpg

from services.aggregator.loans import scopes, store
from shared import db
from shared.domain.loan_metrics import compute


async def rebuild_days(
    conn: db.Connection, days: Sequence[dt.date], *, complete: Collection[dt.date]
) -> list[asyncpg.Record]:
    """Re-sum the scopes of `days` from their officer rows (branches and all only on `complete` days);
    the summary rows that changed."""
    if not days:
        return []
    grouped = {
        scope: rows
        for scope, rows in scopes.group(await store.officer_days_on(conn, days)).items()
        if scope.kind == "officer" or scope.business_date in complete
    }
    lookups = [
        key for scope, rows in grouped.items() if scope.kind != "officer" for key in scopes.window_lookups(scope, rows)
    ]
    before = await store.cumulative_at(conn, lookups)
    summaries: list[tuple[Any, ...]] = []
    for scope, rows in grouped.items():
        metrics = compute(scopes.portfolio_numerators(scope, rows, before))
        identity = (scope.scope, scope.business_date, scope.kind, scope.branch_id, scope.officer_id, scope.officer_name)
        summaries.append((*identity, *(getattr(metrics, c) for c in store.METRIC_COLUMNS)))
    await store.drop_empty_branches(conn, sorted(complete))
    return await store.save_summaries(conn, summaries)
