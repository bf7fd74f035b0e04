"""Officer days: one set-based statement computes a business day for every officer (or a chosen few).

An officer's stocks on D are those of D − 1 plus the ledger's changes of D (`ledger.py`), so a day costs
what changed that day, not the size of the book; the day's flows are the ledger's flows of D (counted for
the owner on D), and cumulative columns carry them forward. Windows are differences of cumulative columns
(`cum(D) − cum(start − 1)`), so a day costs the same whatever its window. A row is written, and its
revision bumped, only when something in it changed (or when forced); the returned rows are the
(re)stated snapshots to publish.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

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

_COLUMNS = ", ".join(VALUE_COLUMNS)
_CHANGED = " OR ".join(f"d.{c} IS DISTINCT FROM EXCLUDED.{c}" for c in VALUE_COLUMNS)
_SET = ", ".join(f"{c} = EXCLUDED.{c}" for c in VALUE_COLUMNS)

TODAY = f"""
WITH
changed AS (  -- what the ledger's rows of D change for each officer
    SELECT officer_id, {", ".join(f"sum({c}) AS {c}" for c in ledger.CHANGES)}
    FROM {{s}}.client_changes
    WHERE business_date = $1 AND ($2::text[] IS NULL OR officer_id = ANY($2::text[]))
    GROUP BY officer_id
),
officers_today AS (  -- an officer's rows run without gaps from their first day with a client
    SELECT officer_id FROM changed
    UNION
    SELECT officer_id FROM {{s}}.officer_days
    WHERE business_date = $1 - 1 AND ($2::text[] IS NULL OR officer_id = ANY($2::text[]))
),
today AS (  -- stocks: the day before's plus the day's changes; flows: the day's
    SELECT o.officer_id,
           {", ".join(f"coalesce(y.{c}, 0) + coalesce(c.{c}, 0) AS {c}" for c in ledger.STOCKS)},
           {", ".join(f"coalesce(c.{c}, 0) AS {c}" for c in ledger.FLOWS)}
    FROM officers_today o
    LEFT JOIN changed c USING (officer_id)
    LEFT JOIN {{s}}.officer_days y ON y.officer_id = o.officer_id AND y.business_date = $1 - 1
),
"""

# The rest of a day's statement, from `today` (each officer's stocks and flows of D): the cumulative and
# window columns, and the write of the rows that changed.
FROM_TODAY = f"""
cumulated AS (
    SELECT t.*,
           coalesce(p.cum_loans, 0) + t.disbursed_count AS cum_loans,
           coalesce(p.cum_disbursed, 0) + t.disbursed AS cum_disbursed,
           coalesce(p.cum_collected, 0) + t.collected AS cum_collected,
           coalesce(p.cum_interest_fees, 0) + t.interest_fees AS cum_interest_fees,
           coalesce(p.cum_written_off, 0) + t.written_off AS cum_written_off,
           coalesce(p.cum_registered, 0) + t.registered AS cum_registered,
           coalesce(p.cum_exited, 0) + t.exited AS cum_exited,
           coalesce(p.cum_glp, 0) + t.glp AS cum_glp,
           coalesce(p.first_positive_glp_on, CASE WHEN t.glp > 0 THEN $1::date END) AS first_positive_glp_on,
           coalesce(d30.glp, 0) AS glp_30d_ago,
           coalesce(d30.cum_registered, 0) AS registered_before_30d,
           coalesce(d30.cum_exited, 0) AS exited_before_30d
    FROM today t
    LEFT JOIN {{s}}.officer_days p ON p.officer_id = t.officer_id AND p.business_date = $1 - 1
    LEFT JOIN {{s}}.officer_days d30 ON d30.officer_id = t.officer_id AND d30.business_date = $1 - 30
),
windowed AS (  -- W = max(D − 364, first day with GLP > 0) .. D
    SELECT c.*,
           -- greatest() would ignore a NULL: a portfolio that never had GLP > 0 has no window at all
           CASE WHEN c.first_positive_glp_on IS NOT NULL THEN greatest($1 - 364, c.first_positive_glp_on) END
               AS window_start
    FROM cumulated c
),
final AS (
    SELECT w.officer_id, ofc.branch_id, ofc.name AS officer_name, w.total_clients > 0 AS has_clients,
           w.total_clients, w.active_clients, w.active_loans, w.glp, w.par30_balance, w.par60_balance,
           w.par90_balance, w.due_30d, w.covered_30d, w.disbursed_count, w.disbursed, w.collected,
           w.interest_fees, w.written_off, w.registered, w.exited, w.cum_loans, w.cum_disbursed,
           w.cum_collected, w.cum_interest_fees, w.cum_written_off, w.cum_registered, w.cum_exited, w.cum_glp,
           w.first_positive_glp_on, w.glp_30d_ago,
           (w.cum_registered - w.registered_before_30d)::integer AS new_clients_30d,
           (w.cum_exited - w.exited_before_30d)::integer AS exited_clients_30d,
           coalesce($1 - w.window_start + 1, 0) AS window_days,
           CASE WHEN w.window_start IS NULL THEN 0 ELSE w.cum_glp - coalesce(ws.cum_glp, 0) END AS glp_sum_window,
           CASE WHEN w.window_start IS NULL THEN 0
                ELSE w.cum_written_off - coalesce(ws.cum_written_off, 0) END AS written_off_window,
           CASE WHEN w.window_start IS NULL THEN 0
                ELSE w.cum_interest_fees - coalesce(ws.cum_interest_fees, 0) END AS interest_fees_window
    FROM windowed w
    LEFT JOIN {{s}}.officer_days ws ON ws.officer_id = w.officer_id AND ws.business_date = w.window_start - 1
    LEFT JOIN {{s}}.officers ofc ON ofc.officer_id = w.officer_id
)
INSERT INTO {{s}}.officer_days AS d (officer_id, business_date, {_COLUMNS})
SELECT officer_id, $1, {_COLUMNS} FROM final
ON CONFLICT (officer_id, business_date) DO UPDATE SET {_SET}, revision = d.revision + 1, computed_at = now()
WHERE $3 OR {_CHANGED}
RETURNING d.*
"""


COMPUTE_DAY = TODAY + FROM_TODAY


async def compute_day(
    conn: db.Connection,
    schema: str,
    day: dt.date,
    *,
    officers: Sequence[str] | None = None,
    force: bool = False,
) -> list[asyncpg.Record]:
    """(Re)compute `day` for every officer, or for `officers`; the rows that are new or changed."""
    return await conn.fetch(
        COMPUTE_DAY.replace("{s}", schema), day, list(officers) if officers is not None else None, force
    )
