"""`pulse demo`: the loan book generator (CONTRACT §2, §5) and the command.

The book's events are checked against the schemas (every one through `parse_event`) and, independently
of the services, against the rules that span events: what the consumers would dead-letter must not be
generated, and the story the demo tells (two deteriorating officers, one reassignment) must be there.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import re
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import pytest

import cli.demo.command as command
from cli.demo.loans import BRANCHES, LoanBook, add_months, build_loan_book, generate_loan_book
from cli.main import main
from shared.events.envelope import Rejected, dumps
from shared.events.registry import parse_event
from shared.kafka.producer import OutboundRecord
from shared.settings import get_settings
from shared.topics import EVENT_TYPES, Topic

pytestmark = pytest.mark.unit

TODAY = dt.date(2025, 11, 20)
LAST_DAY = TODAY - dt.timedelta(days=1)
ZERO = Decimal(0)
ORDER = [
    "officer.upserted",
    "client.registered",
    "client.reassigned",
    "loan.disbursed",
    "loan.repayment_received",
    "loan.written_off",
    "client.exited",
    "business_day.closed",
]
DATE_FIELD = {
    "client.registered": "registered_on",
    "client.reassigned": "effective_on",
    "client.exited": "exited_on",
    "loan.disbursed": "disbursed_on",
    "loan.repayment_received": "paid_on",
    "loan.written_off": "written_off_on",
    "business_day.closed": "business_date",
}


def topic_of(event_type: str) -> Topic:
    if event_type in EVENT_TYPES[Topic.LOAN_EVENTS]:
        return Topic.LOAN_EVENTS
    assert event_type == "business_day.closed"
    return Topic.CONTROL


def business_date(envelope: dict[str, Any], first_day: dt.date) -> dt.date:
    field_name = DATE_FIELD.get(envelope["event_type"])
    return first_day if field_name is None else dt.date.fromisoformat(envelope["data"][field_name])


def places(amount: str) -> int:
    _, _, fraction = amount.partition(".")
    return len(fraction.rstrip("0"))


# --- an independent reading of the book ---------------------------------------------------------------


@dataclass
class LoanState:
    data: dict[str, Any]
    disbursed_on: dt.date
    principal: Decimal
    payments: list[dict[str, Any]] = field(default_factory=list)
    written_off_on: dt.date | None = None


@dataclass
class Book:
    officers: dict[str, dict[str, Any]] = field(default_factory=dict)
    clients: dict[str, dict[str, Any]] = field(default_factory=dict)
    owner: dict[str, str] = field(default_factory=dict)  # client -> officer on the last day
    reassignments: list[dict[str, Any]] = field(default_factory=list)
    exits: dict[str, dt.date] = field(default_factory=dict)
    loans: dict[str, LoanState] = field(default_factory=dict)
    by_type: Counter[str] = field(default_factory=Counter)


def read(events: list[dict[str, Any]]) -> Book:
    book = Book()
    for envelope in events:
        event_type, data = envelope["event_type"], envelope["data"]
        book.by_type[event_type] += 1
        if event_type == "officer.upserted":
            book.officers[data["officer_id"]] = data
        elif event_type == "client.registered":
            book.clients[data["client_id"]] = data
            book.owner[data["client_id"]] = data["officer_id"]
        elif event_type == "client.reassigned":
            book.reassignments.append(data)
            book.owner[data["client_id"]] = data["officer_id"]
        elif event_type == "client.exited":
            book.exits[data["client_id"]] = dt.date.fromisoformat(data["exited_on"])
        elif event_type == "loan.disbursed":
            book.loans[data["loan_id"]] = LoanState(
                data, dt.date.fromisoformat(data["disbursed_on"]), Decimal(data["principal"])
            )
        elif event_type == "loan.repayment_received":
            book.loans[data["loan_id"]].payments.append(data)
        elif event_type == "loan.written_off":
            book.loans[data["loan_id"]].written_off_on = dt.date.fromisoformat(data["written_off_on"])
    return book


@dataclass
class Figures:
    glp: Decimal = ZERO
    par30: Decimal = ZERO
    due: Decimal = ZERO
    covered: Decimal = ZERO

    @property
    def par_30(self) -> Decimal:
        return 100 * self.par30 / self.glp if self.glp else ZERO

    @property
    def collection_rate(self) -> Decimal:
        return 100 * self.covered / self.due if self.due else Decimal(100)


def portfolio_figures(book: Book, day: dt.date) -> dict[str, Figures]:
    """PAR30 and collection rate per officer at the end of `day`, straight from CONTRACT §2 (the owner on
    the last day is taken for every loan: the only reassignment is between two healthy officers)."""
    figures: dict[str, Figures] = defaultdict(Figures)
    for loan in book.loans.values():
        if loan.disbursed_on > day:
            continue
        paid = [p for p in loan.payments if dt.date.fromisoformat(p["paid_on"]) <= day]
        outstanding = loan.principal - sum((Decimal(p["principal"]) for p in paid), start=ZERO)
        written_off = loan.written_off_on is not None and loan.written_off_on <= day
        active = outstanding > 0 and not written_off
        stopped_on = None
        if written_off:
            stopped_on = loan.written_off_on
        elif outstanding == 0:
            stopped_on = max(dt.date.fromisoformat(p["paid_on"]) for p in paid)
        f = figures[book.owner[loan.data["client_id"]]]
        coverage = sum((Decimal(p["principal"]) + Decimal(p["interest"]) for p in paid), start=ZERO)
        days_past_due = 0
        for installment in loan.data["schedule"]:
            due_on = dt.date.fromisoformat(installment["due_on"])
            amount = Decimal(installment["principal"]) + Decimal(installment["interest"])
            covered = min(amount, max(ZERO, coverage))
            coverage -= amount
            if due_on < day and covered < amount and not days_past_due:
                days_past_due = (day - due_on).days
            still_due = stopped_on is None or due_on <= stopped_on
            if day - dt.timedelta(days=30) < due_on <= day and still_due:
                f.due += amount
                f.covered += covered
        if active:
            f.glp += outstanding
            if days_past_due > 30:
                f.par30 += outstanding
    return figures


# --- fixtures ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def loan_book() -> LoanBook:
    started = time.perf_counter()
    generated = build_loan_book(7, today=TODAY)
    elapsed = time.perf_counter() - started
    print(f"\ndefault loan book: {len(generated.events)} events generated in {elapsed:.2f} s")
    return generated


@pytest.fixture(scope="module")
def events(loan_book: LoanBook) -> list[dict[str, Any]]:
    return loan_book.events


@pytest.fixture(scope="module")
def book(events: list[dict[str, Any]]) -> Book:
    return read(events)


# --- schemas and envelopes ---------------------------------------------------------------------------


def test_every_event_is_accepted_by_the_schemas(events: list[dict[str, Any]]) -> None:
    started = time.perf_counter()
    rejected = []
    for envelope in events:
        try:
            parse_event(topic_of(envelope["event_type"]), dumps(envelope))
        except Rejected as exc:
            rejected.append(f"{envelope['event_id']} {envelope['event_type']}: {exc}")
    print(f"\n{len(events)} events parsed in {time.perf_counter() - started:.2f} s")
    assert not rejected, rejected[:10]


def test_envelopes_are_stable_and_in_business_order(loan_book: LoanBook, events: list[dict[str, Any]]) -> None:
    ids = [e["event_id"] for e in events]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"demo-loan-[0-9]+", i) for i in ids)
    assert {e["source"] for e in events} == {"demo"}
    keys = []
    for envelope in events:
        day = business_date(envelope, loan_book.first_day)
        assert envelope["occurred_at"][:10] == day.isoformat(), envelope
        assert envelope["occurred_at"].endswith("Z")
        assert loan_book.first_day <= day <= LAST_DAY, envelope
        keys.append((day, ORDER.index(envelope["event_type"])))
    assert keys == sorted(keys), "sorted by business date, then registrations < … < exits"
    stamps = [dt.datetime.fromisoformat(e["occurred_at"].replace("Z", "+00:00")) for e in events]
    assert stamps == sorted(stamps), "occurred_at follows the order"
    assert len(set(stamps)) == len(stamps)
    last = events[-1]
    assert last["event_type"] == "business_day.closed"
    assert last["data"] == {"business_date": LAST_DAY.isoformat()}
    assert sum(e["event_type"] == "business_day.closed" for e in events) == 1
    assert loan_book.first_day.weekday() < 5


def test_same_seed_same_book_other_seed_other_book() -> None:
    def small(seed: int) -> list[dict[str, Any]]:
        return generate_loan_book(seed, today=TODAY, months=6, clients=300, loans=500)

    first = small(3)
    assert dumps(first) == dumps(small(3))
    assert dumps(first) != dumps(small(4))


def test_generate_loan_book_is_the_books_events(loan_book: LoanBook) -> None:
    assert generate_loan_book(today=TODAY) == loan_book.events


# --- the rules across events -------------------------------------------------------------------------


def test_no_event_breaks_a_rule_the_services_check(book: Book) -> None:
    registered_on = {c: dt.date.fromisoformat(d["registered_on"]) for c, d in book.clients.items()}
    first_loan: dict[str, dt.date] = {}
    payment_ids: set[str] = set()
    for loan_id, loan in book.loans.items():
        client = loan.data["client_id"]
        assert client in book.clients, loan_id
        assert registered_on[client] < loan.disbursed_on, loan_id
        assert client not in book.exits or loan.disbursed_on < book.exits[client]
        first_loan[client] = min(first_loan.get(client, loan.disbursed_on), loan.disbursed_on)
        paid = ZERO
        previous_on = None
        for payment in loan.payments:
            assert payment["payment_id"] not in payment_ids
            payment_ids.add(payment["payment_id"])
            paid_on = dt.date.fromisoformat(payment["paid_on"])
            assert payment["client_id"] == client
            assert loan.disbursed_on <= paid_on <= LAST_DAY, payment
            assert previous_on is None or previous_on < paid_on, "in date order, one a day"
            previous_on = paid_on
            amounts = [Decimal(payment[k]) for k in ("principal", "interest", "fees")]
            assert all(a >= 0 for a in amounts), payment
            assert any(amounts), payment
            assert all(places(payment[k]) <= 2 for k in ("principal", "interest", "fees")), payment
            paid += amounts[0]
            assert paid <= loan.principal, f"{loan_id}: more principal than outstanding on {paid_on}"
            if loan.written_off_on is not None:
                assert paid_on < loan.written_off_on, payment
        if loan.written_off_on is not None:
            assert loan.disbursed_on < loan.written_off_on <= LAST_DAY
            assert paid < loan.principal, "something is left to write off"
    assert set(first_loan) <= set(book.clients)

    # One loan at a time: the next one only after the previous one is repaid, none after a write-off.
    by_client: dict[str, list[LoanState]] = defaultdict(list)
    for loan in book.loans.values():
        by_client[loan.data["client_id"]].append(loan)
    for client, loans in by_client.items():
        loans.sort(key=lambda loan: loan.disbursed_on)
        for before, after in itertools.pairwise(loans):
            repaid = sum((Decimal(p["principal"]) for p in before.payments), start=ZERO)
            assert repaid == before.principal, f"{client}: a new loan before the previous one is repaid"
            repaid_on = max(dt.date.fromisoformat(p["paid_on"]) for p in before.payments)
            assert repaid_on < after.disbursed_on
            assert before.written_off_on is None

    # Exits come after the client's loans are done.
    for client, exited_on in book.exits.items():
        assert exited_on > registered_on[client]
        for loan in by_client.get(client, []):
            assert loan.written_off_on is None
            assert sum((Decimal(p["principal"]) for p in loan.payments), start=ZERO) == loan.principal
            assert all(dt.date.fromisoformat(p["paid_on"]) < exited_on for p in loan.payments)


def test_schedules_follow_the_lenders_products(book: Book) -> None:
    weekly = monthly = 0
    for loan in book.loans.values():
        principal = loan.principal
        assert Decimal(5_000) <= principal <= Decimal(50_000)
        assert principal % 500 == 0
        schedule = loan.data["schedule"]
        dues = [dt.date.fromisoformat(i["due_on"]) for i in schedule]
        gaps = {(b - a).days for a, b in zip([loan.disbursed_on, *dues], dues, strict=False)}
        assert sum((Decimal(i["principal"]) for i in schedule), start=ZERO) == principal
        assert all(places(i["principal"]) <= 2 and places(i["interest"]) <= 2 for i in schedule)
        assert len({i["interest"] for i in schedule}) == 1, "flat interest, evenly spread"
        assert len({i["principal"] for i in schedule[:-1]}) <= 1, "the last installment absorbs the rounding"
        if gaps == {7}:
            weekly += 1
            assert 12 <= len(schedule) <= 26
        else:
            monthly += 1
            assert 6 <= len(schedule) <= 12
            assert dues == [add_months(loan.disbursed_on, k) for k in range(1, len(dues) + 1)]
        monthly_rate = Decimal(schedule[0]["interest"]) / principal * (Decimal(30) / 7 if gaps == {7} else 1)
        assert Decimal("0.0199") <= monthly_rate <= Decimal("0.0301")
    assert weekly > monthly > 0


def test_month_ends_in_monthly_schedules() -> None:
    assert add_months(dt.date(2025, 1, 31), 1) == dt.date(2025, 2, 28)
    assert add_months(dt.date(2024, 1, 31), 1) == dt.date(2024, 2, 29)
    assert add_months(dt.date(2025, 1, 31), 2) == dt.date(2025, 3, 31)
    assert add_months(dt.date(2025, 11, 30), 3) == dt.date(2026, 2, 28)
    assert add_months(dt.date(2025, 3, 15), -13) == dt.date(2024, 2, 15)


def test_repayment_behaviours_are_all_there(book: Book) -> None:
    on_time = late = partial = prepaid = with_fee = 0
    for loan in book.loans.values():
        schedule = loan.data["schedule"]
        dues = {i["due_on"] for i in schedule}
        installment_amount = Decimal(schedule[0]["principal"]) + Decimal(schedule[0]["interest"])
        for payment in loan.payments:
            amount = Decimal(payment["principal"]) + Decimal(payment["interest"])
            on_time += payment["paid_on"] in dues and amount == installment_amount
            late += payment["paid_on"] not in dues
            partial += payment["paid_on"] in dues and amount < installment_amount
            with_fee += Decimal(payment["fees"]) > 0
        if loan.payments and loan.written_off_on is None:
            last = loan.payments[-1]
            repaid = sum((Decimal(p["principal"]) for p in loan.payments), start=ZERO) == loan.principal
            prepaid += repaid and last["paid_on"] < schedule[-2]["due_on"]
    print(
        f"\npayments on time {on_time}, late {late}, partial {partial}, with a fee {with_fee}; prepaid loans {prepaid}"
    )
    total = book.by_type["loan.repayment_received"]
    assert on_time > 0.6 * total
    assert late > 0.05 * total
    assert partial > 0.01 * total
    assert with_fee > 50
    assert prepaid > 0.02 * len(book.loans)


# --- the shape of the book ---------------------------------------------------------------------------


def test_branches_officers_and_team_leaders(book: Book) -> None:
    officers = book.officers.values()
    assert {o["branch_id"] for o in officers} == set(BRANCHES) == {"BR-NORTH", "BR-CENTRAL", "BR-SOUTH"}
    roles = Counter((o["branch_id"], o["role"]) for o in officers)
    for branch in BRANCHES:
        assert roles[(branch, "loan_officer")] == 10
        assert roles[(branch, "team_leader")] == 1
    emails = [o["email"] for o in officers]
    assert len(set(emails)) == len(emails)
    for o in officers:
        first, last = o["name"].lower().split(" ")
        assert o["email"] == f"{first}.{last}@pulse-demo.example"
    leaders = {o["officer_id"] for o in officers if o["role"] == "team_leader"}
    owners = {c["officer_id"] for c in book.clients.values()}
    assert not owners & leaders, "team leaders own no clients"
    assert owners == set(book.officers) - leaders, "every loan officer has clients"


def test_clients_and_loans_near_their_targets(loan_book: LoanBook, book: Book) -> None:
    counts = dict(book.by_type)
    print(f"\nevents per type: {counts}; {loan_book.first_day} .. {loan_book.last_day}")
    assert 2_700 <= len(book.clients) <= 3_300
    assert 4_500 <= len(book.loans) <= 5_500
    written_off = counts.get("loan.written_off", 0)
    assert 0.015 * len(book.loans) <= written_off <= 0.035 * len(book.loans)
    assert 0.03 * len(book.clients) <= len(book.exits) <= 0.07 * len(book.clients)
    middle = loan_book.first_day + (loan_book.last_day - loan_book.first_day) / 2
    early = sum(dt.date.fromisoformat(c["registered_on"]) < middle for c in book.clients.values())
    assert early > 0.6 * len(book.clients), "more clients register early on"
    assert loan_book.first_day == dt.date(2024, 10, 21)  # TODAY − 13 months (a Sunday) → the Monday after
    assert loan_book.last_day == LAST_DAY


def test_one_client_with_a_running_loan_is_reassigned_within_the_branch(loan_book: LoanBook, book: Book) -> None:
    assert len(book.reassignments) == 1
    moved = book.reassignments[0]
    client = moved["client_id"]
    assert client == loan_book.reassigned_client
    assert client in book.clients
    assert client not in book.exits
    before, after = book.clients[client]["officer_id"], moved["officer_id"]
    assert (before, after) == (loan_book.reassigned_from, loan_book.reassigned_to)
    assert before != after
    assert book.officers[before]["branch_id"] == book.officers[after]["branch_id"]
    assert book.officers[after]["role"] == "loan_officer"
    effective_on = dt.date.fromisoformat(moved["effective_on"])
    span = (loan_book.last_day - loan_book.first_day).days
    assert abs((effective_on - loan_book.first_day).days - span / 2) <= 3, "mid-way through the period"
    running = [
        loan
        for loan in book.loans.values()
        if loan.data["client_id"] == client
        and loan.disbursed_on < effective_on
        and sum(
            (Decimal(p["principal"]) for p in loan.payments if dt.date.fromisoformat(p["paid_on"]) <= effective_on),
            start=ZERO,
        )
        < loan.principal
    ]
    assert running, "the client has an active loan when moved"
    assert not {before, after} & set(loan_book.deteriorating_officers)


def test_two_officers_deteriorate_in_the_last_two_months(loan_book: LoanBook, book: Book) -> None:
    worst = loan_book.deteriorating_officers
    assert len(worst) == 2
    assert {book.officers[o]["branch_id"] for o in worst} == {"BR-NORTH", "BR-SOUTH"}
    at_end = portfolio_figures(book, LAST_DAY)
    before = portfolio_figures(book, LAST_DAY - dt.timedelta(days=61))
    for officer in sorted(at_end):
        f, b = at_end[officer], before[officer]
        mark = "  <- deteriorating" if officer in worst else ""
        print(
            f"{officer:13} GLP {f.glp:>12.2f}  PAR30 {f.par_30:6.2f} (60 days earlier {b.par_30:6.2f})  "
            f"collection {f.collection_rate:6.2f} (60 days earlier {b.collection_rate:6.2f}){mark}"
        )
    for officer in worst:
        assert at_end[officer].par_30 > 15, officer
        assert at_end[officer].collection_rate < 80, officer
        assert before[officer].par_30 < 15, "a deterioration"
        assert before[officer].collection_rate > 80, "a deterioration"
    for officer, f in at_end.items():
        if officer not in worst:
            assert f.par_30 < 15, f"only the two deteriorate: {officer}"
            assert f.collection_rate > 80, f"only the two deteriorate: {officer}"


def test_a_small_book_is_valid_too() -> None:
    events = generate_loan_book(1, today=dt.date(2026, 3, 2), months=2, officers_per_branch=2, clients=40, loans=50)
    for envelope in events:
        parse_event(topic_of(envelope["event_type"]), dumps(envelope))
    assert events[-1]["data"] == {"business_date": "2026-03-01"}
    assert all(e["occurred_at"][:10] <= "2026-03-01" for e in events)


# --- the command -------------------------------------------------------------------------------------


@pytest.fixture
def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    """The command on a small loan book (the default one is tested above)."""
    monkeypatch.setattr(command, "PARTS", {"loans": "tests.unit.demo.test_loan_demo:small_book"})


def small_book(seed: int, *, today: dt.date) -> list[dict[str, Any]]:
    return generate_loan_book(seed, today=today, months=3, officers_per_branch=3, clients=60, loans=80)


def test_demo_out_writes_json_lines_pulse_publish_reads(
    small_parts: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "demo.jsonl"
    assert main(["demo", "--seed", "5", "--today", "2025-11-20", "--out", str(out), "--part", "loans"]) == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    expected = small_book(5, today=TODAY)
    assert len(lines) == len(expected)
    for line, envelope in zip(lines, expected, strict=True):
        value = json.loads(line)
        assert value.pop("topic") == str(topic_of(envelope["event_type"]))
        assert value == envelope
    printed = capsys.readouterr().out
    assert f"wrote {len(expected)} envelopes" in printed
    assert "loan.disbursed" in printed


def test_demo_reports_a_part_missing_from_parts(small_parts: None, capsys: pytest.CaptureFixture[str]) -> None:
    # `small_parts` lists the loans only: a known part without a generator is reported, nothing written.
    assert main(["demo", "--part", "wealth", "--out", "/nonexistent/never-written.jsonl"]) == 1
    assert "wealth demo data not available yet" in capsys.readouterr().err


def test_demo_rejects_a_bad_date(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--today", "20-11-2025"]) == 2
    assert "not a date" in capsys.readouterr().err


class FakeProducer:
    sent: ClassVar[list[list[OutboundRecord]]] = []

    def __init__(self, bootstrap_servers: str, *, client_id: str, service: str) -> None:
        pass

    async def __aenter__(self) -> FakeProducer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def send_all(self, records: list[OutboundRecord]) -> None:
        self.sent.append(list(records))


@pytest.fixture
def prefixed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("PULSE_TOPIC_PREFIX", "demo-test.")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_demo_publishes_in_order_under_the_contracts_keys(
    small_parts: None, prefixed: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    FakeProducer.sent = []
    monkeypatch.setattr(command, "Producer", FakeProducer)
    monkeypatch.setattr(command, "CHUNK", 100)
    assert main(["demo", "--today", "2025-11-20", "--no-wait"]) == 0
    expected = small_book(7, today=TODAY)
    records = [r for chunk in FakeProducer.sent for r in chunk]
    data_events = len(expected) - 1
    # The data in chunks of 100, then the day close on its own.
    assert len(FakeProducer.sent) == -(-data_events // 100) + 1
    assert [json.loads(r.value) for r in records] == expected
    for record, envelope in zip(records, expected, strict=True):
        data = envelope["data"]
        if envelope["event_type"] == "business_day.closed":
            assert (record.topic, record.key) == ("demo-test.control", data["business_date"].encode())
        else:
            key = data["officer_id"] if envelope["event_type"] == "officer.upserted" else data["client_id"]
            assert (record.topic, record.key) == ("demo-test.loan-events", key.encode())
    captured = capsys.readouterr()
    assert f"published {data_events}/{data_events}" in captured.out
    assert f"{data_events} published to demo-test.loan-events" in captured.out
    assert "1 published to demo-test.control" in captured.out
    assert "wealth demo data not available yet" in captured.err  # `small_parts` lists the loans only


def test_demo_waits_until_the_read_model_holds_everything_the_close_included(
    small_parts: None, prefixed: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    FakeProducer.sent = []
    monkeypatch.setattr(command, "Producer", FakeProducer)
    waits: list[tuple[str, str, int]] = []

    async def caught_up(bootstrap: str, group: str, topic: str, *, within: float) -> int:
        waits.append((group, topic, len(FakeProducer.sent)))
        return 0

    monkeypatch.setattr(command, "wait_caught_up", caught_up)
    assert main(["demo", "--today", "2025-11-20"]) == 0
    # The snapshotter's inputs, then each service after it in the order the read model is built.
    assert [(group, topic) for group, topic, _ in waits] == [
        ("demo-test.pulse.snapshotter.control", "demo-test.control"),
        ("demo-test.pulse.snapshotter.loan-events", "demo-test.loan-events"),
        ("demo-test.pulse.returns.snapshots", "demo-test.snapshots"),
        ("demo-test.pulse.aggregator.snapshots", "demo-test.snapshots"),
        ("demo-test.pulse.aggregator.returns", "demo-test.returns"),
        ("demo-test.pulse.alerter.aggregates", "demo-test.aggregates"),
        ("demo-test.pulse.aggregator.alerts", "demo-test.alerts"),
    ]
    assert {sent for _, _, sent in waits} == {len(FakeProducer.sent)}  # after everything was published
    assert [r.topic for r in FakeProducer.sent[-1]] == ["demo-test.control"]  # the close last


def test_register_adds_the_demo_command() -> None:
    parser = argparse.ArgumentParser()
    command.register(parser.add_subparsers())
    args = parser.parse_args(["demo"])
    assert (args.seed, args.out, args.part, args.today) == (7, None, "all", None)
