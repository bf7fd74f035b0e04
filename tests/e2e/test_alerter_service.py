"""The alerter as a process on the real stack, fed aggregates as the aggregator publishes them, with a real
SMTP server and a real webhook receiver (CONTRACT §2 "Alert rules"; issue 5's scenarios)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest

from shared.events.envelope import make_envelope
from shared.topics import Topic
from tests.conftest import World
from tests.support.kafka import eventually
from tests.support.receivers import Inbox, Receiver

pytestmark = pytest.mark.e2e

SECRET = "e2e-webhook-secret-0123456789abcdef"
TODAY = dt.datetime.now(dt.UTC).date()
HEALTHY = {
    "total_clients": 40, "active_clients": 35, "total_loans": 60, "active_loans": 35, "total_disbursed": "600000",
    "total_outstanding": "250000", "total_collected": "380000", "par_30": "3", "par_60": "1", "par_90": "0.5",
    "default_rate": "1", "collection_rate": "96", "portfolio_yield": "30", "growth_rate": "2",
    "new_clients_30d": 2, "exited_clients_30d": 1, "health_score": "85", "health_category": "excellent",
}  # fmt: skip


def category(score: Decimal) -> str:
    return "critical" if score < 50 else "warning" if score < 70 else "good" if score < 80 else "excellent"


def aggregate(officer: str, day: dt.date, revision: int = 1, **metrics: str) -> dict[str, Any]:
    values: dict[str, Any] = {**HEALTHY, **metrics}
    values["health_category"] = category(Decimal(values["health_score"]))
    data = {"domain": "loans", "scope": f"officer:{officer}", "kind": "officer", "business_date": day.isoformat(),
            "revision": revision, "branch_id": "N", "officer_id": officer, "officer_name": f"Officer {officer}",
            "metrics": values}  # fmt: skip
    return make_envelope("aggregate.updated", data, source="aggregator",
                         event_id=f"agg:{officer}:{day.isoformat()}:{revision}")  # fmt: skip


def officer(officer_id: str, role: str, email: str) -> dict[str, Any]:
    data = {"officer_id": officer_id, "branch_id": "N", "name": f"Officer {officer_id}", "email": email, "role": role}
    return make_envelope("officer.upserted", data, source="lms")


async def publish(world: World, *aggregates: dict[str, Any]) -> None:
    for a in aggregates:
        await world.bus.send(Topic.AGGREGATES, a, key=a["data"]["scope"])


def configure(world: World, smtp_port: int, receiver: Receiver) -> None:
    world.extra_env.update({
        "PULSE_SMTP_PORT": str(smtp_port), "PULSE_SMTP_TLS": "none",
        "PULSE_WEBHOOKS": json.dumps([{"url": receiver.url("/hook"), "secrets": [SECRET]}]),
        "PULSE_ADMIN_EMAILS": json.dumps(["ceo@bank.test"]),
        "PULSE_NOTIFICATION_RETRY_INITIAL_SECONDS": "0.2", "PULSE_NOTIFICATION_ATTEMPT_TIMEOUT_SECONDS": "3",
    })  # fmt: skip


async def directory(world: World) -> None:
    await world.bus.send(Topic.LOAN_EVENTS, officer("O1", "loan_officer", "o1@bank.test"), key="O1")
    await world.bus.send(Topic.LOAN_EVENTS, officer("O2", "loan_officer", "o2@bank.test"), key="O2")
    await world.bus.send(Topic.LOAN_EVENTS, officer("TL", "team_leader", "lead@bank.test"), key="TL")


async def alert_events(world: World, n: int) -> list[dict[str, Any]]:
    records = await world.bus.read_until(Topic.ALERTS, lambda r: len(r) >= n, timeout=60)
    return [json.loads(r.value or b"") for r in records]


async def test_crossing_staying_and_recovering_notify_exactly_once_each(
    world: World, smtp: tuple[Inbox, int], receiver: Receiver
) -> None:
    inbox, smtp_port = smtp
    configure(world, smtp_port, receiver)
    alerter = world.service("alerter")
    await directory(world)
    await asyncio.sleep(2)  # the directory is a separate subscription: let it land before the first alert
    d1, d2, d3 = TODAY - dt.timedelta(days=2), TODAY - dt.timedelta(days=1), TODAY
    # O1: health 45.2 (critical), stays below 50, then 75 (above 70): raised once, resolved once.
    # O2: PAR30 16 % (critical), then 12 % (warning: the same alert changes severity), then 9 % (resolved).
    await publish(world, aggregate("O1", d1, health_score="45.2"), aggregate("O2", d1, par_30="16"))
    await publish(world, aggregate("O1", d2, health_score="44.9"), aggregate("O2", d2, par_30="12"))
    await publish(world, aggregate("O1", d3, health_score="75"), aggregate("O2", d3, par_30="9"))

    events = await alert_events(world, 5)
    summary = [(e["event_type"], e["data"]["scope"], e["data"]["alert_type"], e["data"]["severity"],
                e["data"]["revision"]) for e in events]  # fmt: skip
    assert sorted(summary) == sorted([
        ("alert.raised", "officer:O1", "portfolio_health_critical", "critical", 1),
        ("alert.resolved", "officer:O1", "portfolio_health_critical", "critical", 2),
        ("alert.raised", "officer:O2", "high_par", "critical", 1),
        ("alert.raised", "officer:O2", "high_par", "warning", 2),
        ("alert.resolved", "officer:O2", "high_par", "warning", 3),
    ])  # fmt: skip
    assert len({e["data"]["alert_id"] for e in events if e["data"]["scope"] == "officer:O2"}) == 1

    # Emails: each critical raise to the officer and the team leader; no email for the warning or resolutions.
    await eventually(lambda: len(inbox.mails) >= 4, timeout=30)
    await eventually(lambda: len(receiver.to("/hook")) >= 5, timeout=30)
    await asyncio.sleep(2)  # anything extra would arrive now
    recipients = sorted(r for m in inbox.mails for r in m.rcpt_tos)
    assert recipients == ["lead@bank.test", "lead@bank.test", "o1@bank.test", "o2@bank.test"]
    assert all("CRITICAL" in str(m.message["Subject"]) for m in inbox.mails)
    # Webhooks: every raised and resolved alert, each once, signed over the raw body.
    hooks = receiver.to("/hook")
    assert len(hooks) == 5
    assert len({h.headers["x-pulse-delivery"] for h in hooks}) == 5
    for h in hooks:
        assert h.signed_by([SECRET])
    assert sorted(json.loads(h.body)["event_type"] for h in hooks) == ["alert.raised"] * 3 + ["alert.resolved"] * 2

    # A restart re-sends nothing.
    alerter.stop()
    world.service("alerter")
    await asyncio.sleep(4)
    assert len(inbox.mails) == 4
    assert len(receiver.to("/hook")) == 5


async def test_replaying_history_notifies_nobody_for_days_older_than_the_horizon(
    world: World, smtp: tuple[Inbox, int], receiver: Receiver
) -> None:
    inbox, smtp_port = smtp
    configure(world, smtp_port, receiver)
    world.service("alerter")
    await directory(world)
    await asyncio.sleep(2)
    # 60 days ending 3 days ago (outside the 2-day horizon): health swings across 50 every 10 days.
    first = TODAY - dt.timedelta(days=62)
    history = [
        aggregate("O1", first + dt.timedelta(days=n), health_score="40" if (n // 10) % 2 == 0 else "85")
        for n in range(60)
    ]
    await publish(world, *history)
    events = await alert_events(world, 6)  # 3 raised + 3 resolved
    assert {e["event_type"] for e in events} == {"alert.raised", "alert.resolved"}
    await asyncio.sleep(3)
    assert inbox.mails == []
    assert receiver.to("/hook") == []
    # Yesterday's critical day is within the horizon: it is notified.
    await publish(world, aggregate("O1", TODAY - dt.timedelta(days=1), health_score="41"))
    await eventually(lambda: len(inbox.mails) == 2, timeout=30)  # the officer and the team leader
    await eventually(lambda: len(receiver.to("/hook")) == 1, timeout=30)
