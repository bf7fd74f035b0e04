"""Live pages on the real PostgreSQL (CONTRACT §6): a change of the aggregator's read model reaches an open
event stream (`GET /events`) through the tables' notifications, once per committed change, only for the
areas a page asked for; a statement that changed nothing is silent; a lost listening connection comes back.

The gateway runs under a real uvicorn server: an event stream is a long response that only a real server
delivers while it is still open.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import pytest
import uvicorn

from services.gateway.app import create_app
from services.gateway.live import LiveFeed
from shared.auth import Role, issue_token
from shared.db import create_pool, migrate
from shared.settings import Settings
from tests.support.kafka import eventually
from tests.support.stack import Stack, free_port, login_url, scratch_database

pytestmark = pytest.mark.integration

SECRET = "gateway-live-test-secret-0123456789abcdef"
MIGRATIONS = Path(__file__).resolve().parents[2] / "services/aggregator/migrations"
ADMIN = issue_token(Role.ADMIN, sub="tester@bank.test", secret=SECRET)
D3, D4, D5 = dt.date(2025, 3, 3), dt.date(2025, 3, 4), dt.date(2025, 3, 5)

LOANS_ROW = (
    "INSERT INTO aggregator.loan_summaries (scope, business_date, revision, kind, total_clients, active_clients,"
    " total_loans, active_loans, total_disbursed, total_outstanding, total_collected, par_30, par_60, par_90,"
    " default_rate, collection_rate, portfolio_yield, growth_rate, new_clients_30d, exited_clients_30d,"
    " health_score, health_category)"
    " VALUES ('all', $1, 1, 'all', 1, 1, 1, 1, 100, $2, 0, 0, 0, 0, 0, 100, 0, 0, 0, 0, 80, 'excellent')"
    " ON CONFLICT (scope, business_date) DO UPDATE SET total_outstanding = EXCLUDED.total_outstanding"
    " WHERE loan_summaries.total_outstanding IS DISTINCT FROM EXCLUDED.total_outstanding"
)
ALERT_ROW = (
    "INSERT INTO aggregator.alerts (alert_id, alert_type, severity, scope, kind, business_date, last_business_date,"
    " status, raised_at, revision, \"values\") VALUES ($1, 'high_par', 'warning', 'all', 'all', '2025-03-03',"
    " '2025-03-03', 'open', now(), 1, '{\"par_30\": 12}')"
)
WEALTH_ROW = (
    "INSERT INTO aggregator.wealth_date_totals (as_of, client_count, total_aum, estimated_annual_income,"
    " net_external_flows, period_dollar, period_weighted, period_capital, period_windows, monthly_dollar,"
    " monthly_weighted, monthly_capital, monthly_windows, ytd_dollar, ytd_weighted, ytd_capital, ytd_windows,"
    " inception_dollar, inception_weighted, inception_capital, inception_windows)"
    " VALUES ('2025-03-03', 1, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)"
)


@dataclass
class Stream:
    """The events an open `/events` stream has received, with when."""

    events: list[tuple[float, str]] = field(default_factory=list)
    connected: asyncio.Event = field(default_factory=asyncio.Event)

    def names(self) -> list[str]:
        return [name for _, name in self.events]

    async def next_event(self, after: int, timeout: float) -> tuple[float, str]:
        deadline = time.monotonic() + timeout
        while len(self.events) <= after:
            if time.monotonic() > deadline:
                raise AssertionError(f"no event within {timeout} s; got {self.names()}")
            await asyncio.sleep(0.02)
        return self.events[after]


async def _read(http: httpx.AsyncClient, url: str, stream: Stream) -> None:
    async with http.stream("GET", url, cookies={"pulse_session": ADMIN}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        stream.connected.set()
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                stream.events.append((time.monotonic(), line.removeprefix("event: ")))


@dataclass
class Gateway:
    url: str
    database_url: str
    feed: LiveFeed


@pytest.fixture
async def gateway(stack: Stack) -> AsyncIterator[Gateway]:
    async with scratch_database(stack.database_url, "pulse_tlive") as url:
        pool = await create_pool(url, retry=False)
        try:
            await migrate(pool, "aggregator", MIGRATIONS)
        finally:
            await pool.close()
        app = create_app(
            Settings(
                database_url=login_url(url, "gateway"),
                migration_database_url=login_url(url, "owner"),
                jwt_secret=SECRET,
                kafka_bootstrap_servers="127.0.0.1:1",
            )
        )
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, timeout_graceful_shutdown=1)
        )
        serving = asyncio.create_task(server.serve())
        await eventually(lambda: server.started, timeout=10, interval=0.05)
        feed = app.state.live
        assert isinstance(feed, LiveFeed)
        await asyncio.wait_for(feed.connected.wait(), 10)
        try:
            yield Gateway(f"http://127.0.0.1:{port}", url, feed)
        finally:
            server.should_exit = True
            await asyncio.wait_for(serving, 15)


@contextlib.asynccontextmanager
async def open_stream(gateway: Gateway, areas: str) -> AsyncIterator[Stream]:
    stream = Stream()
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as http:
        reader = asyncio.create_task(_read(http, f"/events?areas={areas}", stream))
        await asyncio.wait_for(stream.connected.wait(), 10)
        await eventually(lambda: gateway.feed.subscribers > 0, timeout=10, interval=0.02)
        await asyncio.sleep(0.5)  # anything the connection itself announced has gone out
        stream.events.clear()
        try:
            yield stream
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
                await reader


async def test_a_committed_change_reaches_an_open_stream_within_a_second(gateway: Gateway) -> None:
    conn = await asyncpg.connect(gateway.database_url)
    try:
        async with open_stream(gateway, "loans,alerts") as stream:
            start = time.monotonic()
            async with conn.transaction():
                await conn.execute(LOANS_ROW, D3, 100)
                await asyncio.sleep(0.5)  # not before the commit
                assert stream.names() == []
            at, name = await stream.next_event(0, timeout=5)
            assert name == "loans"
            assert at - start < 1.5  # 0.5 s of it waiting to commit
            await conn.execute(ALERT_ROW, "A1")
            _, name = await stream.next_event(1, timeout=5)
            assert name == "alerts"
            await conn.execute(WEALTH_ROW)  # an area this page did not ask for
            await conn.execute(LOANS_ROW, D3, 100)  # an upsert that changed nothing
            await asyncio.sleep(1.5)
            assert stream.names() == ["loans", "alerts"]
    finally:
        await conn.close()


async def test_a_burst_of_changes_is_coalesced(gateway: Gateway) -> None:
    conn = await asyncpg.connect(gateway.database_url)
    try:
        async with open_stream(gateway, "loans") as stream:
            for n in range(40):  # forty commits in quick succession, as an aggregator catching up makes
                await conn.execute(LOANS_ROW, D4, n)
            await asyncio.sleep(1.5)
            assert 1 <= stream.names().count("loans") <= 10
    finally:
        await conn.close()


async def test_the_feed_listens_again_after_losing_its_connection(gateway: Gateway) -> None:
    conn = await asyncpg.connect(gateway.database_url)
    try:
        async with open_stream(gateway, "loans,wealth,alerts") as stream:
            gateway.feed.connected.clear()
            killed = await conn.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND query LIKE 'LISTEN%'"
            )
            assert killed == 1
            await asyncio.wait_for(gateway.feed.connected.wait(), 15)
            # Whatever changed meanwhile is unknown: every area is announced once listening again.
            await stream.next_event(2, timeout=5)
            assert sorted(stream.names()[:3]) == ["alerts", "loans", "wealth"]
            await conn.execute(LOANS_ROW, D5, 1)
            _, name = await stream.next_event(3, timeout=5)
            assert name == "loans"
    finally:
        await conn.close()


async def test_an_event_stream_needs_a_session(gateway: Gateway) -> None:
    async with httpx.AsyncClient(base_url=gateway.url) as http:
        response = await http.get("/events")
    assert response.status_code == 401


async def test_a_page_shows_the_read_model_as_it_is_after_a_change(gateway: Gateway) -> None:
    """Pages share their rendering per state of the read model: a change must never leave one behind."""
    conn = await asyncpg.connect(gateway.database_url)
    try:
        await conn.execute(LOANS_ROW, D3, 100)
        async with httpx.AsyncClient(base_url=gateway.url, cookies={"pulse_session": ADMIN}) as http:

            async def shown() -> str | None:
                page = await http.get("/loans")
                found = re.search(r'data-metric="total_outstanding" data-value="([^"]*)"', page.text)
                return found.group(1) if found else None

            await eventually(lambda: _is(shown, "100.00"), timeout=10)
            for value in (250, 251, 100):
                await conn.execute(LOANS_ROW, D3, value)
                await eventually(lambda value=value: _is(shown, f"{value}.00"), timeout=5)  # type: ignore[misc]
    finally:
        await conn.close()


async def _is(read: Callable[[], Awaitable[str | None]], expected: str) -> bool:
    return await read() == expected
