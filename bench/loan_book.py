"""A synthetic loan book written straight into the snapshotter's tables by set-based SQL, for the close
benchmarks (a million loans load in minutes; generating them in Python took ~20 min and gigabytes).

Every client has one weekly loan of 26 installments, disbursed in the year before `today`; 75% pay on
schedule, the others stop after 0–19 installments (arrears), loans paid in full are repaid, 2% of those
older than 200 days are written off then. Deterministic: every draw is a hash of the loan number and seed.
"""

from __future__ import annotations

import datetime as dt

from shared import db

SCHEMA = "snapshotter"

# u(k): a uniform draw in [0, 1) for loan n, the k-th of its draws.
_DRAWS = """
CREATE TEMP TABLE bench_book ON COMMIT DROP AS
SELECT n, 'C' || n AS client_id, 'L' || n AS loan_id, 'O' || (n % $2) AS officer_id, registered,
       registered + floor(u3 * 280)::int AS disbursed, principal, behaviour,
       CASE WHEN behaviour < 0.75 THEN 26 ELSE floor(u5 * 20)::int END AS paid_through,
       round(principal / 26, 2) AS part, round(principal * 0.005, 2) AS interest
FROM (
    SELECT n, u1, u3, u5, $3::date + floor(u1 * 60)::int AS registered,
           ((10 + floor(u2 * 90)) * 500)::numeric AS principal, u4 AS behaviour
    FROM (
        SELECT n, {draws} FROM generate_series(0, $1 - 1) AS n
    ) d
) b
"""


def _draw(k: int) -> str:
    return f"(hashint8extended(n, $4 * 10 + {k}) & 2147483647) / 2147483648.0 AS u{k}"


async def load(conn: db.Connection, *, loans: int, officers: int, today: dt.date, seed: int = 1) -> None:
    start = today - dt.timedelta(days=365)
    draws = ", ".join(_draw(k) for k in range(1, 6))
    async with conn.transaction():
        await conn.execute(_DRAWS.replace("{draws}", draws), loans, officers, start, seed)
        await conn.execute(
            f"""
            ALTER TABLE bench_book ADD COLUMN written_off date;
            UPDATE bench_book SET written_off = disbursed + 200
            WHERE behaviour > 0.98 AND disbursed + 200 < '{today.isoformat()}'::date;
            INSERT INTO {SCHEMA}.clients (client_id, registered_on, exited_on, occurred_at)
            SELECT client_id, registered, NULL, now() FROM bench_book;
            INSERT INTO {SCHEMA}.client_owners (client_id, valid_from, officer_id, is_registration, occurred_at)
            SELECT client_id, registered, officer_id, true, now() FROM bench_book;
            INSERT INTO {SCHEMA}.loans
                (loan_id, client_id, disbursed_on, principal, written_off_on, repaid_on, occurred_at)
            SELECT loan_id, client_id, disbursed, principal, written_off, NULL, now() FROM bench_book;
            INSERT INTO {SCHEMA}.installments (loan_id, seq, due_on, principal, interest, amount, cum_amount)
            SELECT loan_id, k, disbursed + 7 * k, p, interest, p + interest,
                   CASE WHEN k < 26 THEN k * (part + interest) ELSE principal + 26 * interest END
            FROM bench_book, generate_series(1, 26) AS k,
                 LATERAL (SELECT CASE WHEN k < 26 THEN part ELSE principal - 25 * part END AS p) x;
            INSERT INTO {SCHEMA}.payments (payment_id, loan_id, paid_on, principal, interest, fees, occurred_at)
            SELECT 'P' || n || '-' || k, loan_id, disbursed + 7 * k,
                   CASE WHEN k < 26 THEN part ELSE principal - 25 * part END, interest, 0, now()
            FROM bench_book, generate_series(1, 26) AS k
            WHERE k <= paid_through AND disbursed + 7 * k <= '{today.isoformat()}'::date
              AND (written_off IS NULL OR disbursed + 7 * k < written_off);
            UPDATE {SCHEMA}.loans SET repaid_on = b.disbursed + 7 * 26
            FROM bench_book b
            WHERE loans.loan_id = b.loan_id AND b.paid_through = 26
              AND b.disbursed + 7 * 26 <= '{today.isoformat()}'::date AND b.written_off IS NULL;
            """
        )
        # As ingest would: every client's ledger is stale from its first day.
        await conn.execute(
            f"INSERT INTO {SCHEMA}.stale_clients (client_id, from_date) SELECT client_id, registered FROM bench_book"
        )
        await conn.execute(
            f"""
            INSERT INTO {SCHEMA}.officers
            SELECT 'O' || n, 'B' || (n % 10), 'Officer ' || n, 'o' || n || '@bench.example', 'loan_officer', now()
            FROM generate_series(0, $1 - 1) AS n
            """,
            officers,
        )
    await conn.execute("ANALYZE")
