"""The ledger of client changes: for each client, day and officer, what the client changes in the officer's
stocks (clients, loans, GLP, PAR, the 30-day collection window) and the day's flows. A day's close is then
the day before plus that day's rows (`days.COMPUTE_DAYS`), whatever the size of the book.

A loan's stocks are piecewise constant: they change on its disbursement, payments and write-off, when an
installment enters or leaves the 30-day window (its due day, 30 days later), and when the oldest installment
the payments leave uncovered passes 30, 60 or 90 days past due. One set-based statement finds those days
for every stale client, evaluates the loan there with the definitions of the day close (CONTRACT §3), and
writes the differences. A client moving between officers takes its stocks of the day before from one to
the other, so every change lands with the owner of its day.

The ledger is complete through the last closed day. Ingest only marks clients stale (`store.mark_stale`,
from the first day an event changed); `refresh`, run under the days lock before any day is (re)computed,
takes the marks and rewrites those clients' rows from that day on, and a close extends the ledger to the day
it closes for the clients with anything on the days in between. Rows are never written past the last day
closed: the next payment would change them.
"""

from __future__ import annotations

import datetime as dt

from shared import db

STOCKS = (
    "total_clients", "active_clients", "active_loans", "glp", "par30_balance", "par60_balance", "par90_balance",
    "due_30d", "covered_30d",
)  # fmt: skip
FLOWS = ("disbursed_count", "disbursed", "collected", "interest_fees", "written_off", "registered", "exited")
CHANGES = STOCKS + FLOWS

_LOAN_STOCKS = STOCKS[2:]  # a loan's own: everything but the two client counts


def _zeros(columns: tuple[str, ...], *, but: dict[str, str]) -> str:
    return ", ".join(f"{but.get(c, '0')} AS {c}" for c in columns)


def _sum(columns: tuple[str, ...]) -> str:
    return ", ".join(f"sum({c}) AS {c}" for c in columns)


def _difference(columns: tuple[str, ...], window: str) -> str:
    """Each value minus the one before it in `window` (0 before the first): the change on the row's day."""
    return ", ".join(f"{c} - coalesce(lag({c}) OVER {window}, 0) AS {c}" for c in columns)


def _changes(**values: str) -> str:
    """A row of every change column: the ones given, zero for the others."""
    return _zeros(CHANGES, but=values)


_CLIENT_BEFORE = (
    "CASE WHEN registered_on < from_date AND (exited_on IS NULL OR exited_on >= from_date) THEN 1 ELSE 0 END"
)
_LOAN_FLOWS = FLOWS[:5]  # a loan's own: everything but registrations and exits

REGENERATE = f"""
WITH
stale AS (SELECT client_id, from_date FROM unnest($1::text[], $2::date[]) AS s(client_id, from_date)),
-- (Each table is read through its index for the clients at hand, a part of the book in a daily close: OFFSET 0
-- keeps the planner from turning those lookups into scans of the whole table. `_WHOLE_BOOK` drops it.)
client AS (
    SELECT c.client_id, c.registered_on, c.exited_on, s.from_date
    FROM stale s JOIN LATERAL (SELECT * FROM {{s}}.clients c WHERE c.client_id = s.client_id OFFSET 0) c ON true
),
loan AS (
    SELECT l.loan_id, l.client_id, l.principal, l.disbursed_on, l.written_off_on,
           least(l.written_off_on, l.repaid_on) AS stopped_on, c.from_date
    FROM client c JOIN LATERAL (SELECT * FROM {{s}}.loans l WHERE l.client_id = c.client_id OFFSET 0) l ON true
),
window_events AS (  -- the installments entering or leaving the 30-day window from the stale day on (not
                   -- those due after the loan stopped)
    SELECT l.loan_id, i.due_on, i.cum_amount, l.from_date
    FROM loan l
    JOIN LATERAL (
        SELECT due_on, cum_amount FROM {{s}}.installments i
        WHERE i.loan_id = l.loan_id AND i.due_on + 0 BETWEEN l.from_date - 30 AND $3  -- (+ 0: by the loan's key)
          AND (l.stopped_on IS NULL OR i.due_on <= l.stopped_on)
        OFFSET 0
    ) i ON true
),
events AS (
    -- The days a loan changes from the stale day on, and the day before it (the opening: what was paid
    -- before, which installments had entered and left the window). Paid amounts add up; the window is the
    -- installments after the last to leave through the last to enter (due days increase with the
    -- sequence), so a running max of the cumulative amounts of those two delimits what is due and covered.
    SELECT loan_id, day, sum(principal) AS principal, sum(covered) AS covered, sum(collected) AS collected,
           sum(interest_fees) AS interest_fees, max(entered) AS entered, max(left_window) AS left_window,
           bool_or(opening) AS opening
    FROM (
        SELECT l.loan_id, l.from_date - 1 AS day, coalesce(p.principal, 0) AS principal,
               coalesce(p.covered, 0) AS covered, 0 AS collected, 0 AS interest_fees, w.entered, w.left_window,
               true AS opening
        FROM loan l
        LEFT JOIN LATERAL (
            SELECT sum(principal) AS principal, sum(principal + interest) AS covered
            FROM {{s}}.payments WHERE loan_id = l.loan_id AND paid_on < l.from_date
        ) p ON true
        CROSS JOIN LATERAL (  -- the last installment in before the stale day, and the last out (due days increase)
            SELECT (SELECT cum_amount FROM {{s}}.installments i
                    WHERE i.loan_id = l.loan_id AND i.due_on < l.from_date
                      AND (l.stopped_on IS NULL OR i.due_on <= l.stopped_on)
                    ORDER BY i.seq DESC LIMIT 1) AS entered,
                   (SELECT cum_amount FROM {{s}}.installments i
                    WHERE i.loan_id = l.loan_id AND i.due_on + 30 < l.from_date
                      AND (l.stopped_on IS NULL OR i.due_on <= l.stopped_on)
                    ORDER BY i.seq DESC LIMIT 1) AS left_window
        ) w
        UNION ALL
        SELECT l.loan_id, p.paid_on, p.principal, p.principal + p.interest, p.principal + p.interest + p.fees,
               p.interest + p.fees, NULL, NULL, false
        FROM loan l
        JOIN LATERAL (
            SELECT * FROM {{s}}.payments p WHERE p.loan_id = l.loan_id AND p.paid_on BETWEEN l.from_date AND $3
            OFFSET 0
        ) p ON true
        UNION ALL
        SELECT loan_id, disbursed_on, 0, 0, 0, 0, NULL, NULL, false FROM loan
        WHERE disbursed_on BETWEEN from_date AND $3
        UNION ALL
        SELECT loan_id, written_off_on, 0, 0, 0, 0, NULL, NULL, false FROM loan
        WHERE written_off_on BETWEEN from_date AND $3
        UNION ALL
        SELECT loan_id, due_on, 0, 0, 0, 0, cum_amount, NULL, false FROM window_events
        WHERE due_on BETWEEN from_date AND $3
        UNION ALL
        SELECT loan_id, due_on + 30, 0, 0, 0, 0, NULL, cum_amount, false
        FROM window_events WHERE due_on + 30 BETWEEN from_date AND $3
    ) e
    GROUP BY loan_id, day
),
state AS (  -- the loan from each event until the next
    SELECT e.loan_id, e.day, lead(e.day) OVER w AS next_day, e.collected, e.interest_fees, l.client_id,
           l.from_date, l.principal, l.disbursed_on, l.written_off_on, l.stopped_on,
           sum(e.principal) OVER w AS paid_principal, sum(e.covered) OVER w AS covered,
           e.covered <> 0 OR e.opening AS covered_changed,
           coalesce(max(e.entered) OVER w, 0) AS entered, coalesce(max(e.left_window) OVER w, 0) AS left_window
    FROM events e JOIN loan l USING (loan_id)
    WINDOW w AS (PARTITION BY e.loan_id ORDER BY e.day)
),
aged AS (  -- + days past due count from the oldest installment left uncovered: found where coverage changed
          -- (the lookup is skipped elsewhere), carried forward as a running max (it only moves later)
    SELECT st.*, st.principal - st.paid_principal AS unpaid,
           st.disbursed_on <= st.day AND (st.written_off_on IS NULL OR st.written_off_on > st.day)
               AND st.principal > st.paid_principal AS active,
           -- included in the day's book: disbursed, and not stopped more than 30 days before
           st.disbursed_on <= st.day AND (st.stopped_on IS NULL OR st.stopped_on >= st.day - 30) AS included,
           nullif(max(o.due_on) OVER (PARTITION BY st.loan_id ORDER BY st.day), 'infinity') AS oldest_due
    FROM state st
    LEFT JOIN LATERAL (
        SELECT coalesce(
            (SELECT i.due_on FROM {{s}}.installments i
             WHERE st.covered_changed AND i.loan_id = st.loan_id AND i.cum_amount > st.covered
             ORDER BY i.seq LIMIT 1),
            CASE WHEN st.covered_changed THEN 'infinity'::date END) AS due_on
    ) o ON true
),
loan_values AS (  -- a loan's stocks from each event, and from each PAR threshold crossed before the next
    SELECT a.loan_id, a.client_id, a.from_date, t.day,
           CASE WHEN a.active THEN 1 ELSE 0 END AS active_loans,
           CASE WHEN a.active THEN a.unpaid ELSE 0 END AS glp,
           CASE WHEN a.active AND t.day - a.oldest_due > 30 THEN a.unpaid ELSE 0 END AS par30_balance,
           CASE WHEN a.active AND t.day - a.oldest_due > 60 THEN a.unpaid ELSE 0 END AS par60_balance,
           CASE WHEN a.active AND t.day - a.oldest_due > 90 THEN a.unpaid ELSE 0 END AS par90_balance,
           greatest(a.entered - a.left_window, 0) AS due_30d,
           greatest(least(a.covered, a.entered) - a.left_window, 0) AS covered_30d,
           -- the day's flows, on the event's own day
           CASE WHEN t.day = a.disbursed_on AND a.included THEN 1 ELSE 0 END AS disbursed_count,
           CASE WHEN t.day = a.disbursed_on AND a.included THEN a.principal ELSE 0 END AS disbursed,
           CASE WHEN t.day = a.day THEN a.collected ELSE 0 END AS collected,
           CASE WHEN t.day = a.day THEN a.interest_fees ELSE 0 END AS interest_fees,
           CASE WHEN t.day = a.written_off_on AND a.included THEN a.unpaid ELSE 0 END AS written_off
    FROM aged a
    CROSS JOIN LATERAL (
        SELECT a.day
        UNION ALL
        SELECT a.oldest_due + k FROM unnest(ARRAY[31, 61, 91]) AS k
        WHERE a.active AND a.oldest_due + k > a.day AND (a.next_day IS NULL OR a.oldest_due + k < a.next_day)
          AND a.oldest_due + k <= $3
    ) t(day)
),
loan_changes AS (  -- the opening's "change" is the loan's stocks the day before the stale day
    SELECT client_id, day, from_date,
           {_difference(_LOAN_STOCKS, "(PARTITION BY loan_id ORDER BY day)")}, {", ".join(_LOAN_FLOWS)}
    FROM loan_values
),
owner AS (  -- who owns the client from which day: its registration and reassignments, not before it registered
    SELECT o.*, lag(o.officer_id) OVER (PARTITION BY o.client_id ORDER BY o.valid_from) AS previous
    FROM (
        SELECT c.client_id, o.officer_id, greatest(o.valid_from, c.registered_on) AS valid_from,
               lead(o.valid_from) OVER (PARTITION BY c.client_id ORDER BY o.valid_from) AS valid_to
        FROM client c
        JOIN LATERAL (SELECT * FROM {{s}}.client_owners o WHERE o.client_id = c.client_id OFFSET 0) o ON true
    ) o
    WHERE valid_to IS NULL OR valid_to > valid_from
),
client_days AS (  -- every day something changes for the client from the stale day on, owner changes included,
                  -- and the opening: its stocks the day before (its loans' and whether it was a client)
    SELECT c.client_id, c.day, c.from_date, c.exited_on, {_sum(CHANGES)}
    FROM (
        SELECT v.client_id, v.day, k.from_date, k.exited_on,
               {_changes(**{c: f"v.{c}" for c in _LOAN_STOCKS + _LOAN_FLOWS})}
        FROM loan_changes v JOIN client k USING (client_id)
        UNION ALL
        SELECT client_id, registered_on, from_date, exited_on, {_changes(total_clients="1", registered="1")}
        FROM client
        WHERE registered_on BETWEEN from_date AND $3 AND (exited_on IS NULL OR exited_on > registered_on)
        UNION ALL
        SELECT client_id, registered_on, from_date, exited_on, {_changes(registered="1")}
        FROM client WHERE registered_on BETWEEN from_date AND $3 AND exited_on <= registered_on
        UNION ALL
        SELECT client_id, exited_on, from_date, exited_on,
               {
    _changes(
        total_clients="CASE WHEN exited_on > registered_on THEN -1 ELSE 0 END",
        exited="CASE WHEN exited_on >= registered_on THEN 1 ELSE 0 END",
    )
}
        FROM client WHERE exited_on BETWEEN from_date AND $3
        UNION ALL
        SELECT o.client_id, o.valid_from, c.from_date, c.exited_on, {_changes()}
        FROM owner o JOIN client c USING (client_id) WHERE o.valid_from BETWEEN c.from_date AND $3
        UNION ALL
        SELECT client_id, from_date - 1, from_date, exited_on,
               {_changes(total_clients=_CLIENT_BEFORE)}
        FROM client
    ) c
    GROUP BY c.client_id, c.day, c.from_date, c.exited_on
),
counted AS (  -- + whether the client is an active one after the day: a loan active, the client not exited
    SELECT *, (sum(active_loans) OVER w > 0 AND (exited_on IS NULL OR day < exited_on))::int AS active
    FROM client_days WINDOW w AS (PARTITION BY client_id ORDER BY day)
),
timeline AS (  -- + the client's stocks before the day (what it takes along when it moves)
    SELECT client_id, day, from_date, {", ".join(c for c in CHANGES if c != "active_clients")},
           active - coalesce(lag(active) OVER w, 0) AS active_clients,
           coalesce(lag(active) OVER w, 0) AS active_clients_before,
           {", ".join(f"sum({c}) OVER w - {c} AS {c}_before" for c in STOCKS if c != "active_clients")}
    FROM counted WINDOW w AS (PARTITION BY client_id ORDER BY day)
),
arrears AS (  -- where each loan stands on the last day written, for the next close to find its PAR crossings
    INSERT INTO {{s}}.loan_arrears AS a (loan_id, client_id, oldest_due)
    SELECT DISTINCT ON (loan_id) loan_id, client_id, CASE WHEN active THEN oldest_due END
    FROM aged ORDER BY loan_id, day DESC
    ON CONFLICT (loan_id) DO UPDATE SET client_id = EXCLUDED.client_id, oldest_due = EXCLUDED.oldest_due
),
rows AS (
    SELECT t.client_id, t.day, o.officer_id, arrived AS moved,
           {", ".join(f"t.{c} + CASE WHEN arrived THEN t.{c}_before ELSE 0 END AS {c}" for c in STOCKS)},
           {", ".join(f"t.{c}" for c in FLOWS)}
    FROM timeline t
    JOIN owner o ON o.client_id = t.client_id AND o.valid_from <= t.day AND (o.valid_to IS NULL OR t.day < o.valid_to)
    CROSS JOIN LATERAL (SELECT o.valid_from = t.day AND o.previous IS DISTINCT FROM o.officer_id AS arrived) m
    WHERE t.day >= t.from_date
    UNION ALL  -- ... taken from the officer it leaves
    SELECT t.client_id, t.day, o.previous, true, {", ".join(f"-t.{c}_before" for c in STOCKS)},
           {", ".join("0" for _ in FLOWS)}
    FROM timeline t JOIN owner o ON o.client_id = t.client_id AND o.valid_from = t.day
    WHERE t.day >= t.from_date AND o.previous IS NOT NULL AND o.previous <> o.officer_id
)
INSERT INTO {{s}}.client_changes (client_id, business_date, officer_id, moved, {", ".join(CHANGES)})
SELECT client_id, day, officer_id, moved, {", ".join(CHANGES)} FROM rows
WHERE moved OR ({", ".join(CHANGES)}) <> ({", ".join("0" for _ in CHANGES)})
"""


# For most of the book at once (a first close, a migration) hash joins over whole tables beat lookups by key.
_WHOLE_BOOK = REGENERATE.replace(" OFFSET 0", "").replace("OFFSET 0\n", "")

# The clients with anything in (after, through]: what a close extending the ledger to `through` recomputes.
# An installment enters the window on its due day and leaves it 30 days later; a loan crosses a PAR threshold
# 31, 61 or 91 days after the due day of its oldest uncovered installment (as the last close left it: a
# payment since then makes the loan's client stale or a candidate anyway).
_ACTIVE_BETWEEN = """
SELECT l.client_id
FROM unnest(ARRAY[0, 30]) AS k
JOIN {s}.installments i ON i.due_on > $1::date - k AND i.due_on <= $2::date - k
JOIN {s}.loans l USING (loan_id)
UNION
SELECT a.client_id
FROM unnest(ARRAY[31, 61, 91]) AS k
JOIN {s}.loan_arrears a ON a.oldest_due > $1::date - k AND a.oldest_due <= $2::date - k
UNION
SELECT l.client_id FROM {s}.payments p JOIN {s}.loans l USING (loan_id)
WHERE p.paid_on > $1::date AND p.paid_on <= $2::date
UNION
SELECT client_id FROM {s}.loans WHERE disbursed_on > $1::date AND disbursed_on <= $2::date
UNION
SELECT client_id FROM {s}.loans WHERE written_off_on > $1::date AND written_off_on <= $2::date
UNION
SELECT client_id FROM {s}.clients WHERE registered_on > $1::date AND registered_on <= $2::date
UNION
SELECT client_id FROM {s}.clients WHERE exited_on > $1::date AND exited_on <= $2::date
UNION
SELECT client_id FROM {s}.client_owners WHERE valid_from > $1::date AND valid_from <= $2::date
"""

_FIRST = dt.date.min  # asyncpg sends it as -infinity: before any day


async def refresh(
    conn: db.Connection, schema: str, through: dt.date | None, *, extend_to: dt.date | None = None
) -> int:
    """Bring the ledger, complete through `through` (the last closed day), up to date with the book: rewrite
    every client marked stale from its earliest day marked; with `extend_to`, also write the days after
    `through` to it, for every client with something on them. Returns the clients rewritten.

    Marks for days after `through` need no rewrite (the ledger has no rows there yet) and are dropped."""
    stale = await conn.fetch(
        f"""
        WITH taken AS (DELETE FROM {schema}.stale_clients RETURNING client_id, from_date)
        SELECT client_id, min(from_date) AS from_date FROM taken WHERE from_date <= $1 GROUP BY client_id
        """,
        through,
    )
    since = {r["client_id"]: r["from_date"] for r in stale}
    last = through
    if extend_to is not None and (through is None or extend_to > through):
        last = extend_to
        if through is None:
            candidates = await conn.fetch(f"SELECT client_id FROM {schema}.clients")
        else:
            candidates = await conn.fetch(_ACTIVE_BETWEEN.replace("{s}", schema), through, extend_to)
        after = through + dt.timedelta(days=1) if through is not None else _FIRST
        for r in candidates:
            since[r["client_id"]] = min(since.get(r["client_id"], after), after)
    if not since or last is None:
        return 0
    clients = sorted(since)
    froms = [since[c] for c in clients]
    await conn.execute(
        f"DELETE FROM {schema}.client_changes c USING unnest($1::text[], $2::date[]) AS s(client_id, from_date)"
        " WHERE c.client_id = s.client_id AND c.business_date >= s.from_date",
        clients,
        froms,
    )
    book_size = await conn.fetchval(f"SELECT count(*) FROM {schema}.clients")
    statement = _WHOLE_BOOK if 2 * len(clients) > book_size else REGENERATE
    await conn.execute(statement.replace("{s}", schema), clients, froms, last)
    return len(clients)
