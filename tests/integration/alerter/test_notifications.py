"""The notification worker against real receivers: an SMTP server (aiosmtpd), an HTTP receiver (a small
asyncio HTTP/1.1 server), real PostgreSQL (the `deliveries` table) and Kafka (the `notifications` events)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from services.alerter import jobs
from services.alerter.notify import plan, store, worker
from services.alerter.notify.plan import Delivery, Person
from shared import db
from shared.events.envelope import make_envelope
from shared.kafka.connection import KafkaConnection
from shared.kafka.outbox import OutboxRelay
from shared.kafka.pipeline import UnitOfWork, unit_of_work
from shared.kafka.producer import Producer
from shared.metrics import REGISTRY
from shared.settings import Settings, Webhook
from shared.topics import Topic
from tests.conftest import World
from tests.support.kafka import Received, eventually
from tests.support.receivers import Inbox, LocalCA, Receiver, smtp_server
from tests.support.stack import free_port

pytestmark = pytest.mark.integration

MIGRATIONS = Path(__file__).resolve().parents[3] / "services" / "alerter" / "migrations"
SECRET = "test-webhook-secret-0123456789abcdef"
# The receiver's paths the tests send to; each is a configured webhook, as deliveries only go to those.
HOOKS = ("/hook", "/flaky", "/silent", "/moved")
FROM = "pulse-alerts@bank.test"
NOW_TIMEOUT = 20.0

ADA = Person("LO-1", "Ada Obi", "ada@bank.test", "loan_officer", "N")
NIA = Person("TL-N", "Nia Lead", "nia@bank.test", "team_leader", "N")


# --- the alerter, as far as the worker sees it -----------------------------------------------------------


@dataclass
class FakeService:
    pool: asyncpg.Pool
    relay: OutboxRelay
    settings: Settings
    schema: str = "alerter"

    def unit_of_work(self) -> AbstractAsyncContextManager[UnitOfWork]:
        return unit_of_work(
            self.pool, self.relay, schema=self.schema, prefix=self.settings.topic_prefix, source="alerter"
        )


@dataclass
class Alerter:
    service: FakeService
    world: World
    task: asyncio.Task[None] | None = None

    def start(self, **overrides: Any) -> None:
        options: dict[str, Any] = {"retry_initial": 0.2, "retry_max": 1.0, "attempt_timeout": 1.0, "idle": 0.05}
        options.update(overrides)
        self.task = asyncio.create_task(worker.deliver_notifications(self.service, **options))

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
            self.task = None

    async def stage(self, deliveries: Sequence[Delivery]) -> None:
        """What the alert lifecycle does: deliveries and their `notification.requested`, in one transaction."""
        async with self.service.unit_of_work() as work:
            await store.stage(work.conn, deliveries)
            work.emit_all(worker.notification_requested_event(d, work.now) for d in deliveries)

    async def row(self, delivery_id: str) -> asyncpg.Record:
        async with self.service.pool.acquire() as conn:
            r = await store.get(conn, delivery_id)
        assert r is not None
        return r

    async def status(self, delivery_id: str) -> str:
        return str((await self.row(delivery_id))["status"])

    async def count(self) -> int:
        async with self.service.pool.acquire() as conn:
            return int(await conn.fetchval("SELECT count(*) FROM alerter.deliveries"))

    async def wait_status(self, delivery_id: str, status: str, timeout: float = NOW_TIMEOUT) -> asyncpg.Record:
        async def reached() -> bool:
            return await self.status(delivery_id) == status

        await eventually(reached, timeout=timeout, interval=0.05)
        return await self.row(delivery_id)

    async def notifications(self, done: Any, timeout: float = NOW_TIMEOUT) -> list[dict[str, Any]]:
        """`notifications` events (with their key) read from the prefixed topic until `done(events)` holds."""

        def parse(records: list[Received]) -> list[dict[str, Any]]:
            return [
                {**json.loads(r.value or b"{}"), "_key": (r.key or b"").decode()}
                for r in records
                if r.value is not None
            ]

        records = await self.world.bus.read_until(Topic.NOTIFICATIONS, lambda rs: done(parse(rs)), timeout=timeout)
        return parse(records)


@pytest.fixture
async def alerter(world: World, smtp: tuple[Inbox, int], receiver: Receiver) -> AsyncIterator[Alerter]:
    _, smtp_port = smtp
    settings = Settings(
        topic_prefix=world.prefix,
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        smtp_from=FROM,
        smtp_tls="none",
        webhooks=[Webhook(url=receiver.url(path), secrets=[SECRET]) for path in HOOKS],
        dev_mode=True,  # the receiver speaks plain http
    )
    pool = await db.create_pool(world.database_url, min_size=1, max_size=10)
    await db.migrate(pool, "alerter", MIGRATIONS)
    producer = Producer(KafkaConnection(world.stack.kafka_bootstrap), client_id="test-alerter", service="alerter-test")
    await producer.start()
    the_alerter = Alerter(FakeService(pool, OutboxRelay(pool, "alerter", producer), settings), world)
    try:
        yield the_alerter
    finally:
        await the_alerter.stop()
        await producer.stop()
        await pool.close()


# --- helpers ---------------------------------------------------------------------------------------------


def raised(
    *,
    alert_id: str = "al-health-LO-1",
    health: str = "45.2",
    officer_name: str = "Ada Obi",
    revision: int = 1,
) -> dict[str, Any]:
    data = {
        "alert_id": alert_id,
        "alert_type": "portfolio_health_critical",
        "severity": "critical",
        "scope": "officer:LO-1",
        "kind": "officer",
        "branch_id": "N",
        "officer_id": "LO-1",
        "officer_name": officer_name,
        "business_date": "2025-10-08",
        "revision": revision,
        "values": {"health_score": health},
        "raised_at": "2025-10-09T01:00:00Z",
    }
    return make_envelope("alert.raised", data, source="alerter", event_id=f"alert.raised:{alert_id}:{revision}")


def planned(
    envelope: dict[str, Any],
    *,
    urls: Sequence[str] = (),
    email: bool = False,
    give_up: float = 60.0,
    now: dt.datetime | None = None,
) -> list[Delivery]:
    return plan.plan_deliveries(
        "alert.raised",
        envelope,
        email=email,
        officer=ADA,
        team_leaders=[NIA],
        admins=[],
        webhook_urls=urls,
        now=now or dt.datetime.now(dt.UTC),
        give_up_after=dt.timedelta(seconds=give_up),
    )


def counted(channel: str, outcome: str) -> float:
    value = REGISTRY.get_sample_value("pulse_notifications_total", {"channel": channel, "outcome": outcome})
    return value or 0.0


def of_type(events: list[dict[str, Any]], event_type: str, delivery_id: str) -> list[dict[str, Any]]:
    return [e for e in events if e["event_type"] == event_type and e["data"]["delivery_id"] == delivery_id]


# --- tests -----------------------------------------------------------------------------------------------


async def test_a_critical_alert_email_reaches_officer_and_team_leader_with_text_and_html(
    alerter: Alerter, smtp: tuple[Inbox, int]
) -> None:
    inbox, _ = smtp
    ds = planned(raised(officer_name="Ada <Obi>"), email=True)
    assert [d.recipient for d in ds] == ["ada@bank.test", "nia@bank.test"]
    before = counted("email", "delivered")
    alerter.start()
    await alerter.stage(ds)
    for d in ds:
        row = await alerter.wait_status(d.delivery_id, "delivered")
        assert row["attempts"] == 1

    mails = inbox.mails
    assert sorted(r for m in mails for r in m.rcpt_tos) == ["ada@bank.test", "nia@bank.test"]
    subject = "[Pulse] CRITICAL: portfolio health 45.20 for officer Ada <Obi> (LO-1) on 2025-10-08"
    for mail in mails:
        msg = mail.message
        assert mail.mail_from == FROM
        assert msg["From"] == FROM
        assert msg["To"] == mail.rcpt_tos[0]
        assert msg["Subject"] == subject
        assert msg.get_content_type() == "multipart/alternative"
        text_part = msg.get_body(preferencelist=("plain",))
        html_part = msg.get_body(preferencelist=("html",))
        assert text_part is not None
        assert html_part is not None
        text = text_part.get_content()
        markup = html_part.get_content()
        assert "Ada <Obi>" in text
        assert "45.20" in text
        assert "What to do" in text
        assert "Ada &lt;Obi&gt;" in markup
        assert "<Obi>" not in markup
        # Stable across retries, so a duplicate can be recognised.
        delivery = next(d for d in ds if d.recipient == mail.rcpt_tos[0])
        assert msg["Message-ID"] == f"<{delivery.delivery_id}@pulse>"
    assert counted("email", "delivered") - before == 2

    events = await alerter.notifications(
        lambda es: all(of_type(es, "notification.delivered", d.delivery_id) for d in ds)
    )
    for d in ds:
        (requested,) = of_type(events, "notification.requested", d.delivery_id)
        (delivered,) = of_type(events, "notification.delivered", d.delivery_id)
        assert requested["_key"] == delivered["_key"] == d.recipient
        assert delivered["data"]["channel"] == "email"
        assert delivered["data"]["attempts"] == 1


async def test_a_webhook_arrives_signed_over_the_raw_body(alerter: Alerter, receiver: Receiver) -> None:
    envelope = raised()
    (d,) = planned(envelope, urls=[receiver.url("/hook")])
    alerter.start()
    await alerter.stage([d])
    await alerter.wait_status(d.delivery_id, "delivered")

    (request,) = receiver.to("/hook")
    assert request.method == "POST"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-pulse-delivery"] == d.delivery_id
    assert request.headers["x-pulse-event"] == "alert.raised"
    assert request.body == d.payload
    assert request.signed_by([SECRET])
    assert not request.signed_by(["another-secret"])
    assert json.loads(request.body) == json.loads(json.dumps(envelope))

    events = await alerter.notifications(lambda es: bool(of_type(es, "notification.delivered", d.delivery_id)))
    (delivered,) = of_type(events, "notification.delivered", d.delivery_id)
    assert delivered["_key"] == receiver.url("/hook")
    assert delivered["data"]["alert_id"] == "al-health-LO-1"


async def test_a_receiver_failing_twice_gets_the_third_try_with_the_same_delivery_id(
    alerter: Alerter, receiver: Receiver
) -> None:
    receiver.fail_first["/flaky"] = 2
    (d,) = planned(raised(), urls=[receiver.url("/flaky")])
    retried, delivered = counted("webhook", "retried"), counted("webhook", "delivered")
    alerter.start()
    await alerter.stage([d])
    row = await alerter.wait_status(d.delivery_id, "delivered")

    requests = receiver.to("/flaky")
    assert len(requests) == 3
    assert row["attempts"] == 3
    assert {r.headers["x-pulse-delivery"] for r in requests} == {d.delivery_id}
    assert {r.body for r in requests} == {d.payload}
    assert all(r.signed_by([SECRET]) for r in requests)
    # Exponential backoff: the second wait is longer than the first's minimum (0.2 s × 0.5 jitter).
    assert requests[1].at - requests[0].at >= 0.1
    assert requests[2].at - requests[1].at >= 0.2
    assert counted("webhook", "retried") - retried == 2
    assert counted("webhook", "delivered") - delivered == 1

    events = await alerter.notifications(lambda es: bool(of_type(es, "notification.delivered", d.delivery_id)))
    (outcome,) = of_type(events, "notification.delivered", d.delivery_id)
    assert outcome["data"]["attempts"] == 3
    assert not of_type(events, "notification.failed", d.delivery_id)


async def test_a_receiver_that_never_answers_fails_without_holding_up_a_healthy_one(
    alerter: Alerter, receiver: Receiver
) -> None:
    receiver.hang.add("/silent")
    timeout = 1.5
    silent, healthy = planned(raised(), urls=[receiver.url("/silent"), receiver.url("/hook")], give_up=2.5)
    failed = counted("webhook", "failed")
    alerter.start(attempt_timeout=timeout)
    started = time.monotonic()
    await alerter.stage([silent, healthy])

    await alerter.wait_status(healthy.delivery_id, "delivered", timeout=timeout)
    assert time.monotonic() - started < timeout
    assert await alerter.status(silent.delivery_id) == "pending"  # its first attempt still waits

    row = await alerter.wait_status(silent.delivery_id, "failed")
    assert row["attempts"] >= 1
    assert len(receiver.to("/silent")) == row["attempts"]
    assert "no answer" in row["last_error"]
    assert len(receiver.to("/hook")) == 1
    assert counted("webhook", "failed") - failed == 1

    events = await alerter.notifications(lambda es: bool(of_type(es, "notification.failed", silent.delivery_id)))
    (outcome,) = of_type(events, "notification.failed", silent.delivery_id)
    assert outcome["_key"] == receiver.url("/silent")
    assert outcome["data"]["attempts"] == row["attempts"]
    assert "no answer" in outcome["data"]["error"]
    assert of_type(events, "notification.delivered", healthy.delivery_id)


async def test_staging_the_same_deliveries_twice_sends_once(
    alerter: Alerter, receiver: Receiver, smtp: tuple[Inbox, int]
) -> None:
    inbox, _ = smtp
    envelope = raised()
    first = planned(envelope, urls=[receiver.url("/hook")], email=True)
    replay = planned(envelope, urls=[receiver.url("/hook")], email=True, now=dt.datetime.now(dt.UTC))
    assert [d.delivery_id for d in first] == [d.delivery_id for d in replay]
    await alerter.stage(first)
    await alerter.stage(replay)  # before any attempt
    assert await alerter.count() == 3
    alerter.start()
    for d in first:
        await alerter.wait_status(d.delivery_id, "delivered")
    await alerter.stage(replay)  # after delivery: a replayed history
    await asyncio.sleep(1.0)
    assert await alerter.count() == 3
    assert len(receiver.to("/hook")) == 1
    assert sorted(m.rcpt_tos[0] for m in inbox.mails) == ["ada@bank.test", "nia@bank.test"]
    for d in first:
        assert (await alerter.row(d.delivery_id))["attempts"] == 1


async def test_a_redirect_is_not_followed_and_counts_as_a_failure(alerter: Alerter, receiver: Receiver) -> None:
    receiver.redirect["/moved"] = receiver.url("/elsewhere")
    (d,) = planned(raised(), urls=[receiver.url("/moved")], give_up=1.0)
    failed, retried = counted("webhook", "failed"), counted("webhook", "retried")
    alerter.start()
    await alerter.stage([d])
    row = await alerter.wait_status(d.delivery_id, "failed")

    assert receiver.to("/elsewhere") == []
    assert len(receiver.to("/moved")) == row["attempts"] >= 1
    assert "302" in row["last_error"]
    assert counted("webhook", "failed") - failed == 1
    assert counted("webhook", "retried") - retried == row["attempts"] - 1
    events = await alerter.notifications(lambda es: bool(of_type(es, "notification.failed", d.delivery_id)))
    (outcome,) = of_type(events, "notification.failed", d.delivery_id)
    assert "302" in outcome["data"]["error"]


async def test_an_unreachable_smtp_server_is_retried_then_failed(alerter: Alerter) -> None:
    settings = alerter.service.settings.model_copy(update={"smtp_port": free_port()})  # nobody listens there
    alerter.service.settings = settings
    d = planned(raised(), email=True, give_up=1.0)[0]
    alerter.start()
    await alerter.stage([d])
    row = await alerter.wait_status(d.delivery_id, "failed")
    assert row["attempts"] >= 2
    assert "SMTP" in row["last_error"]


async def test_a_delivery_claimed_by_a_worker_that_died_is_sent_after_its_lease(
    alerter: Alerter, receiver: Receiver
) -> None:
    (d,) = planned(raised(), urls=[receiver.url("/hook")])
    await alerter.stage([d])
    # A worker claims it and dies before sending (or before recording the outcome).
    async with alerter.service.pool.acquire() as conn, conn.transaction():
        claimed = await store.claim(conn, 10, dt.timedelta(seconds=1.5))
    assert [(r["delivery_id"], r["attempts"]) for r in claimed] == [(d.delivery_id, 1)]
    alerter.start()
    await asyncio.sleep(0.7)
    assert receiver.to("/hook") == []  # still leased
    row = await alerter.wait_status(d.delivery_id, "delivered")
    assert row["attempts"] == 2
    (request,) = receiver.to("/hook")
    assert request.headers["x-pulse-delivery"] == d.delivery_id


async def test_the_weekly_summary_is_planned_once_and_delivered_by_the_worker(
    alerter: Alerter, smtp: tuple[Inbox, int]
) -> None:
    inbox, _ = smtp
    service = alerter.service
    async with service.pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO alerter.officers VALUES ('TL-N', 'N', 'Nia Lead', 'nia@bank.test', 'team_leader', now()),"
            " ('LO-1', 'N', 'Ada Obi', 'ada@bank.test', 'loan_officer', now())"
        )
        await conn.execute(
            "INSERT INTO alerter.scope_days (scope, kind, business_date, revision, branch_id, officer_id,"
            " officer_name, metrics) VALUES ('officer:LO-1', 'officer', '2025-10-10', 1, 'N', 'LO-1', 'Ada Obi',"
            ' \'{"health_score": "45.2", "health_category": "critical"}\'::jsonb)'
        )
    week = dt.date(2025, 10, 13)
    async with service.unit_of_work() as work:
        assert await jobs.stage_summaries(work, service.settings, week) == 1  # one team leader, no admins configured
    async with service.unit_of_work() as work:
        assert await jobs.stage_summaries(work, service.settings, week) == 0  # a restart plans nothing twice
    alerter.start()
    await eventually(lambda: len(inbox.mails) == 1, timeout=NOW_TIMEOUT)
    [mail] = inbox.mails
    assert mail.rcpt_tos == ["nia@bank.test"]
    assert str(mail.message["Subject"]) == "[Pulse] Weekly summary, branch N, week of 2025-10-13"
    text = mail.message.get_body(preferencelist=("plain",))
    assert text is not None
    assert "Ada Obi (LO-1): health 45.20 critical" in text.get_content()


def test_the_weekly_run_is_due_at_monday_nine_and_caught_up_within_twelve_hours() -> None:
    zone = dt.UTC
    monday_nine = dt.time(9, 0)
    assert jobs.due_week(dt.datetime(2025, 10, 13, 8, 59, tzinfo=zone), 0, monday_nine) is None
    assert jobs.due_week(dt.datetime(2025, 10, 13, 9, 0, tzinfo=zone), 0, monday_nine) == dt.date(2025, 10, 13)
    # Down at 09:00 and back at 20:00: the run is caught up.
    assert jobs.due_week(dt.datetime(2025, 10, 13, 20, 0, tzinfo=zone), 0, monday_nine) == dt.date(2025, 10, 13)
    # A first start on Thursday sends nothing until next Monday.
    assert jobs.due_week(dt.datetime(2025, 10, 16, 12, 0, tzinfo=zone), 0, monday_nine) is None


# --- transport security ----------------------------------------------------------------------------------


async def test_starttls_is_required_so_a_server_without_it_gets_nothing(
    alerter: Alerter, smtp: tuple[Inbox, int]
) -> None:
    inbox, _ = smtp  # offers no STARTTLS
    alerter.service.settings = alerter.service.settings.model_copy(update={"smtp_tls": "starttls"})
    d = planned(raised(), email=True, give_up=1.0)[0]
    alerter.start()
    await alerter.stage([d])
    row = await alerter.wait_status(d.delivery_id, "failed")
    assert "STARTTLS" in row["last_error"]
    assert inbox.mails == []


@pytest.mark.parametrize("mode", ["starttls", "tls"])
async def test_email_goes_encrypted_to_a_server_the_ca_file_vouches_for(
    alerter: Alerter, local_ca: LocalCA, mode: str
) -> None:
    server_tls = (
        {"tls_context": local_ca.server_context(), "require_starttls": True}
        if mode == "starttls"
        else {"ssl_context": local_ca.server_context()}
    )
    with smtp_server(**server_tls) as (inbox, port):
        settings = alerter.service.settings.model_copy(
            update={"smtp_tls": mode, "smtp_port": port, "smtp_ca_file": str(local_ca.ca_file)}
        )
        alerter.service.settings = settings
        d = planned(raised(), email=True)[0]
        alerter.start()
        await alerter.stage([d])
        await alerter.wait_status(d.delivery_id, "delivered")
        (mail,) = inbox.mails
    assert mail.tls
    assert mail.rcpt_tos == [d.recipient]


async def test_email_to_a_server_nobody_vouches_for_is_not_sent(alerter: Alerter, local_ca: LocalCA) -> None:
    with smtp_server(ssl_context=local_ca.server_context()) as (inbox, port):
        # The system's CAs do not know the tests' CA.
        alerter.service.settings = alerter.service.settings.model_copy(update={"smtp_tls": "tls", "smtp_port": port})
        d = planned(raised(), email=True, give_up=1.0)[0]
        alerter.start()
        await alerter.stage([d])
        row = await alerter.wait_status(d.delivery_id, "failed")
    assert "CERTIFICATE_VERIFY_FAILED" in row["last_error"]
    assert inbox.mails == []


@pytest.fixture
async def https_receiver(local_ca: LocalCA) -> AsyncIterator[Receiver]:
    the_receiver = Receiver(tls=local_ca.server_context())
    await the_receiver.start()
    try:
        yield the_receiver
    finally:
        await the_receiver.stop()


@pytest.mark.parametrize("trusted", [True, False], ids=["ca-file", "system-cas"])
async def test_a_webhook_over_https_is_sent_only_to_a_certificate_the_alerter_trusts(
    alerter: Alerter, https_receiver: Receiver, local_ca: LocalCA, trusted: bool
) -> None:
    url = https_receiver.url("/secure")
    alerter.service.settings = alerter.service.settings.model_copy(
        update={
            "webhooks": [Webhook(url=url, secrets=[SECRET])],
            "webhook_ca_file": str(local_ca.ca_file) if trusted else None,
        }
    )
    (d,) = planned(raised(), urls=[url], give_up=1.0)
    alerter.start()
    await alerter.stage([d])
    if trusted:
        await alerter.wait_status(d.delivery_id, "delivered")
        (request,) = https_receiver.to("/secure")
        assert request.signed_by([SECRET])
    else:
        row = await alerter.wait_status(d.delivery_id, "failed")
        assert "CERTIFICATE_VERIFY_FAILED" in row["last_error"]
        assert https_receiver.to("/secure") == []


async def test_while_a_secret_is_rotated_each_request_is_signed_with_both(alerter: Alerter, receiver: Receiver) -> None:
    new_secret = "the-new-webhook-secret-fedcba9876543210"
    url = receiver.url("/hook")
    alerter.service.settings = alerter.service.settings.model_copy(
        update={"webhooks": [Webhook(url=url, secrets=[SECRET, new_secret])]}
    )
    (d,) = planned(raised(), urls=[url])
    alerter.start()
    await alerter.stage([d])
    await alerter.wait_status(d.delivery_id, "delivered")
    (request,) = receiver.to("/hook")
    assert request.headers["x-pulse-signature"].count("v1=") == 2
    assert request.signed_by([SECRET])  # a receiver not yet told of the new secret
    assert request.signed_by([new_secret])  # one that already forgot the old


async def test_a_delivery_to_a_url_no_longer_configured_is_never_sent(alerter: Alerter, receiver: Receiver) -> None:
    (d,) = planned(raised(), urls=[receiver.url("/gone")], give_up=1.0)
    alerter.start()
    await alerter.stage([d])
    row = await alerter.wait_status(d.delivery_id, "failed")
    assert "no secret" in row["last_error"]
    assert receiver.to("/gone") == []
