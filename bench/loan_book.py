"""A synthetic loan book loaded straight into the snapshotter's tables (COPY), for the close benchmarks.

Every client has one weekly loan of 26 installments; most pay on schedule, some stop paying (arrears),
some were repaid in full, a few written off. Deterministic for a seed.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import asyncpg

SCHEMA = "snapshotter"


async def load(conn: asyncpg.Connection, *, loans: int, officers: int, today: dt.date, seed: int = 1) -> None:
    rng = random.Random(seed)
    clients, owners, loan_rows, installments, payments = [], [], [], [], []
    start = today - dt.timedelta(days=365)
    now = dt.datetime.now(dt.UTC)
    for n in range(loans):
        client, loan, officer = f"C{n}", f"L{n}", f"O{n % officers}"
        registered = start + dt.timedelta(days=rng.randrange(0, 60))
        disbursed = registered + dt.timedelta(days=rng.randrange(0, 280))
        principal = Decimal(rng.randrange(10, 100) * 500)
        part = (principal / 26).quantize(Decimal("0.01"))
        interest = (principal * Decimal("0.005")).quantize(Decimal("0.01"))
        clients.append((client, registered, None, now))
        owners.append((client, registered, officer, True, now))
        written_off = None
        behaviour = rng.random()
        paid_through = 26 if behaviour < 0.75 else rng.randrange(0, 20)
        cumulative = Decimal(0)
        for k in range(1, 27):
            p = part if k < 26 else principal - part * 25
            due = disbursed + dt.timedelta(days=7 * k)
            cumulative += p + interest
            installments.append((loan, k, due, p, interest, p + interest, cumulative))
            if k <= paid_through and due <= today:
                payments.append((f"P{n}-{k}", loan, due, p, interest, Decimal(0), now))
        if behaviour > 0.98 and disbursed + dt.timedelta(days=200) < today:
            written_off = disbursed + dt.timedelta(days=200)
            payments = [p for p in payments if not (p[1] == loan and p[2] >= written_off)]
        loan_rows.append((loan, client, disbursed, principal, written_off, None, now))
    await conn.copy_records_to_table(
        "clients",
        schema_name=SCHEMA,
        records=clients,
        columns=["client_id", "registered_on", "exited_on", "occurred_at"],
    )
    await conn.copy_records_to_table(
        "client_owners", schema_name=SCHEMA, records=owners,
        columns=["client_id", "valid_from", "officer_id", "is_registration", "occurred_at"],
    )  # fmt: skip
    await conn.copy_records_to_table(
        "loans", schema_name=SCHEMA, records=loan_rows,
        columns=["loan_id", "client_id", "disbursed_on", "principal", "written_off_on", "repaid_on", "occurred_at"],
    )  # fmt: skip
    await conn.copy_records_to_table(
        "installments", schema_name=SCHEMA, records=installments,
        columns=["loan_id", "seq", "due_on", "principal", "interest", "amount", "cum_amount"],
    )  # fmt: skip
    await conn.copy_records_to_table(
        "payments", schema_name=SCHEMA, records=payments,
        columns=["payment_id", "loan_id", "paid_on", "principal", "interest", "fees", "occurred_at"],
    )  # fmt: skip
    await conn.execute(
        f"""
        UPDATE {SCHEMA}.loans l SET repaid_on = r.repaid_on FROM (
            SELECT loan_id, min(paid_on) FILTER (WHERE paid >= principal) AS repaid_on FROM (
                SELECT p.loan_id, p.paid_on, l2.principal,
                       sum(p.principal) OVER (PARTITION BY p.loan_id ORDER BY p.paid_on) AS paid
                FROM {SCHEMA}.payments p JOIN {SCHEMA}.loans l2 USING (loan_id)) x GROUP BY loan_id) r
        WHERE l.loan_id = r.loan_id
        """
    )
    for n in range(officers):
        await conn.execute(
            f"INSERT INTO {SCHEMA}.officers VALUES ($1, $2, $3, $4, 'loan_officer', now())",
            f"O{n}", f"B{n % 10}", f"Officer {n}", f"o{n}@bench.example",
        )  # fmt: skip
    await conn.execute("ANALYZE")
