"""The day close as it was before the ledger: every live loan recomputed from its history for the day, in
one statement. Kept as the reference the ledger's close (`days.COMPUTE_DAYS`) must equal on generated books.
"""

from __future__ import annotations

import datetime as dt

import asyncpg

from services.snapshotter.loans.days import _CHANGED, _COLUMNS, _SET
from shared import db

_TODAY = """
WITH
owners AS (
    SELECT client_id, officer_id, valid_from,
           lead(valid_from) OVER (PARTITION BY client_id ORDER BY valid_from) AS valid_to
    FROM {s}.client_owners
),
owned AS (  -- every registered client and its owner on D
    SELECT c.client_id, o.officer_id, c.registered_on, c.exited_on
    FROM {s}.clients c
    JOIN owners o ON o.client_id = c.client_id AND o.valid_from <= $1 AND (o.valid_to IS NULL OR o.valid_to > $1)
    WHERE c.registered_on <= $1 AND ($2::text[] IS NULL OR o.officer_id = ANY($2::text[]))
),
loan_state AS (
    -- A loan that stopped (repaid in full or written off) before D − 30 has no stock on D and no installment
    -- in the collection window: it is left out. The day's payments are counted apart (payments_today).
    SELECT l.loan_id, ow.officer_id, ow.client_id, l.principal, l.disbursed_on, l.written_off_on,
           least(l.written_off_on, l.repaid_on) AS stopped_on,
           l.principal - coalesce(p.principal, 0) AS unpaid,
           coalesce(p.covered, 0) AS covered,
           (l.written_off_on IS NULL OR l.written_off_on > $1) AND l.principal > coalesce(p.principal, 0) AS active,
           (ow.exited_on IS NULL OR ow.exited_on > $1) AS client_current
    FROM {s}.loans l
    JOIN owned ow ON ow.client_id = l.client_id
    LEFT JOIN LATERAL (
        SELECT sum(principal) AS principal, sum(principal + interest) AS covered
        FROM {s}.payments WHERE loan_id = l.loan_id AND paid_on <= $1
    ) p ON true
    WHERE l.disbursed_on <= $1
      AND (least(l.written_off_on, l.repaid_on) IS NULL OR least(l.written_off_on, l.repaid_on) >= $1 - 30)
),
payments_today AS (
    SELECT ow.officer_id,
           sum(p.principal + p.interest + p.fees) AS collected,
           sum(p.interest + p.fees) AS interest_fees
    FROM {s}.payments p
    JOIN {s}.loans l ON l.loan_id = p.loan_id
    JOIN owned ow ON ow.client_id = l.client_id
    WHERE p.paid_on = $1
    GROUP BY ow.officer_id
),
loan_dpd AS (  -- days past due: the oldest installment not covered by principal + interest paid, if due before D
    SELECT ls.*, CASE WHEN ls.active AND oldest.due_on < $1 THEN $1 - oldest.due_on ELSE 0 END AS dpd
    FROM loan_state ls
    LEFT JOIN LATERAL (
        SELECT i.due_on FROM {s}.installments i
        WHERE i.loan_id = ls.loan_id AND i.cum_amount > ls.covered
        ORDER BY i.seq LIMIT 1
    ) oldest ON ls.active
),
loans_by_officer AS (
    SELECT officer_id,
           count(*) FILTER (WHERE active) AS active_loans,
           coalesce(sum(unpaid) FILTER (WHERE active), 0) AS glp,
           coalesce(sum(unpaid) FILTER (WHERE active AND dpd > 30), 0) AS par30_balance,
           coalesce(sum(unpaid) FILTER (WHERE active AND dpd > 60), 0) AS par60_balance,
           coalesce(sum(unpaid) FILTER (WHERE active AND dpd > 90), 0) AS par90_balance,
           count(DISTINCT client_id) FILTER (WHERE active AND client_current) AS active_clients,
           count(*) FILTER (WHERE disbursed_on = $1) AS disbursed_count,
           coalesce(sum(principal) FILTER (WHERE disbursed_on = $1), 0) AS disbursed,
           coalesce(sum(unpaid) FILTER (WHERE written_off_on = $1), 0) AS written_off
    FROM loan_dpd GROUP BY officer_id
),
collection AS (  -- installments due in (D − 30, D] that were still due, and how much of each was covered
    SELECT ls.officer_id,
           sum(i.amount) AS due_30d,
           sum(greatest(least(ls.covered - (i.cum_amount - i.amount), i.amount), 0)) AS covered_30d
    FROM loan_state ls JOIN {s}.installments i ON i.loan_id = ls.loan_id
    WHERE i.due_on > $1 - 30 AND i.due_on <= $1 AND (ls.stopped_on IS NULL OR i.due_on <= ls.stopped_on)
    GROUP BY ls.officer_id
),
clients_by_officer AS (
    SELECT officer_id,
           count(*) FILTER (WHERE exited_on IS NULL OR exited_on > $1) AS total_clients,
           count(*) FILTER (WHERE registered_on = $1) AS registered,
           count(*) FILTER (WHERE exited_on = $1) AS exited
    FROM owned GROUP BY officer_id
),
officers_today AS (  -- an officer's rows run without gaps from their first day with a client
    SELECT officer_id FROM owned
    UNION
    SELECT officer_id FROM {s}.officer_days
    WHERE business_date = $1 - 1 AND ($2::text[] IS NULL OR officer_id = ANY($2::text[]))
),
today AS (
    SELECT o.officer_id,
           coalesce(c.total_clients, 0) AS total_clients,
           coalesce(lb.active_clients, 0) AS active_clients,
           coalesce(lb.active_loans, 0) AS active_loans,
           coalesce(lb.glp, 0) AS glp,
           coalesce(lb.par30_balance, 0) AS par30_balance,
           coalesce(lb.par60_balance, 0) AS par60_balance,
           coalesce(lb.par90_balance, 0) AS par90_balance,
           coalesce(col.due_30d, 0) AS due_30d,
           coalesce(col.covered_30d, 0) AS covered_30d,
           coalesce(lb.disbursed_count, 0) AS disbursed_count,
           coalesce(lb.disbursed, 0) AS disbursed,
           coalesce(pt.collected, 0) AS collected,
           coalesce(pt.interest_fees, 0) AS interest_fees,
           coalesce(lb.written_off, 0) AS written_off,
           coalesce(c.registered, 0) AS registered,
           coalesce(c.exited, 0) AS exited
    FROM officers_today o
    LEFT JOIN clients_by_officer c USING (officer_id)
    LEFT JOIN loans_by_officer lb USING (officer_id)
    LEFT JOIN collection col USING (officer_id)
    LEFT JOIN payments_today pt USING (officer_id)
),
"""

# The cumulative and window columns of one day, and the write, as the close did them day by day before
# `days.COMPUTE_DAYS` computed a range in one statement.
_FROM_TODAY = f"""
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


REFERENCE_DAY = _TODAY + _FROM_TODAY


async def reference_day(conn: db.Connection, schema: str, day: dt.date) -> list[asyncpg.Record]:
    """Recompute `day` for every officer from the book; the rows it changed (none if the close was right)."""
    return await conn.fetch(REFERENCE_DAY.replace("{s}", schema), day, None, False)
