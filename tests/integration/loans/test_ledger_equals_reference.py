"""The close from the ledger equals the reference close, which recomputes every live loan from its whole
history for each day (`tests/support/loans_reference.py`, the statement the ledger replaced), on generated
books: delivered in order, and delivered late with corrections of every kind after days were closed.

Book A is closed the way the service closes (ledger, restatements); book B holds the same events ingested in
the same batches (so the same rejections) and is closed day by day with the reference. Every value of every
officer day must agree, and both must have the same officer days.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

import pytest

from cli.demo.loans import generate_loan_book
from tests.integration.loans.conftest import BookFactory
from tests.integration.loans.test_restatement import values
from tests.support.loans_reference import reference_day
from tests.support.snapshotter import SnapshotterHarness, event

pytestmark = pytest.mark.integration

D = dt.date
TODAY = D(2025, 7, 1)
LAST = TODAY - dt.timedelta(days=1)
MIDWAY = D(2025, 3, 31)
BATCH = 400


def demo_events(seed: int) -> list[dict[str, Any]]:
    events = generate_loan_book(seed, today=TODAY, months=13, officers_per_branch=2, clients=160, loans=260)
    return [e for e in events if e["event_type"] != "business_day.closed"]


def corrections(events: list[dict[str, Any]], seed: int) -> list[dict[str, Any]]:
    """Late corrections of every kind the book accepts, drawn from the book (some may be rejected: both books
    reject the same ones)."""
    draw = random.Random(seed)
    data = [e["data"] for e in events]
    repayments = [d for d in data if "payment_id" in d]
    loans = [d for d in data if "schedule" in d]
    clients = [d for d in data if "registered_on" in d]
    officers = sorted({d["officer_id"] for d in clients})

    def shifted(day: str, days: int) -> dt.date:
        return D.fromisoformat(day) + dt.timedelta(days=days)

    out = []
    for p in draw.sample(repayments, 25):  # a payment's date and amount corrected
        half = (Decimal(p["principal"]) / 2).quantize(Decimal("0.01"))
        out.append(event("loan.repayment_received", **(p | {"paid_on": shifted(p["paid_on"], draw.randint(-6, 6)),
                                                           "principal": str(half)})))  # fmt: skip
    for p in draw.sample(repayments, 6):  # a payment moved onto another client's loan
        other = draw.choice(loans)
        out.append(event("loan.repayment_received", **(p | {"loan_id": other["loan_id"],
                                                           "client_id": other["client_id"]})))  # fmt: skip
    for c in draw.sample(clients, 6):  # a registration corrected: another officer, a few days earlier
        out.append(event("client.registered", client_id=c["client_id"], officer_id=draw.choice(officers),
                         registered_on=shifted(c["registered_on"], -draw.randint(1, 4))))  # fmt: skip
    for c in draw.sample(clients, 12):  # reassignments, some to days long closed
        out.append(event("client.reassigned", client_id=c["client_id"], officer_id=draw.choice(officers),
                         effective_on=shifted(c["registered_on"], draw.randint(0, 200))))  # fmt: skip
    for c in draw.sample(clients, 5):  # exits, one of them corrected to an earlier day
        out.append(event("client.exited", client_id=c["client_id"], exited_on=shifted(c["registered_on"], 150)))
    out.append(event("client.exited", client_id=out[-1]["data"]["client_id"],
                     exited_on=shifted(out[-1]["data"]["exited_on"], -40)))  # fmt: skip
    for loan in draw.sample(loans, 5):  # write-offs, one corrected to an earlier day
        out.append(event("loan.written_off", loan_id=loan["loan_id"], client_id=loan["client_id"],
                         written_off_on=shifted(loan["disbursed_on"], 100)))  # fmt: skip
    out.append(
        event(
            "loan.written_off",
            **(out[-1]["data"] | {"written_off_on": shifted(out[-1]["data"]["written_off_on"], -30)}),
        )
    )
    draw.shuffle(out)
    firsts: dict[str, str] = {}
    for loan in loans:
        firsts[loan["client_id"]] = min(loan["disbursed_on"], firsts.get(loan["client_id"], loan["disbursed_on"]))
    later = [
        c for c in clients if shifted(c["registered_on"], 3) < D.fromisoformat(firsts.get(c["client_id"], "9999-01-01"))
    ]
    for c in draw.sample(later, 4):  # a reassignment, then the registration corrected to a later day (and officer)
        out.append(event("client.reassigned", client_id=c["client_id"], officer_id=draw.choice(officers),
                         effective_on=shifted(c["registered_on"], 1)))  # fmt: skip
        out.append(event("client.registered", client_id=c["client_id"], officer_id=draw.choice(officers),
                         registered_on=shifted(c["registered_on"], 2)))  # fmt: skip
    return out


async def ingest(books: list[SnapshotterHarness], events: list[dict[str, Any]]) -> int:
    """Ingest in batches into each book; the events rejected (the same in each)."""
    rejected = []
    for book in books:
        codes: dict[str, str] = {}
        for start in range(0, len(events), BATCH):
            codes |= (await book.ingest(*events[start : start + BATCH])).rejected
        rejected.append(codes)
    assert all(r == rejected[0] for r in rejected)
    return len(rejected[0])


async def close_by_reference(book: SnapshotterHarness, last: dt.date) -> None:
    async with book.pool.acquire() as conn, conn.transaction():
        first = await conn.fetchval(
            "SELECT least((SELECT min(registered_on) FROM snapshotter.clients),"
            " (SELECT min(disbursed_on) FROM snapshotter.loans))"
        )
        day = first
        while day <= last:
            await reference_day(conn, "snapshotter", day)
            day += dt.timedelta(days=1)


async def assert_same_days(ledger: SnapshotterHarness, reference: SnapshotterHarness) -> None:
    got, expected = values(await ledger.all_days()), values(await reference.all_days())
    assert len(expected) > 2000, "the book is big enough to mean something"
    assert got.keys() == expected.keys()
    wrong = sorted(k for k in expected if got[k] != expected[k])
    assert not wrong, f"{len(wrong)} officer days differ, the first: {wrong[:5]}"


@pytest.mark.parametrize("seed", [3, 11])
async def test_in_order_books_close_as_the_reference(new_book: BookFactory, seed: int) -> None:
    ledger, reference = await new_book(), await new_book()
    assert await ingest([ledger, reference], demo_events(seed)) == 0
    # A first close over months, then day by day for a while (each close extends the ledger by one day: the
    # installments due, leaving the window or crossing a PAR threshold that day), then the rest at once.
    await ledger.close(MIDWAY)
    for n in range(1, 61):
        await ledger.close(MIDWAY + dt.timedelta(days=n))
    await ledger.close(LAST)
    await close_by_reference(reference, LAST)
    await assert_same_days(ledger, reference)


@pytest.mark.parametrize("seed", [5, 17])
async def test_late_and_corrected_books_restate_as_the_reference(new_book: BookFactory, seed: int) -> None:
    events = demo_events(seed)
    # Held back until after the midway close: a third of the repayments, every write-off and exit.
    draw = random.Random(seed)
    held = [
        e
        for e in events
        if e["event_type"] in {"loan.written_off", "client.exited"}
        or (e["event_type"] == "loan.repayment_received" and draw.random() < 1 / 3)
    ]
    early = [e for e in events if e not in held]
    late = held + corrections(events, seed)

    ledger, reference = await new_book(), await new_book()
    assert await ingest([ledger, reference], early) == 0
    await ledger.close(MIDWAY)
    rejected = await ingest([ledger, reference], late)
    assert rejected < len(late) // 4, "most corrections are accepted"
    assert await ledger.restate(), "late events restate closed days"
    await ledger.close(LAST)
    await close_by_reference(reference, LAST)
    await assert_same_days(ledger, reference)
