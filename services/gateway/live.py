"""Live pages (CONTRACT §6: an open page shows changed figures within 5 s, without a reload).

Why PostgreSQL LISTEN/NOTIFY rather than the `aggregates` topic: what a page shows is the read model, and
the aggregator's tables notify `pulse_read_model` from triggers (`services/aggregator/migrations/
005_read_model_notify.sql`), so a notification is delivered exactly when a transaction that changed the read
model commits: never before the change is visible, for every kind of change (loans, wealth and alerts,
acknowledgements included, which never reach `aggregates`), with no consumer group, offsets or topic prefix
to manage in the gateway, and for any number of gateway processes.

`LiveFeed` holds one listening connection (re-opened with backoff if the database goes away; a reconnect
tells every page that everything may have changed) and fans each notification out to the open event
streams, at most one event per area per `coalesce_seconds`: an aggregator catching up commits many times a
second, and a page needs only the last state. Each page then re-fetches its own live region, which the
gateway renders from the same views as the API and answers with 204 when nothing it shows has changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import asyncpg

logger = logging.getLogger("services.gateway.live")

CHANNEL = "pulse_read_model"
AREAS = ("loans", "wealth", "alerts")


class Subscription:
    """The areas changed since a stream last sent an event."""

    def __init__(self, areas: frozenset[str]) -> None:
        self.areas = areas
        self.pending: set[str] = set()
        self.wake = asyncio.Event()

    def notify(self, changed: set[str]) -> None:
        relevant = changed & self.areas
        if relevant:
            self.pending |= relevant
            self.wake.set()

    async def next(self) -> set[str]:
        await self.wake.wait()
        self.wake.clear()
        changed, self.pending = self.pending, set()
        return changed


class LiveFeed:
    def __init__(self, dsn: str, *, coalesce_seconds: float = 0.25, retry_max_seconds: float = 10.0) -> None:
        self._dsn = dsn
        self._coalesce = coalesce_seconds
        self._retry_max = retry_max_seconds
        self._subscriptions: set[Subscription] = set()
        self._changed: set[str] = set()
        self._changed_event = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._closed = asyncio.Event()
        self._generation = dict.fromkeys(AREAS, 0)
        self.connected = asyncio.Event()

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._listen(), name="live-listen"),
            asyncio.create_task(self._fan_out(), name="live-fan-out"),
        ]

    async def close(self) -> None:
        self._closed.set()
        for subscription in self._subscriptions:
            subscription.wake.set()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    @property
    def subscribers(self) -> int:
        return len(self._subscriptions)

    def changed(self, areas: set[str]) -> None:
        """Record a change of these areas (from a notification, or all of them after a reconnect)."""
        for area in areas:
            self._generation[area] += 1
        self._changed |= areas
        self._changed_event.set()

    def generations(self, areas: tuple[str, ...]) -> tuple[int, ...] | None:
        """How many changes of each area have been notified, or None while not listening (when a change
        could go unnoticed): what a rendering of those areas is good for (`pages/regions.py`)."""
        if not self.connected.is_set():
            return None
        return tuple(self._generation[area] for area in areas)

    def _on_notification(self, connection: object, pid: int, channel: str, payload: object) -> None:
        if payload in AREAS:
            self.changed({payload})

    async def _listen(self) -> None:
        delay = 0.2
        while not self.closed:
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(self._dsn, timeout=5)
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _conn, lost=lost: lost.set())
                await conn.add_listener(CHANNEL, self._on_notification)
                logger.info("listening for read-model changes on %s", CHANNEL)
                self.connected.set()
                self.changed(set(AREAS))  # anything may have changed while we were not listening
                delay = 0.2
                await lost.wait()
                logger.warning("read-model notifications lost; reconnecting")
            except asyncio.CancelledError:
                raise
            except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                logger.warning("cannot listen for read-model changes (%s); retrying in %.1f s", exc, delay)
            finally:
                self.connected.clear()
                if conn is not None and not conn.is_closed():
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(conn.close(), timeout=2)
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._retry_max)

    async def _fan_out(self) -> None:
        while True:
            await self._changed_event.wait()
            self._changed_event.clear()
            changed, self._changed = self._changed, set()
            for subscription in list(self._subscriptions):
                subscription.notify(changed)
            await asyncio.sleep(self._coalesce)  # what arrives meanwhile goes out together, once

    async def events(self, areas: frozenset[str]) -> AsyncIterator[set[str]]:
        """The areas that changed, as they change, until the feed closes or the consumer stops."""
        subscription = Subscription(areas)
        self._subscriptions.add(subscription)
        try:
            while not self.closed:
                changed = await subscription.next()
                if self.closed:
                    return
                yield changed
        finally:
            self._subscriptions.discard(subscription)
