"""`pulse demo`: the wealth book generator (CONTRACT §3, §5) and its part in the command.

Every event is checked against the schemas (through `parse_event`), and the book is read back independently
of the generator: valuations every business day from onboarding, flows with the right signs and reflected in
the valuations, values that move like markets do, and the three wrinkles (a restated valuation, a late
flow, a client who withdraws almost everything).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest

import cli.demo.command as command
from cli.demo.wealth import ASSET_CLASSES, CUSTODIANS, WealthBook, build_wealth_book, generate_wealth_book, isin
from cli.main import main
from shared.events.envelope import Rejected, dumps
from shared.events.registry import parse_event
from shared.settings import get_settings
from shared.topics import Topic
from tests.unit.demo.test_loan_demo import FakeProducer
from tests.unit.demo.test_loan_demo import small_book as small_loan_book

pytestmark = pytest.mark.unit

TODAY = dt.date(2025, 11, 20)
LAST_DAY = TODAY - dt.timedelta(days=1)  # a Wednesday
ZERO = Decimal(0)
CENT = Decimal("0.01")
RANK = {"client.onboarded": 0, "cash_flow.recorded": 1, "portfolio.valued": 2}
MAX_DAILY_MOVE = Decimal("0.05")


def business_date(envelope: dict[str, Any]) -> dt.date:
    data = envelope["data"]
    if envelope["event_type"] == "portfolio.valued":
        return dt.date.fromisoformat(data["as_of"])
    if envelope["event_type"] == "cash_flow.recorded":
        return dt.date.fromisoformat(data["flow_date"])
    return dt.date.fromisoformat(envelope["occurred_at"][:10])


def stamp(envelope: dict[str, Any]) -> dt.datetime:
    return dt.datetime.fromisoformat(envelope["occurred_at"].replace("Z", "+00:00"))


def places(amount: str) -> int:
    _, _, fraction = amount.partition(".")
    return len(fraction)


def weekdays(first: dt.date, last: dt.date) -> list[dt.date]:
    days = (first + dt.timedelta(days=n) for n in range((last - first).days + 1))
    return [day for day in days if day.weekday() < 5]


def total(valuation: dict[str, Any]) -> Decimal:
    return sum((Decimal(p["market_value"]) for p in valuation["positions"]), start=ZERO)


# --- an independent reading of the book ---------------------------------------------------------------


@dataclass
class Book:
    onboarded: dict[str, dt.date] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    valuations: dict[tuple[str, dt.date], list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    """Every `portfolio.valued` envelope of a client and date, in arrival order."""
    flows: list[dict[str, Any]] = field(default_factory=list)
    by_type: Counter[str] = field(default_factory=Counter)

    def latest(self, client: str, day: dt.date) -> dict[str, Any]:
        """The valuation that counts: the last one by `occurred_at` (CONTRACT §3)."""
        data: dict[str, Any] = max(self.valuations[(client, day)], key=stamp)["data"]
        return data

    def days_of(self, client: str) -> list[dt.date]:
        return sorted(day for c, day in self.valuations if c == client)

    def flows_of(self, client: str) -> dict[dt.date, list[dict[str, Any]]]:
        by_day: dict[dt.date, list[dict[str, Any]]] = defaultdict(list)
        for flow in self.flows:
            if flow["client_id"] == client:
                by_day[dt.date.fromisoformat(flow["flow_date"])].append(flow)
        return by_day


def read(events: list[dict[str, Any]]) -> Book:
    book = Book()
    for envelope in events:
        event_type, data = envelope["event_type"], envelope["data"]
        book.by_type[event_type] += 1
        if event_type == "client.onboarded":
            book.onboarded[data["client_id"]] = business_date(envelope)
            book.names[data["client_id"]] = data["name"]
        elif event_type == "portfolio.valued":
            book.valuations[(data["client_id"], business_date(envelope))].append(envelope)
        else:
            book.flows.append(data)
    return book


# --- fixtures ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def wealth_book() -> WealthBook:
    return build_wealth_book(3, today=TODAY, months=4, clients=30)


@pytest.fixture(scope="module")
def events(wealth_book: WealthBook) -> list[dict[str, Any]]:
    return wealth_book.events


@pytest.fixture(scope="module")
def book(events: list[dict[str, Any]]) -> Book:
    return read(events)


# --- schemas and envelopes ---------------------------------------------------------------------------


def test_every_event_is_accepted_by_the_schemas(events: list[dict[str, Any]]) -> None:
    rejected = []
    for envelope in events:
        try:
            parse_event(Topic.WEALTH_EVENTS, dumps(envelope))
        except Rejected as exc:
            rejected.append(f"{envelope['event_id']} {envelope['event_type']}: {exc}")
    assert not rejected, rejected[:10]
    assert set(Counter(e["event_type"] for e in events)) == set(RANK)


def test_envelopes_are_stable_and_in_business_order(wealth_book: WealthBook, events: list[dict[str, Any]]) -> None:
    ids = [e["event_id"] for e in events]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"demo-wealth-[0-9]+", i) for i in ids)
    assert {e["source"] for e in events} == {"demo-custody"}
    stamps = [stamp(e) for e in events]
    assert all(a < b for a, b in itertools.pairwise(stamps)), "occurred_at strictly increasing"
    assert all(e["occurred_at"].endswith("Z") for e in events)

    in_order, late = events[:-2], events[-2:]
    keys = []
    for envelope in in_order:
        day = business_date(envelope)
        assert envelope["occurred_at"][:10] == day.isoformat(), envelope["event_id"]
        keys.append((day, RANK[envelope["event_type"]]))
    assert keys == sorted(keys), "sorted by business date, then onboardings < cash flows < valuations"
    # The deliberate late ones arrive on the last business day, after everything else.
    assert [e["event_type"] for e in late] == ["portfolio.valued", "cash_flow.recorded"]
    for envelope in late:
        assert envelope["occurred_at"][:10] == wealth_book.last_day.isoformat()
        assert business_date(envelope) < wealth_book.last_day - dt.timedelta(days=14), "dated weeks earlier"


def test_same_seed_same_book_other_seed_other_book() -> None:
    def small(seed: int) -> list[dict[str, Any]]:
        return generate_wealth_book(seed, today=TODAY, months=2, clients=8)

    first = small(3)
    assert dumps(first) == dumps(small(3))
    assert dumps(first) != dumps(small(4))


def test_generate_wealth_book_is_the_books_events(wealth_book: WealthBook) -> None:
    assert generate_wealth_book(3, today=TODAY, months=4, clients=30) == wealth_book.events


# --- clients and valuations --------------------------------------------------------------------------


def test_clients_are_onboarded_over_the_first_months(wealth_book: WealthBook, book: Book) -> None:
    assert wealth_book.first_day == dt.date(2025, 7, 21)  # TODAY − 4 months, a Sunday → the Monday after
    assert wealth_book.last_day == LAST_DAY
    assert list(book.onboarded) == list(wealth_book.client_ids)
    assert len(book.onboarded) == 30
    assert len(set(book.names.values())) == 30, "no namesakes"
    onboarding = sorted(book.onboarded.values())
    assert onboarding[0] == wealth_book.first_day
    span = (LAST_DAY - wealth_book.first_day).days
    assert all((day - wealth_book.first_day).days <= 0.35 * span for day in onboarding)
    for envelope in wealth_book.events:
        if envelope["event_type"] == "client.onboarded":
            assert envelope["data"]["base_currency"] == "USD"


def test_valuations_every_business_day_from_onboarding(wealth_book: WealthBook, book: Book) -> None:
    assert all(day.weekday() < 5 for _, day in book.valuations)
    assert all(wealth_book.first_day <= day < TODAY for _, day in book.valuations), "nothing dated >= today"
    for client, onboarded_on in book.onboarded.items():
        assert book.days_of(client) == weekdays(onboarded_on, LAST_DAY), client
    expected = sum(len(weekdays(day, LAST_DAY)) for day in book.onboarded.values())
    assert book.by_type["portfolio.valued"] == expected + 1, "one valuation a business day, and one restatement"


def test_positions_look_like_a_custody_statement(book: Book, wealth_book: WealthBook) -> None:
    classes: dict[str, str] = {}
    custodians: set[str] = set()
    seen_classes: set[str] = set()
    equities_with_income = equities_without_income = 0
    for (client, day), envelopes in book.valuations.items():
        for envelope in envelopes:
            positions = envelope["data"]["positions"]
            if client == wealth_book.liquidating_client and day >= (wealth_book.liquidated_on or day):
                assert [p["asset_class"] for p in positions] == ["Cash"], "sold out, a little cash left"
            else:
                assert 3 <= len(positions) <= 12, (client, day)
            ids = [p["instrument_id"] for p in positions]
            assert len(set(ids)) == len(ids)
            for p in positions:
                assert re.fullmatch(r"[A-Z0-9]{10,12}", p["instrument_id"]), p
                assert classes.setdefault(p["instrument_id"], p["asset_class"]) == p["asset_class"], "stable ids"
                custodians.add(p["custodian"])
                seen_classes.add(p["asset_class"])
                assert places(p["market_value"]) <= 2, p
                assert Decimal(p["market_value"]) > 0, p
                if p["asset_class"] == "Cash":
                    assert set(p) == {"instrument_id", "asset_class", "custodian", "market_value", "est_annual_income"}
                    continue
                assert isin(p["instrument_id"][:2], p["instrument_id"][2:11]) == p["instrument_id"], "ISIN check digit"
                assert Decimal(p["quantity"]) > 0
                assert Decimal(p["price"]) > 0
                if p["asset_class"] == "Fixed Income":
                    assert 2026 <= dt.date.fromisoformat(p["maturity_date"]).year <= 2040, p
                    assert Decimal(p["est_annual_income"]) > 0, "the coupon"
                    face_value = Decimal(p["quantity"]) * Decimal(p["price"]) / 100
                    assert Decimal(p["market_value"]) == face_value.quantize(CENT, ROUND_HALF_UP), "priced in % of face"
                else:
                    assert "maturity_date" not in p
                if p["asset_class"] == "Equity":
                    if "est_annual_income" in p:
                        equities_with_income += 1
                    else:
                        equities_without_income += 1
                if p["asset_class"] == "Alternatives":
                    assert "est_annual_income" not in p
    assert seen_classes == set(ASSET_CLASSES)
    assert custodians == set(CUSTODIANS)
    assert len(custodians) == 4
    assert equities_with_income > equities_without_income > 0, "most equities pay dividends"


def test_instrument_ids_held_by_a_client_stay_the_same(book: Book) -> None:
    """Positions are bought at onboarding; later trades add to them or sell them, never new instruments."""
    for client in book.onboarded:
        days = book.days_of(client)
        held = {(p["instrument_id"], p["custodian"]) for p in book.latest(client, days[0])["positions"]}
        for day in days[1:]:
            today = {(p["instrument_id"], p["custodian"]) for p in book.latest(client, day)["positions"]}
            assert today <= held, (client, day)
            held = today


def test_prices_walk_with_drift_about_one_percent_a_day(book: Book) -> None:
    prices: dict[str, dict[dt.date, Decimal]] = defaultdict(dict)
    classes: dict[str, str] = {}
    for (_, day), envelopes in book.valuations.items():
        for p in envelopes[-1]["data"]["positions"]:
            if "price" in p:
                price = Decimal(p["price"])
                assert prices[p["instrument_id"]].setdefault(day, price) == price, "one price a day, whoever holds it"
                classes[p["instrument_id"]] = p["asset_class"]
    moves: dict[str, list[Decimal]] = defaultdict(list)
    for instrument, by_day in prices.items():
        days = sorted(by_day)
        for before, after in itertools.pairwise(days):
            if (after - before).days <= 3:  # consecutive business days
                move = by_day[after] / by_day[before] - 1
                assert abs(move) <= MAX_DAILY_MOVE, (instrument, after, move)
                moves[classes[instrument]].append(abs(move))
    average = {name: sum(m, start=ZERO) / len(m) for name, m in moves.items()}
    print(f"\naverage daily move by asset class: { {name: f'{a:.4%}' for name, a in average.items()} }")
    assert Decimal("0.004") < average["Equity"] < Decimal("0.02"), "about 1 % a day"
    assert average["Fixed Income"] < average["Real Estate"] < average["Equity"]


# --- cash flows --------------------------------------------------------------------------------------


def test_cash_flows_have_the_right_signs_and_dates(book: Book) -> None:
    ids = [f["flow_id"] for f in book.flows]
    assert len(set(ids)) == len(ids)
    kinds = Counter(f["kind"] for f in book.flows)
    print(f"\nflows: {dict(kinds)}")
    assert all(kinds[kind] > 0 for kind in ("contribution", "withdrawal", "income", "fee")), kinds
    for flow in book.flows:
        amount = Decimal(flow["amount"])
        assert places(flow["amount"]) <= 2
        assert {"contribution": amount > 0, "withdrawal": amount < 0, "income": amount > 0, "fee": amount < 0}[
            flow["kind"]
        ], flow
        day = dt.date.fromisoformat(flow["flow_date"])
        assert day.weekday() < 5
        assert book.onboarded[flow["client_id"]] < day <= LAST_DAY, flow
        if flow["kind"] == "fee":
            assert day.month in (1, 4, 7, 10), "on the first business day of a quarter"
            assert day.day <= 3, "on the first business day of a quarter"


def test_values_move_like_markets_and_flows_explain_the_jumps(book: Book) -> None:
    """Day to day a client's total moves by at most 5 % on a day without flows; on any day, what the flows
    do not explain (the market move) is within 5 % too: flows are reflected in the valuation of their day."""
    checked = with_flows = 0
    for client in book.onboarded:
        flows = book.flows_of(client)
        days = book.days_of(client)
        for before, after in itertools.pairwise(days):
            previous, current = total(book.latest(client, before)), total(book.latest(client, after))
            flowed = sum((Decimal(f["amount"]) for f in flows.get(after, [])), start=ZERO)
            assert abs(current - previous - flowed) <= MAX_DAILY_MOVE * previous, (client, after)
            if after in flows:
                with_flows += 1
            else:
                assert abs(current - previous) <= MAX_DAILY_MOVE * previous, (client, after)
            checked += 1
    assert checked > with_flows > 0


def test_contributions_and_withdrawals_a_few_times_a_year_for_some_clients(book: Book) -> None:
    external = Counter(f["client_id"] for f in book.flows if f["kind"] in ("contribution", "withdrawal"))
    assert 0.2 * len(book.onboarded) <= len(external) <= 0.8 * len(book.onboarded)
    assert max(external.values()) <= 8, "a few times a year, over 4 months"


# --- the wrinkles ------------------------------------------------------------------------------------


def test_one_valuation_is_restated_later(wealth_book: WealthBook, book: Book) -> None:
    restated = [(key, envelopes) for key, envelopes in book.valuations.items() if len(envelopes) > 1]
    assert len(restated) == 1
    (client, day), (original, correction) = restated[0]
    assert (client, day) == (wealth_book.restated_client, wealth_book.restated_on)
    assert stamp(correction) > stamp(original), "the restatement is the later one"
    assert correction["event_id"] != original["event_id"]
    assert correction is wealth_book.events[-2]
    before, after = original["data"]["positions"], correction["data"]["positions"]
    assert len(before) == len(after)
    changed = [(b, a) for b, a in zip(before, after, strict=True) if b != a]
    assert len(changed) == 1, "one price was wrong"
    [(wrong, right)] = changed
    assert wrong["instrument_id"] == right["instrument_id"]
    assert wrong["price"] != right["price"]
    assert 0 < abs(total(original["data"]) / total(correction["data"]) - 1) < Decimal("0.02"), "slightly different"
    print(f"\nrestated: {client} on {day}, {total(original['data'])} → {total(correction['data'])}")


def test_one_contribution_is_reported_weeks_late(wealth_book: WealthBook, book: Book) -> None:
    late = wealth_book.events[-1]
    data = late["data"]
    assert data["flow_id"] == wealth_book.late_flow_id
    assert data["client_id"] == wealth_book.late_flow_client
    assert data["kind"] == "contribution"
    flow_date = dt.date.fromisoformat(data["flow_date"])
    assert dt.date.fromisoformat(late["occurred_at"][:10]) - flow_date >= dt.timedelta(days=21)
    # The money was there all along: the valuations from that day on hold it.
    days = book.days_of(data["client_id"])
    before = days[days.index(flow_date) - 1]
    jump = total(book.latest(data["client_id"], flow_date)) - total(book.latest(data["client_id"], before))
    assert jump > Decimal(data["amount"]) / 2
    print(f"\nlate flow: {data['flow_id']} of {data['client_id']} dated {flow_date}, +{data['amount']}")


def test_one_client_withdraws_almost_everything(wealth_book: WealthBook, book: Book) -> None:
    client, on = wealth_book.liquidating_client, wealth_book.liquidated_on
    assert client is not None
    assert on is not None
    days = book.days_of(client)
    previous = total(book.latest(client, days[days.index(on) - 1]))
    [withdrawal] = [f for f in book.flows_of(client)[on] if f["kind"] == "withdrawal"]
    assert -Decimal(withdrawal["amount"]) >= Decimal("0.9") * previous
    for day in days[days.index(on) :]:
        assert 0 < total(book.latest(client, day)) < Decimal("0.06") * previous
    later = [f for day, flows in book.flows_of(client).items() if day > on for f in flows]
    assert all(f["kind"] in ("income", "fee") for f in later), "nothing more comes in or goes out"


# --- the default book --------------------------------------------------------------------------------


def test_the_default_book_is_made_quickly() -> None:
    started = time.perf_counter()
    events = generate_wealth_book(today=TODAY)
    elapsed = time.perf_counter() - started
    counts = Counter(e["event_type"] for e in events)
    size = sum(len(dumps(e)) for e in events)
    print(f"\ndefault wealth book: {len(events)} events in {elapsed:.2f} s, {size / 1e6:.1f} MB: {dict(counts)}")
    assert elapsed < 30
    assert counts["client.onboarded"] == 200
    assert 50_000 <= counts["portfolio.valued"] <= 70_000
    assert all(e["occurred_at"][:10] < TODAY.isoformat() for e in events)
    started = time.perf_counter()
    for envelope in events:
        parse_event(Topic.WEALTH_EVENTS, dumps(envelope))
    print(f"{len(events)} events parsed in {time.perf_counter() - started:.2f} s")


def test_a_tiny_book_is_valid_too() -> None:
    events = generate_wealth_book(1, today=dt.date(2026, 3, 2), months=1, clients=2)
    for envelope in events:
        parse_event(Topic.WEALTH_EVENTS, dumps(envelope))
    assert all(e["occurred_at"][:10] <= "2026-02-27" for e in events)


# --- the command -------------------------------------------------------------------------------------


def small_wealth_book(seed: int, *, today: dt.date) -> list[dict[str, Any]]:
    return generate_wealth_book(seed, today=today, months=2, clients=6)


@pytest.fixture
def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        command,
        "PARTS",
        {
            "loans": "tests.unit.demo.test_loan_demo:small_book",
            "wealth": "tests.unit.demo.test_wealth_demo:small_wealth_book",
        },
    )


def test_wealth_is_a_part_of_the_demo() -> None:
    assert command.PARTS["wealth"] == "cli.demo.wealth:generate_wealth_book"
    assert command.generator(command.PARTS["wealth"]) is generate_wealth_book
    assert set(command.PARTS) == set(command.KNOWN_PARTS)


def test_demo_part_wealth_writes_json_lines(
    small_parts: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "wealth.jsonl"
    assert main(["demo", "--seed", "5", "--today", "2025-11-20", "--out", str(out), "--part", "wealth"]) == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    expected = small_wealth_book(5, today=TODAY)
    assert len(lines) == len(expected)
    for line, envelope in zip(lines, expected, strict=True):
        value = json.loads(line)
        assert value.pop("topic") == "wealth-events"
        assert value == envelope
    captured = capsys.readouterr()
    assert "portfolio.valued" in captured.out
    assert "not available" not in captured.err


@pytest.fixture
def prefixed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("PULSE_TOPIC_PREFIX", "demo-test.")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_demo_all_publishes_loans_then_wealth_under_the_contracts_keys(
    small_parts: None, prefixed: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    FakeProducer.sent = []
    monkeypatch.setattr(command, "Producer", FakeProducer)
    assert main(["demo", "--today", "2025-11-20", "--no-wait"]) == 0
    loans, wealth = small_loan_book(7, today=TODAY), small_wealth_book(7, today=TODAY)
    records = [r for chunk in FakeProducer.sent for r in chunk]
    # The data first (loans, then wealth), the day close last.
    assert [json.loads(r.value) for r in records] == [*loans[:-1], *wealth, loans[-1]]
    for record, envelope in zip(records[len(loans) - 1 : -1], wealth, strict=True):
        assert (record.topic, record.key) == ("demo-test.wealth-events", envelope["data"]["client_id"].encode())
    captured = capsys.readouterr()
    assert f"{len(wealth)} published to demo-test.wealth-events" in captured.out
    assert "not available" not in captured.err
