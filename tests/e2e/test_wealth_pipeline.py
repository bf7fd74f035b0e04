"""The wealth pipeline on the real stack, services as processes: valuations, late flows and a restated
valuation flow through snapshotter → returns → aggregator → gateway and converge to the in-order answer."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import httpx
import pytest

from shared.auth import issue_token
from shared.topics import Topic
from tests.conftest import World
from tests.support.kafka import eventually
from tests.support.snapshotter import event
from tests.support.stack import JWT_SECRET

pytestmark = pytest.mark.e2e

D = dt.date


def valued(client: str, as_of: dt.date, value: str, occurred_at: str | None = None) -> dict[str, Any]:
    position = {"instrument_id": f"EQ{client}", "asset_class": "Equity", "custodian": "Bank 1", "market_value": value}
    e = event("portfolio.valued", client_id=client, as_of=as_of, positions=[position])
    if occurred_at:
        e["occurred_at"] = occurred_at
    return e


def flow(flow_id: str, client: str, day: dt.date, amount: str) -> dict[str, Any]:
    kind = "contribution" if Decimal(amount) > 0 else "withdrawal"
    return event("cash_flow.recorded", flow_id=flow_id, client_id=client, flow_date=day, amount=amount, kind=kind)


async def summary(http: httpx.AsyncClient, client: str, day: dt.date) -> dict[str, Any] | None:
    response = await http.get("/v1/wealth/summary", params={"client": client, "date": day.isoformat()})
    body: dict[str, Any] | None = response.json() if response.status_code == 200 else None
    return body


async def test_late_flows_and_a_restated_valuation_reach_the_dashboard(world: World) -> None:
    for name in ("snapshotter", "returns", "aggregator"):
        world.service(name)
    gateway = world.service("gateway")
    token = issue_token("admin", sub="tester@bank.test", secret=JWT_SECRET)

    # A: 100 on 04-01 → 110 on 05-01. B: 300 → 290 with +20 on 04-16, but the flow arrives last, and B's
    # May valuation is first sent wrong (280) and then restated (290, later occurred_at).
    for e in (
        valued("A", D(2025, 4, 1), "100"), valued("B", D(2025, 4, 1), "300"),
        valued("A", D(2025, 5, 1), "110"), valued("B", D(2025, 5, 1), "280", "2025-05-01T10:00:00Z"),
    ):  # fmt: skip
        await world.bus.send(Topic.WEALTH_EVENTS, e, key=str(e["data"]["client_id"]))
    await world.bus.send(Topic.WEALTH_EVENTS, valued("B", D(2025, 5, 1), "290", "2025-05-02T10:00:00Z"), key="B")
    await world.bus.send(Topic.WEALTH_EVENTS, flow("F1", "B", D(2025, 4, 16), "20"), key="B")

    async with httpx.AsyncClient(base_url=gateway.url, headers={"Authorization": f"Bearer {token}"}) as http:

        async def converged() -> dict[str, Any] | None:
            body = await summary(http, "ALL", D(2025, 5, 1))
            if body and body["summary"]["period_return_dollar"] == -20 and body["client_count"] == 2:
                return body
            return None

        body = await eventually(converged, timeout=90, interval=0.5)
        # (100 × 10 % + 310 × −30/310)/(100 + 310) = −2,000/410 = −4.8780 %
        assert body["summary"]["period_return_percent"] == -4.878
        assert body["summary"]["total_aum"] == 400
        b = await summary(http, "B", D(2025, 5, 1))
        assert b is not None
        assert b["summary"]["period_return_percent"] == -9.6774  # −30/310
