"""Wealth through the real snapshotter, returns and aggregator handlers on PostgreSQL, checked against
numbers worked out by hand from CONTRACT §3."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from tests.conftest import BookFactory
from tests.support.snapshotter import WealthPipeline, event, wealth_pipeline

pytestmark = pytest.mark.integration

D = dt.date
Q = Decimal("0.0001")


def valued(client: str, as_of: dt.date, *positions: tuple[str, str, str, str], **extra: object) -> dict[str, object]:
    return event(
        "portfolio.valued",
        client_id=client,
        as_of=as_of,
        positions=[
            {"instrument_id": i, "asset_class": a, "custodian": c, "market_value": v} for i, a, c, v in positions
        ],
        **extra,
    )


def flow(flow_id: str, client: str, day: dt.date, amount: str, kind: str) -> dict[str, object]:
    return event("cash_flow.recorded", flow_id=flow_id, client_id=client, flow_date=day, amount=amount, kind=kind)


@pytest.fixture
async def wealth(new_book: BookFactory) -> WealthPipeline:
    book = await new_book()
    return await wealth_pipeline(book.pool)


async def test_the_contracts_aggregate_example_weights_by_average_capital(wealth: WealthPipeline) -> None:
    # A: 100 → 110, no flows. B: 300 → 290 with +20 in the middle of the same 30-day period.
    await wealth.send(
        valued("A", D(2025, 4, 1), ("EQ1", "Equity", "Bank 1", "100")),
        valued("B", D(2025, 4, 1), ("EQ2", "Equity", "Bank 2", "300")),
        flow("F1", "B", D(2025, 4, 16), "20", "contribution"),
        valued("A", D(2025, 5, 1), ("EQ1", "Equity", "Bank 1", "110")),
        valued("B", D(2025, 5, 1), ("EQ2", "Equity", "Bank 2", "290")),
    )
    # A: gain 10, c = 100, r = 10 %. B: gain 290 − 300 − 20 = −30; w = (05-01 − 04-16)/30 = 15/30; c = 310;
    # r = −30/310 = −9.6774 %. All: (100 × 10 + 310 × −9.6774…)/(100 + 310) = (1,000 − 3,000)/410 = −4.8780 %.
    totals = await wealth.totals(D(2025, 5, 1))
    assert totals["period_dollar"] == Decimal(-20)
    assert (totals["period_weighted"] / totals["period_capital"]).quantize(Q) == Decimal("-4.8780")
    # End-of-period AUM weighting would give (110 × 10 + 290 × −9.6774…)/400 = −4.2661 %: not what we report.
    assert (totals["period_weighted"] / totals["period_capital"]).quantize(Q) != Decimal("-4.2661")
    b = await wealth.client_day("B", D(2025, 5, 1))
    assert b["period_average_capital"] == Decimal(310)
    assert Decimal(b["period_return_percent"]).quantize(Q) == Decimal("-9.6774")
    assert totals["client_count"] == 2
    assert totals["total_aum"] == Decimal(400)


async def test_a_first_snapshot_has_no_period_and_no_month(wealth: WealthPipeline) -> None:
    await wealth.send(valued("A", D(2025, 4, 1), ("EQ1", "Equity", "Bank 1", "1000")))
    a = await wealth.client_day("A", D(2025, 4, 1))
    assert (a["period_start_date"], a["period_return_dollar"], a["period_return_percent"]) == (None, 0, 0)
    assert (a["month_start_date"], a["monthly_return_dollar"], a["monthly_return_percent"]) == (None, 0, 0)
    totals = await wealth.totals(D(2025, 4, 1))
    assert (totals["period_windows"], totals["period_capital"]) == (0, 0)  # → the gateway shows 0


async def test_income_and_fee_flows_change_nothing_and_allocations_are_summed(wealth: WealthPipeline) -> None:
    bond = {"instrument_id": "BD1", "asset_class": "Fixed Income", "custodian": "Bank 2", "market_value": "500",
            "maturity_date": "2031-06-30", "est_annual_income": "20"}  # fmt: skip
    await wealth.send(
        valued("A", D(2025, 3, 31), ("EQ1", "Equity", "Bank 1", "1000")),
        flow("I1", "A", D(2025, 4, 10), "15", "income"),
        flow("F2", "A", D(2025, 4, 20), "-5", "fee"),
        event("portfolio.valued", client_id="A", as_of=D(2025, 4, 30), positions=[
            {"instrument_id": "EQ1", "asset_class": "Equity", "custodian": "Bank 1", "market_value": "1060"}, bond]),
        valued("B", D(2025, 4, 30), ("EQ2", "Equity", "Bank 1", "440")),
    )  # fmt: skip
    a = await wealth.client_day("A", D(2025, 4, 30))
    # No external flow: 1,000 → 1,560 is a gain of 560 on 1,000 = 56 %; income and fees are inside the value.
    assert (a["net_external_flows"], a["period_return_dollar"]) == (0, Decimal(560))
    assert Decimal(a["period_return_percent"]) == Decimal(56)
    assert a["estimated_annual_income"] == Decimal(20)
    allocations = await wealth.allocations(D(2025, 4, 30))
    assert allocations == {
        ("asset_class", "Equity"): Decimal(1500),  # 1,060 + 440
        ("asset_class", "Fixed Income"): Decimal(500),
        ("custodian", "Bank 1"): Decimal(1500),
        ("custodian", "Bank 2"): Decimal(500),
        ("bond_year", "2031"): Decimal(500),
    }


async def test_a_late_flow_and_a_restated_valuation_converge_to_the_in_order_answer(new_book: BookFactory) -> None:
    events = [
        valued("A", D(2025, 1, 31), ("EQ1", "Equity", "Bank 1", "1000")),
        flow("C1", "A", D(2025, 2, 10), "200", "contribution"),
        valued("A", D(2025, 2, 28), ("EQ1", "Equity", "Bank 1", "1250")),
        flow("W1", "A", D(2025, 3, 5), "-100", "withdrawal"),
        valued("A", D(2025, 3, 31), ("EQ1", "Equity", "Bank 1", "1180")),
        valued("A", D(2025, 4, 30), ("EQ1", "Equity", "Bank 1", "1200")),
    ]
    in_order = await wealth_pipeline((await new_book()).pool)
    await in_order.send(*events)

    late = await wealth_pipeline((await new_book()).pool)
    # The flows arrive after every valuation; March is first valued wrongly, then restated (later occurred_at).
    wrong_march = valued("A", D(2025, 3, 31), ("EQ1", "Equity", "Bank 1", "999"))
    wrong_march["occurred_at"] = "2025-03-31T09:00:00Z"
    await late.send(events[0], events[2], wrong_march, events[5])
    await late.send(events[1], events[3])
    restated = valued("A", D(2025, 3, 31), ("EQ1", "Equity", "Bank 1", "1180"))
    restated["occurred_at"] = "2025-04-02T09:00:00Z"
    _, computed, _ = await late.send(restated)
    assert {e["data"]["as_of"] for e in computed.emitted} == {"2025-03-31", "2025-04-30"}
    for day in (D(2025, 2, 28), D(2025, 3, 31), D(2025, 4, 30)):
        expected, got = await in_order.client_day("A", day), await late.client_day("A", day)
        columns = [c for c in expected.keys() if c not in ("revision", "updated_at")]  # noqa: SIM118  # a Record iterates values
        assert {c: got[c] for c in columns} == {c: expected[c] for c in columns}
        assert got["revision"] > 1
    totals_in_order, totals_late = await in_order.totals(D(2025, 4, 30)), await late.totals(D(2025, 4, 30))
    assert totals_late["inception_weighted"] == totals_in_order["inception_weighted"]
    # By hand, Feb: BMV 1,000, +200 on 02-10 (w = 18/28), EMV 1,250: gain 50, c = 1,128.5714…, r = 4.4304 %.
    feb = await late.client_day("A", D(2025, 2, 28))
    assert Decimal(feb["period_return_percent"]).quantize(Q) == Decimal("4.4304")
