"""Officer days: one set-based statement computes a range of business days for every officer (or a chosen
few, each from its own day).

An officer's stocks on D are those of the day before their first computed day plus the running sum of the
ledger's changes through D (`ledger.py`), so a day costs what changed that day, not the size of the book; the
day's flows are the ledger's flows of D (counted for the owner on D), and cumulative columns are running sums
of them. Windows are differences of cumulative columns (`cum(D) − cum(start − 1)`), read from the days just
computed or, before them, from the stored days, so a day costs the same whatever its window and a range of
days costs one statement, not one per day. A row is written, and its revision bumped, only when something in
it changed (or when forced); the returned rows are the (re)stated snapshots to publish.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import asyncpg

from services.snapshotter.loans import ledger
from shared import db

# Every stored value of a day, compared to decide whether a day was restated.
VALUE_COLUMNS = (
    "branch_id", "officer_name", "has_clients", "total_clients", "active_clients", "active_loans", "glp",
    "par30_balance", "par60_balance", "par90_balance", "due_30d", "covered_30d", "disbursed_count", "disbursed",
    "collected", "interest_fees", "written_off", "registered", "exited", "cum_loans", "cum_disbursed",
    "cum_collected", "cum_interest_fees", "cum_written_off", "cum_registered", "cum_exited", "cum_glp",
    "first_positive_glp_on", "glp_30d_ago", "new_clients_30d", "exited_clients_30d", "window_days",
    "glp_sum_window", "written_off_window", "interest_fees_window",
)  # fmt: skip

# Each cumulative column, and the flow (or stock) it adds up day by day.
CUMULATIVE_OF_FLOW = {
    "cum_loans": "disbursed_count", "cum_disbursed": "disbursed", "cum_collected": "collected",
    "cum_interest_fees": "interest_fees", "cum_written_off": "written_off", "cum_registered": "registered",
    "cum_exited": "exited",
}  # fmt: skip

_COLUMNS = ", ".join(VALUE_COLUMNS)
_CHANGED = " OR ".join(f"d.{c} IS DISTINCT FROM EXCLUDED.{c}" for c in VALUE_COLUMNS)
_SET = ", ".join(f"{c} = EXCLUDED.{c}" for c in VALUE_COLUMNS)


def _earlier(alias: str, at: str) -> str:
    """Join an earlier day `at` of the row's officer as `alias`: one of the days computed here, or a stored
    day when `at` is before the officer's first computed day (at most one of the two matches)."""
    return f"""
    LEFT JOIN cumulated {alias}_new ON {alias}_new.officer_id = w.officer_id AND {alias}_new.business_date = {at}
    LEFT JOIN LATERAL (
        SELECT * FROM {{s}}.officer_days o WHERE o.officer_id = w.officer_id AND o.business_date = {at}
          AND {at} < w.first_day OFFSET 0
    ) {alias}_old ON true"""


def _of(alias: str, column: str) -> str:
    return f"coalesce({alias}_new.{column}, {alias}_old.{column}, 0)"


_RUNNING_CUMULATIVES = ", ".join(
    f"coalesce(b.{cum}, 0) + sum(coalesce(c.{flow}, 0)) OVER w AS {cum}" for cum, flow in CUMULATIVE_OF_FLOW.items()
)

# Rows of officer_days and of the ledger are looked up by key, one (officer, day) at a time: OFFSET 0 keeps
# the planner, which takes each generate_series for 1,000 rows, from scanning either table whole (a daily
# close reads a few rows of each officer, not a year of them).
COMPUTE_DAYS = f"""
WITH
targets AS (  -- each officer to compute, and from which day: the given ones, or every officer from $1
    SELECT officer_id, since FROM unnest($3::text[], $4::date[]) AS t(officer_id, since)
    UNION ALL
    SELECT officer_id, $1::date FROM (
        SELECT officer_id FROM {{s}}.officer_days WHERE business_date = $1::date - 1
        UNION
        SELECT officer_id FROM {{s}}.client_changes WHERE business_date BETWEEN $1 AND $2
    ) every_officer
    WHERE $3::text[] IS NULL
),
changes AS (  -- what the ledger's rows change for each officer and day
    SELECT t.officer_id, t.since + g.n AS business_date, c.*
    FROM targets t
    CROSS JOIN LATERAL generate_series(0, $2::date - t.since) AS g(n)
    CROSS JOIN LATERAL (
        SELECT count(*) AS ledger_rows, {", ".join(f"sum(c.{c}) AS {c}" for c in ledger.CHANGES)}
        FROM {{s}}.client_changes c WHERE c.business_date = t.since + g.n AND c.officer_id = t.officer_id
        OFFSET 0
    ) c
    WHERE c.ledger_rows > 0
),
starts AS (  -- an officer's rows run without gaps from their first day with a client: from `since` when
             -- they have a row the day before, else from their first change
    SELECT t.officer_id,
           CASE WHEN y.officer_id IS NOT NULL THEN t.since ELSE f.first_change END AS first_day
    FROM targets t
    LEFT JOIN LATERAL (
        SELECT o.officer_id FROM {{s}}.officer_days o
        WHERE o.officer_id = t.officer_id AND o.business_date = t.since - 1 OFFSET 0
    ) y ON true
    LEFT JOIN (SELECT officer_id, min(business_date) AS first_change FROM changes GROUP BY officer_id) f
           ON f.officer_id = t.officer_id
),
running AS (  -- stocks: the day before the first plus the running changes; flows: the day's; cumulatives
    SELECT s.officer_id, s.first_day + g.n AS business_date, s.first_day,
           {", ".join(f"coalesce(b.{c}, 0) + sum(coalesce(c.{c}, 0)) OVER w AS {c}" for c in ledger.STOCKS)},
           {", ".join(f"coalesce(c.{c}, 0) AS {c}" for c in ledger.FLOWS)},
           {_RUNNING_CUMULATIVES},
           b.cum_glp AS cum_glp_before, b.first_positive_glp_on AS first_positive_before
    FROM starts s
    CROSS JOIN LATERAL generate_series(0, $2::date - s.first_day) AS g(n)
    LEFT JOIN changes c ON c.officer_id = s.officer_id AND c.business_date = s.first_day + g.n
    LEFT JOIN LATERAL (
        SELECT * FROM {{s}}.officer_days o
        WHERE o.officer_id = s.officer_id AND o.business_date = s.first_day - 1 OFFSET 0
    ) b ON true
    WHERE s.first_day IS NOT NULL
    WINDOW w AS (PARTITION BY s.officer_id ORDER BY g.n)
),
cumulated AS MATERIALIZED (  -- also what the 30-day and window lookups read of the days computed here
    SELECT r.*,
           coalesce(r.cum_glp_before, 0) + sum(r.glp) OVER w AS cum_glp,
           coalesce(r.first_positive_before, min(CASE WHEN r.glp > 0 THEN r.business_date END) OVER w)
               AS first_positive_glp_on
    FROM running r
    WINDOW w AS (PARTITION BY r.officer_id ORDER BY r.business_date)
),
windowed AS (  -- W = max(D − 364, first day with GLP > 0) .. D
    SELECT c.*,
           -- greatest() would ignore a NULL: a portfolio that never had GLP > 0 has no window at all
           CASE WHEN c.first_positive_glp_on IS NOT NULL
                THEN greatest(c.business_date - 364, c.first_positive_glp_on) END AS window_start
    FROM cumulated c
),
final AS (
    SELECT w.officer_id, w.business_date, ofc.branch_id, ofc.name AS officer_name,
           w.total_clients > 0 AS has_clients,
           w.total_clients, w.active_clients, w.active_loans, w.glp, w.par30_balance, w.par60_balance,
           w.par90_balance, w.due_30d, w.covered_30d, w.disbursed_count, w.disbursed, w.collected,
           w.interest_fees, w.written_off, w.registered, w.exited, w.cum_loans, w.cum_disbursed,
           w.cum_collected, w.cum_interest_fees, w.cum_written_off, w.cum_registered, w.cum_exited, w.cum_glp,
           w.first_positive_glp_on,
           {_of("d30", "glp")} AS glp_30d_ago,
           (w.cum_registered - {_of("d30", "cum_registered")})::integer AS new_clients_30d,
           (w.cum_exited - {_of("d30", "cum_exited")})::integer AS exited_clients_30d,
           coalesce(w.business_date - w.window_start + 1, 0) AS window_days,
           CASE WHEN w.window_start IS NULL THEN 0 ELSE w.cum_glp - {_of("ws", "cum_glp")} END AS glp_sum_window,
           CASE WHEN w.window_start IS NULL THEN 0
                ELSE w.cum_written_off - {_of("ws", "cum_written_off")} END AS written_off_window,
           CASE WHEN w.window_start IS NULL THEN 0
                ELSE w.cum_interest_fees - {_of("ws", "cum_interest_fees")} END AS interest_fees_window
    FROM windowed w
    {_earlier("d30", "w.business_date - 30")}
    {_earlier("ws", "w.window_start - 1")}
    LEFT JOIN {{s}}.officers ofc ON ofc.officer_id = w.officer_id
)
INSERT INTO {{s}}.officer_days AS d (officer_id, business_date, {_COLUMNS})
SELECT officer_id, business_date, {_COLUMNS} FROM final
ON CONFLICT (officer_id, business_date) DO UPDATE SET {_SET}, revision = d.revision + 1, computed_at = now()
WHERE $5 OR {_CHANGED}
RETURNING d.*
"""


async def compute_days(
    conn: db.Connection,
    schema: str,
    first: dt.date,
    last: dt.date,
    *,
    since: Mapping[str, dt.date] | None = None,
    force: bool = False,
) -> list[asyncpg.Record]:
    """(Re)compute `first`..`last` for every officer, or for the officers of `since` each from its own day
    (none before `first`); the rows that are new or changed, in day order."""
    officers = sorted(since) if since is not None else None
    sinces = [max(since[o], first) for o in officers] if since is not None and officers is not None else None
    rows = await conn.fetch(COMPUTE_DAYS.replace("{s}", schema), first, last, officers, sinces, force)
    # Published in day order: the aggregator completes a day's branches and portfolio once all its officers
    # are in, so officer by officer (the order the statement returns) would have it re-sum every day of the
    # range in every batch (2.7x its CPU in bench.end_to_end).
    return sorted(rows, key=lambda r: (r["business_date"], r["officer_id"]))
