"""A close covers at most `PULSE_CLOSE_MAX_DAYS` days per transaction: a first close of a year of history
goes in several, each continued by the `business_day.closed` it emits, and ends as one close would."""

from __future__ import annotations

import math

import pytest

from services.snapshotter.loans import store
from tests.conftest import BookFactory
from tests.integration.loans.test_ledger_equals_reference import LAST, assert_same_days, demo_events, ingest

pytestmark = pytest.mark.integration


async def test_a_year_long_close_goes_in_transactions_of_at_most_100_days_and_equals_one_close(
    new_book: BookFactory,
) -> None:
    whole, book = await new_book(), await new_book()
    assert await ingest([whole, book], demo_events(3)) == 0
    async with book.pool.acquire() as conn:
        first = await store.first_business_date(conn)
    assert first is not None
    days = (LAST - first).days + 1
    assert days > 300

    in_one = await whole.close(LAST)
    chunked = book.closing_at_most(100)
    ledger = await chunked.close(LAST)
    snapshots, transactions = 0, 1
    while True:
        snapshots += sum(e["event_type"] == "loan_snapshot.created" for e in ledger.emitted)
        continued = [e for e in ledger.emitted if e["event_type"] == "business_day.closed"]
        if not continued:
            break
        assert [e["data"] for e in continued] == [{"business_date": LAST.isoformat()}]
        async with book.pool.acquire() as conn:
            closed = await store.last_closed(conn)
        assert closed is not None
        assert (closed - first).days + 1 == 100 * transactions  # each transaction closed 100 more days
        ledger = await chunked.control(*continued)
        transactions += 1

    assert transactions == math.ceil(days / 100)
    assert snapshots == sum(e["event_type"] == "loan_snapshot.created" for e in in_one.emitted)
    await assert_same_days(book, whole)
