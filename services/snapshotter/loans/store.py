"""SQL of the loan book: load the slice a batch touches, write what it changed, queue restatements."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal

import asyncpg

from services.snapshotter.loans.book import Client, Dirty, Loan, LoanBook, Payment, Settled, earliest_days_asked
from shared import db
from shared.events.loans import Installment, LoanRepaymentReceived

SCHEMA = "snapshotter"
# Every instance ingests its own partitions' clients at the same time as the others. Ingest holds INGEST
# shared; a close takes it exclusively only for the moment it marks the days it closes. Closing, restating
# and regenerating days run one at a time cluster-wide, under DAYS.
INGEST = "pulse-snapshotter-ingest"
DAYS = "pulse-snapshotter-days"


async def share_ingest(conn: db.Connection) -> None:
    """Ingest beside the other instances' ingest, not beside a close marking its days (`mark_closing`)."""
    await conn.execute("SELECT pg_advisory_xact_lock_shared(hashtext($1))", INGEST)


async def lock_clients(conn: db.Connection, client_ids: Iterable[str]) -> None:
    await db.lock_keys(conn, "pulse-loan-client", client_ids)


async def lock_days(conn: db.Connection) -> None:
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", DAYS)


async def try_lock_days(conn: db.Connection) -> bool:
    got: bool = await conn.fetchval("SELECT pg_try_advisory_xact_lock(hashtext($1))", DAYS)
    return got


async def mark_closing(database_url: str, day: dt.date) -> None:
    """Before a close reads the book: record, in a transaction of its own committed first, that days through
    `day` are being closed. It waits for the ingest transactions in flight (they commit before the close
    reads anything), and every ingest transaction after it sees the mark and queues restatements for what
    it changes on those days, which the close may or may not have seen: the restatement job, after the
    close, makes the days right either way. A close that fails after marking leaves the mark, which only
    queues restatements for days that are not closed yet (dropped: the close computes them afresh)."""
    conn = await asyncpg.connect(database_url)
    try:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", INGEST)
            await conn.execute(
                f"UPDATE {SCHEMA}.loan_calendar SET closing_through = greatest(closing_through, $1)", day
            )
    finally:
        await conn.close()


async def load_locked_book(conn: db.Connection, client_ids: Iterable[str], events: Sequence[object]) -> LoanBook:
    """`load_book` with every client whose loans it holds locked first: the batch's own clients, then the
    clients of other partitions whose loans the batch names (a payment moving off one of their loans, a
    loan id given with the wrong client), read again once they are locked. The second round takes its
    locks out of order, so two such batches may deadlock; PostgreSQL breaks that and the batch is retried."""
    clients = set(client_ids)
    locked = set(clients)
    await lock_clients(conn, locked)
    while True:
        book = await load_book(conn, clients, events)
        others = {loan.client_id for loan in book.loans.values()} - locked
        if not others:
            return book
        await lock_clients(conn, others)
        locked |= others


_LOAN_COLUMNS = (
    "loan_id, client_id, disbursed_on, principal, written_off_on, repaid_on, paid_principal, first_paid_on,"
    " last_paid_on"
)


async def load_book(conn: db.Connection, client_ids: Iterable[str], events: Sequence[object]) -> LoanBook:
    """The clients and loans a batch's `events` name, every loan of those clients, and the loans that hold a
    payment the batch corrects (it may move to another loan). A loan's payments are loaded only where the
    batch needs them: for a loan holding a corrected payment, and for a loan the batch asks about a day
    before its last stored payment (`earliest_days_asked`); the other loans carry their payments' settled
    summary."""
    clients_ = list(set(client_ids))
    asked = earliest_days_asked(events)
    payment_ids = {e.payment_id for e in events if isinstance(e, LoanRepaymentReceived)}
    clients: dict[str, Client] = {
        r["client_id"]: Client(r["client_id"], r["registered_on"], r["exited_on"])
        for r in await conn.fetch(
            f"SELECT client_id, registered_on, exited_on FROM {SCHEMA}.clients WHERE client_id = ANY($1::text[])",
            clients_,
        )
    }
    for r in await conn.fetch(
        f"SELECT client_id, valid_from, officer_id, is_registration FROM {SCHEMA}.client_owners"
        " WHERE client_id = ANY($1::text[])",
        clients_,
    ):
        clients[r["client_id"]].owners[r["valid_from"]] = (r["officer_id"], r["is_registration"])
    rows = await conn.fetch(
        # A UNION of three index look-ups: with OR the planner scans the whole table.
        f"SELECT {_LOAN_COLUMNS}, false AS holds FROM {SCHEMA}.loans WHERE loan_id = ANY($1::text[])"
        f" UNION SELECT {_LOAN_COLUMNS}, false FROM {SCHEMA}.loans WHERE client_id = ANY($2::text[])"
        f" UNION SELECT {_LOAN_COLUMNS}, true FROM {SCHEMA}.loans"
        f" WHERE loan_id IN (SELECT loan_id FROM {SCHEMA}.payments WHERE payment_id = ANY($3::text[]))",
        list(asked),
        clients_,
        list(payment_ids),
    )
    holders = {r["loan_id"] for r in rows if r["holds"]}
    loans: dict[str, Loan] = {}
    history: list[str] = []
    for r in rows:
        loan_id = r["loan_id"]
        if loan_id in loans:  # a holder is also named by the batch or one of its clients' loans
            continue
        loan = Loan(loan_id, r["client_id"], r["disbursed_on"], r["principal"], r["written_off_on"])
        last = r["last_paid_on"]
        if last is not None:
            if loan_id in holders or asked.get(loan_id, dt.date.max) < last:
                history.append(loan_id)
            else:
                loan.settled = Settled(r["paid_principal"], r["first_paid_on"], last, r["repaid_on"])
        loans[loan_id] = loan
    for r in await conn.fetch(
        f"SELECT payment_id, loan_id, paid_on, principal, interest, fees FROM {SCHEMA}.payments"
        " WHERE loan_id = ANY($1::text[])",
        sorted(set(history)),
    ):
        loans[r["loan_id"]].payments[r["payment_id"]] = Payment(
            r["payment_id"], r["paid_on"], r["principal"], r["interest"], r["fees"]
        )
    return LoanBook(clients=clients, loans=loans)


def _installment_rows(loan_id: str, schedule: Sequence[Installment]) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    cumulative = Decimal(0)
    for seq, inst in enumerate(schedule, start=1):
        amount = inst.principal + inst.interest
        cumulative += amount
        rows.append((loan_id, seq, inst.due_on, inst.principal, inst.interest, amount, cumulative))
    return rows


def _columns(rows: Sequence[tuple[object, ...]], width: int) -> list[list[object]]:
    """Rows as one list per column: the arrays of an `unnest(...)` statement (one round trip for all rows)."""
    return [list(column) for column in zip(*rows, strict=True)] if rows else [[] for _ in range(width)]


async def save(conn: db.Connection, book: LoanBook, occurred_at: dt.datetime) -> None:
    """Write every client, loan, schedule and payment the batch changed: one statement per table, each
    over all of the batch's rows. Rows of new clients and loans have nothing to replace."""
    if book.touched_clients:
        touched = [book.clients[c] for c in book.touched_clients]
        await conn.execute(
            f"INSERT INTO {SCHEMA}.clients (client_id, registered_on, exited_on, occurred_at)"
            " SELECT c.*, $4 FROM unnest($1::text[], $2::date[], $3::date[]) AS c"
            " ON CONFLICT (client_id) DO UPDATE SET"
            " registered_on = EXCLUDED.registered_on, exited_on = EXCLUDED.exited_on,"
            " occurred_at = EXCLUDED.occurred_at",
            *_columns([(c.client_id, c.registered_on, c.exited_on) for c in touched], 3),
            occurred_at,
        )
        stored = [c.client_id for c in touched if c.client_id in book.stored_clients]
        if stored:
            await conn.execute(f"DELETE FROM {SCHEMA}.client_owners WHERE client_id = ANY($1::text[])", stored)
        await conn.copy_records_to_table(
            "client_owners",
            schema_name=SCHEMA,
            columns=["client_id", "valid_from", "officer_id", "is_registration", "occurred_at"],
            records=[
                (c.client_id, valid_from, officer, is_registration, occurred_at)
                for c in touched
                for valid_from, (officer, is_registration) in c.owners.items()
            ],
        )
    if book.touched_loans:
        loans = [book.loans[loan_id] for loan_id in book.touched_loans]
        rows = []
        for lo in loans:
            first, last = lo.paid_days or (None, None)
            rows.append((lo.loan_id, lo.client_id, lo.disbursed_on, lo.principal, lo.written_off_on, lo.repaid_on,
                         lo.principal_paid(), first, last))  # fmt: skip
        await conn.execute(
            f"INSERT INTO {SCHEMA}.loans ({_LOAN_COLUMNS}, occurred_at)"
            " SELECT l.*, $10"
            " FROM unnest($1::text[], $2::text[], $3::date[], $4::numeric[], $5::date[], $6::date[],"
            " $7::numeric[], $8::date[], $9::date[]) AS l"
            " ON CONFLICT (loan_id) DO UPDATE SET"
            " client_id = EXCLUDED.client_id, disbursed_on = EXCLUDED.disbursed_on,"
            " principal = EXCLUDED.principal, written_off_on = EXCLUDED.written_off_on,"
            " repaid_on = EXCLUDED.repaid_on, paid_principal = EXCLUDED.paid_principal,"
            " first_paid_on = EXCLUDED.first_paid_on, last_paid_on = EXCLUDED.last_paid_on,"
            " occurred_at = EXCLUDED.occurred_at",
            *_columns(rows, 9),
            occurred_at,
        )
    if book.replaced_schedules:
        stored = [loan_id for loan_id in book.replaced_schedules if loan_id in book.stored_loans]
        if stored:
            await conn.execute(f"DELETE FROM {SCHEMA}.installments WHERE loan_id = ANY($1::text[])", stored)
        await conn.copy_records_to_table(
            "installments",
            schema_name=SCHEMA,
            columns=["loan_id", "seq", "due_on", "principal", "interest", "amount", "cum_amount"],
            records=[
                row
                for loan_id in book.replaced_schedules
                for row in _installment_rows(loan_id, book.loans[loan_id].schedule or ())
            ],
        )
    if book.written_payments:
        holders = {p: book.payment_loans[p] for p in book.written_payments}
        payments = [(loan_id, book.loans[loan_id].payments[p]) for p, loan_id in holders.items()]
        await conn.execute(
            f"INSERT INTO {SCHEMA}.payments (payment_id, loan_id, paid_on, principal, interest, fees, occurred_at)"
            " SELECT p.*, $7 FROM unnest($1::text[], $2::text[], $3::date[], $4::numeric[], $5::numeric[],"
            " $6::numeric[]) AS p"
            " ON CONFLICT (payment_id) DO UPDATE SET"
            " loan_id = EXCLUDED.loan_id, paid_on = EXCLUDED.paid_on, principal = EXCLUDED.principal,"
            " interest = EXCLUDED.interest, fees = EXCLUDED.fees, occurred_at = EXCLUDED.occurred_at",
            *_columns(
                [(p.payment_id, loan_id, p.paid_on, p.principal, p.interest, p.fees) for loan_id, p in payments], 6
            ),
            occurred_at,
        )


async def closing_through(conn: db.Connection) -> dt.date | None:
    """The last day closed or being closed: later changes to days through it are restated."""
    value: dt.date | None = await conn.fetchval(
        f"SELECT greatest(last_closed_on, closing_through) FROM {SCHEMA}.loan_calendar"
    )
    return value


async def last_closed(conn: db.Connection) -> dt.date | None:
    value: dt.date | None = await conn.fetchval(f"SELECT last_closed_on FROM {SCHEMA}.loan_calendar")
    return value


async def set_last_closed(conn: db.Connection, day: dt.date) -> None:
    await conn.execute(f"UPDATE {SCHEMA}.loan_calendar SET last_closed_on = $1", day)


async def first_business_date(conn: db.Connection) -> dt.date | None:
    """The date of the earliest dated loan event: where a first close starts."""
    value: dt.date | None = await conn.fetchval(
        f"SELECT least((SELECT min(registered_on) FROM {SCHEMA}.clients),"
        f" (SELECT min(disbursed_on) FROM {SCHEMA}.loans))"
    )
    return value


async def queue_restatements(conn: db.Connection, dirty: Dirty, closed_through: dt.date | None) -> None:
    """Officers whose closed days an accepted event changed, each from the first day it changed."""
    if closed_through is None:
        return
    clients = [(c, d) for c, d in dirty.clients.items() if d <= closed_through]
    officers = [(o, d) for o, d in dirty.officers.items() if d <= closed_through]
    if not clients and not officers:
        return
    await conn.execute(
        f"""
        WITH owners AS (
            SELECT client_id, officer_id, valid_from,
                   lead(valid_from) OVER (PARTITION BY client_id ORDER BY valid_from) AS valid_to
            FROM {SCHEMA}.client_owners WHERE client_id = ANY($1::text[])
        ),
        marks AS (
            SELECT o.officer_id, greatest(d.from_date, o.valid_from) AS from_date
            FROM unnest($1::text[], $2::date[]) AS d(client_id, from_date)
            JOIN owners o ON o.client_id = d.client_id AND (o.valid_to IS NULL OR o.valid_to > d.from_date)
            UNION ALL
            SELECT officer_id, from_date FROM unnest($3::text[], $4::date[]) AS m(officer_id, from_date)
        )
        INSERT INTO {SCHEMA}.restatements AS r (officer_id, from_date)
        SELECT officer_id, min(from_date) FROM marks WHERE from_date <= $5 GROUP BY officer_id
        ORDER BY officer_id  -- the lock order of every writer of these rows
        ON CONFLICT (officer_id) DO UPDATE
        SET from_date = least(r.from_date, EXCLUDED.from_date), updates = r.updates + 1
        """,
        [c for c, _ in clients],
        [d for _, d in clients],
        [o for o, _ in officers],
        [d for _, d in officers],
        closed_through,
    )


async def mark_stale(conn: db.Connection, dirty: Dirty) -> None:
    """The clients whose ledger an accepted event changed, each from the first day it changed (appended:
    ingest never waits for the close that consumes the marks)."""
    if dirty.clients:
        await conn.execute(
            f"INSERT INTO {SCHEMA}.stale_clients (client_id, from_date) SELECT * FROM unnest($1::text[], $2::date[])",
            list(dirty.clients),
            list(dirty.clients.values()),
        )


async def queue_officer_history(conn: db.Connection, officer_ids: Sequence[str]) -> None:
    """A new branch or name re-files an officer's whole history: restate it from their first day."""
    if not officer_ids:
        return
    await conn.execute(
        f"""
        INSERT INTO {SCHEMA}.restatements AS r (officer_id, from_date)
        SELECT officer_id, min(business_date) FROM {SCHEMA}.officer_days
        WHERE officer_id = ANY($1::text[]) GROUP BY officer_id ORDER BY officer_id
        ON CONFLICT (officer_id) DO UPDATE
        SET from_date = least(r.from_date, EXCLUDED.from_date), updates = r.updates + 1
        """,
        list(officer_ids),
    )


Restatements = dict[str, tuple[dt.date, int]]
"""officer_id -> (restate from this day, the mark's update count when it was read)."""


async def pending_restatements(conn: db.Connection) -> Restatements:
    """Read without locking: ingest goes on marking officers while the job restates them."""
    rows = await conn.fetch(f"SELECT officer_id, from_date, updates FROM {SCHEMA}.restatements")
    return {r["officer_id"]: (r["from_date"], r["updates"]) for r in rows}


async def done_restatements(conn: db.Connection, done: Restatements) -> None:
    """Delete the marks restated, unless ingest marked them again meanwhile (then they are restated again)."""
    if done:
        await conn.execute(
            f"DELETE FROM {SCHEMA}.restatements r USING unnest($1::text[], $2::bigint[]) AS d(officer_id, updates)"
            " WHERE r.officer_id = d.officer_id AND r.updates = d.updates",
            list(done),
            [updates for _, updates in done.values()],
        )
