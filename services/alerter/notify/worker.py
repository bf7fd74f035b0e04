"""The delivery worker: a background job of the alerter that sends pending deliveries at least once.

Each round claims due deliveries in a short transaction (attempt number bumped, `next_attempt_at` pushed
ahead by a lease) and commits; the attempts then run concurrently, each under its own timeout, outside any
lock and without waiting for one another: a receiver that never answers holds only its own delivery. Each
outcome is recorded in its own short transaction, with its `notifications` event in the outbox:

- delivered → `notification.delivered`;
- failed, and the next try (exponential backoff with jitter) still before the deadline → pending, retried;
- failed otherwise → `notification.failed`.

A crash mid-attempt leaves the delivery pending; it is tried again when the lease ends, with the same
delivery id (the webhook's `X-Pulse-Delivery`, the email's Message-ID), so receivers can drop the duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol

import asyncpg
import httpx
from prometheus_client import Counter

from services.alerter.notify import store
from services.alerter.notify.plan import Delivery
from services.alerter.notify.send import DeliveryError, post_webhook, send_email, tls_context
from shared.events.alerts import NotificationDelivered, NotificationFailed, NotificationRequested
from shared.kafka.pipeline import Outgoing, UnitOfWork
from shared.logging import get_logger
from shared.metrics import REGISTRY
from shared.retry import Backoff, is_transient, retry_transient
from shared.settings import Settings

log = get_logger(__name__)


# Defaults; each may be overridden by a Settings field of the name in brackets (when one exists) or by the
# job's keyword arguments.
RETRY_INITIAL_SECONDS = 1.0  # [notification_retry_initial_seconds] first retry after ~1 s, then doubling …
RETRY_MAX_SECONDS = 300.0  # [notification_retry_max_seconds] … up to 5 min between attempts
ATTEMPT_TIMEOUT_SECONDS = 10.0  # [notification_attempt_timeout_seconds] one attempt, connecting included
IDLE_SECONDS = 0.5  # how often to look for due deliveries when there are none
MAX_IN_FLIGHT = 50  # attempts running at once

NOTIFICATIONS = Counter(
    "pulse_notifications",
    "Notification attempts by channel and outcome: delivered, retried (failed, tried again later), failed (gave up)",
    ["channel", "outcome"],
    registry=REGISTRY,
)


class ServiceLike(Protocol):
    """What the worker needs of `shared.service.Service`."""

    @property
    def pool(self) -> asyncpg.Pool: ...
    @property
    def settings(self) -> Settings: ...
    def unit_of_work(self) -> AbstractAsyncContextManager[UnitOfWork]: ...


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    retry_initial: float = RETRY_INITIAL_SECONDS
    retry_max: float = RETRY_MAX_SECONDS
    attempt_timeout: float = ATTEMPT_TIMEOUT_SECONDS
    idle: float = IDLE_SECONDS
    max_in_flight: int = MAX_IN_FLIGHT

    @property
    def lease(self) -> dt.timedelta:
        """How long a claimed delivery is left alone: the attempt, recording its outcome, and a margin."""
        return dt.timedelta(seconds=2 * self.attempt_timeout + 5)

    def retry_delay(self, attempts: int) -> float:
        """The wait after failed attempt number `attempts` (1-based): initial · 2^(n−1), capped, jittered."""
        backoff = Backoff(self.retry_initial, self.retry_max)
        backoff.attempt = max(attempts - 1, 0)
        return backoff.next_delay()

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        retry_initial: float | None = None,
        retry_max: float | None = None,
        attempt_timeout: float | None = None,
        idle: float | None = None,
        max_in_flight: int | None = None,
    ) -> WorkerConfig:
        def pick(given: float | None, field: str, default: float) -> float:
            if given is not None:
                return given
            value = getattr(settings, field, None)
            return float(value) if value is not None else default

        return cls(
            retry_initial=pick(retry_initial, "notification_retry_initial_seconds", RETRY_INITIAL_SECONDS),
            retry_max=pick(retry_max, "notification_retry_max_seconds", RETRY_MAX_SECONDS),
            attempt_timeout=pick(attempt_timeout, "notification_attempt_timeout_seconds", ATTEMPT_TIMEOUT_SECONDS),
            idle=IDLE_SECONDS if idle is None else idle,
            max_in_flight=MAX_IN_FLIGHT if max_in_flight is None else max_in_flight,
        )


# --- events --------------------------------------------------------------------------------------------------


def notification_requested_event(d: Delivery, at: dt.datetime) -> Outgoing:
    """`notification.requested` for a planned delivery; emitted with the alert change. The event id derives
    from the delivery id, so a replay's duplicate is dropped by consumers."""
    data = NotificationRequested(
        delivery_id=d.delivery_id, alert_id=d.alert_id, alert_event=d.alert_event, channel=d.channel,
        recipient=d.recipient, requested_at=at,
    )  # fmt: skip
    return Outgoing(data, d.recipient, f"notification.requested:{d.delivery_id}")


def notification_delivered_event(d: Delivery, attempts: int, at: dt.datetime) -> Outgoing:
    data = NotificationDelivered(
        delivery_id=d.delivery_id, alert_id=d.alert_id, channel=d.channel, recipient=d.recipient,
        attempts=attempts, delivered_at=at,
    )  # fmt: skip
    return Outgoing(data, d.recipient, f"notification.delivered:{d.delivery_id}")


def notification_failed_event(d: Delivery, attempts: int, error: str, at: dt.datetime) -> Outgoing:
    data = NotificationFailed(
        delivery_id=d.delivery_id, alert_id=d.alert_id, channel=d.channel, recipient=d.recipient,
        attempts=attempts, error=error[: store.MAX_ERROR], failed_at=at,
    )  # fmt: skip
    return Outgoing(data, d.recipient, f"notification.failed:{d.delivery_id}")


def as_delivery(row: Any) -> Delivery:
    payload = row["payload"]
    return Delivery(
        delivery_id=row["delivery_id"],
        alert_id=row["alert_id"],
        alert_event=row["alert_event"],
        channel=row["channel"],
        recipient=row["recipient"],
        subject=row["subject"],
        body_text=row["body_text"],
        body_html=row["body_html"],
        payload=None if payload is None else bytes(payload),
        deadline=row["deadline"],
    )


# --- the job -------------------------------------------------------------------------------------------------


async def deliver_notifications(
    service: ServiceLike,
    *,
    retry_initial: float | None = None,
    retry_max: float | None = None,
    attempt_timeout: float | None = None,
    idle: float | None = None,
    max_in_flight: int | None = None,
) -> None:
    """Deliver pending notifications forever (until cancelled)."""
    config = WorkerConfig.from_settings(
        service.settings,
        retry_initial=retry_initial,
        retry_max=retry_max,
        attempt_timeout=attempt_timeout,
        idle=idle,
        max_in_flight=max_in_flight,
    )
    in_flight: set[asyncio.Task[None]] = set()
    faults = Backoff(0.2, 5.0)
    async with httpx.AsyncClient(
        follow_redirects=False,
        trust_env=False,
        timeout=config.attempt_timeout,
        verify=tls_context(service.settings.webhook_ca_file),
    ) as client:
        try:
            while True:
                room = config.max_in_flight - len(in_flight)
                claimed: list[asyncpg.Record] = []
                if room > 0:
                    try:
                        claimed = await _claim(service, room, config.lease)
                        faults.reset()
                    except Exception as exc:
                        if not is_transient(exc):
                            raise
                        delay = faults.next_delay()
                        log.warning("cannot claim deliveries", error=repr(exc)[:300], retry_in=round(delay, 3))
                        await asyncio.sleep(delay)
                        continue
                for row in claimed:
                    task = asyncio.create_task(_attempt(service, config, client, row), name=row["delivery_id"])
                    in_flight.add(task)
                    task.add_done_callback(in_flight.discard)
                if len(claimed) < room or room <= 0:
                    # Nothing more is due right now (or we are full): wait for a slot or for time to pass.
                    if in_flight:
                        await asyncio.wait(set(in_flight), timeout=config.idle, return_when=asyncio.FIRST_COMPLETED)
                    else:
                        await asyncio.sleep(config.idle)
        finally:
            # Attempts cut short stay leased and are tried again after their lease, with the same delivery id.
            pending = list(in_flight)
            for task in pending:
                task.cancel()
            with contextlib.suppress(Exception):
                await asyncio.gather(*pending, return_exceptions=True)


async def _claim(service: ServiceLike, limit: int, lease: dt.timedelta) -> list[asyncpg.Record]:
    async with service.pool.acquire() as conn, conn.transaction():
        return await store.claim(conn, limit, lease)


async def attempt_once(
    service: ServiceLike,
    d: Delivery,
    *,
    timeout: float,  # noqa: ASYNC109  (passed on to the SMTP and HTTP clients too)
    client: httpx.AsyncClient,
) -> None:
    """One attempt of `d`; raises `DeliveryError` when it fails (never waits longer than `timeout`)."""
    try:
        async with asyncio.timeout(timeout):
            if d.channel == "email":
                await send_email(service.settings, d, timeout=timeout)
            else:
                await post_webhook(d, service.settings.webhook_secrets(d.recipient), timeout=timeout, client=client)
    except TimeoutError as exc:
        raise DeliveryError(f"no answer within {timeout:g} s") from exc


async def _attempt(service: ServiceLike, config: WorkerConfig, client: httpx.AsyncClient, row: Any) -> None:
    d = as_delivery(row)
    attempts = int(row["attempts"])
    error: str | None = None
    try:
        await attempt_once(service, d, timeout=config.attempt_timeout, client=client)
    except DeliveryError as exc:
        error = exc.message
    except Exception as exc:  # a bug or an unexpected library error: still an attempt that failed
        log.exception("unexpected error delivering a notification", delivery_id=d.delivery_id)
        error = f"{type(exc).__name__}: {exc}"
    try:
        outcome = await retry_transient(
            lambda: _record(service, config, d, attempts, error),
            what="record notification outcome",
            initial=0.2,
            maximum=5.0,
        )
    except Exception:
        # The delivery stays claimed until its lease ends, then it is attempted again.
        log.exception("cannot record a notification outcome", delivery_id=d.delivery_id)
        return
    if outcome is None:
        log.info("stale notification attempt ignored", delivery_id=d.delivery_id, attempts=attempts)
        return
    NOTIFICATIONS.labels(d.channel, outcome).inc()
    fields = {"delivery_id": d.delivery_id, "alert_id": d.alert_id, "channel": d.channel, "attempts": attempts}
    if outcome == "delivered":
        log.info("notification delivered", **fields)
    elif outcome == "retried":
        log.warning("notification attempt failed; will retry", error=error, **fields)
    else:
        log.error("notification failed; giving up", error=error, **fields)


async def _record(
    service: ServiceLike, config: WorkerConfig, d: Delivery, attempts: int, error: str | None
) -> str | None:
    """Record the outcome of attempt `attempts`; the outcome, or None if a later attempt took over."""
    async with service.unit_of_work() as work:
        conn, now = work.conn, work.now
        if error is None:
            if not await store.delivered(conn, d.delivery_id, attempts):
                return None
            work.emit_all([notification_delivered_event(d, attempts, now)])
            return "delivered"
        next_at = now + dt.timedelta(seconds=config.retry_delay(attempts))
        if next_at < d.deadline:
            return "retried" if await store.retry(conn, d.delivery_id, attempts, next_at, error) else None
        if not await store.failed(conn, d.delivery_id, attempts, error):
            return None
        work.emit_all([notification_failed_event(d, attempts, error, now)])
        return "failed"
