"""The benchmarks' own measuring tools: the open-loop load generator and the /proc readings."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator

import pytest

from bench.load_generator import percentile, run
from bench.proc import cpu_seconds, memory_mib
from bench.viewers import run as viewers_run

pytestmark = pytest.mark.unit

SERVICE_TIME = 0.2  # seconds the test server takes per request


def test_percentile_is_the_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert [percentile(values, q) for q in (0, 1, 50, 90, 99, 100)] == [1.0, 1.0, 50.0, 90.0, 99.0, 100.0]
    assert percentile([0.5, 2.0], 50) == 0.5
    assert percentile([0.5, 2.0], 51) == 2.0


@pytest.fixture
async def slow_server() -> AsyncIterator[tuple[str, list[str]]]:
    """HTTP/1.1 with keep-alive: every request answered after SERVICE_TIME s, 200, or 500 for /fail; after
    answering /once the server closes the connection, as a keep-alive timeout would, without saying so."""
    seen: list[str] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                path = line.split()[1].decode()
                while (await reader.readline()) not in (b"\r\n", b""):
                    pass
                seen.append(path)
                await asyncio.sleep(SERVICE_TIME)
                status = b"500 Internal Server Error" if path == "/fail" else b"200 OK"
                writer.write(b"HTTP/1.1 " + status + b"\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
                if path == "/once":
                    break
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", seen
    finally:
        server.close()


async def test_the_load_is_open_loop_and_latency_counts_from_the_scheduled_moment(
    slow_server: tuple[str, list[str]],
) -> None:
    url, seen = slow_server
    started = time.perf_counter()
    result = await run(url, "token", ["/a", "/fail"], rate=40, seconds=1)
    elapsed = time.perf_counter() - started
    assert result["requests"] == 40
    assert sorted(seen) == ["/a"] * 20 + ["/fail"] * 20
    assert result["failures"] == {"500": 20}
    # A closed loop would wait for each answer before the next request: 40 × 0.2 s = 8 s. Open loop: ~1.2 s.
    assert elapsed < 4.0
    assert SERVICE_TIME * 1000 <= float(str(result["p50_ms"])) <= float(str(result["p99_ms"]))
    per_path = result["per_path"]
    assert isinstance(per_path, dict)
    assert set(per_path) == {"/a", "/fail"}


def test_proc_readings_of_this_process() -> None:
    before = cpu_seconds(os.getpid())
    assert before is not None
    deadline = time.process_time() + 0.3
    while time.process_time() < deadline:  # burn 0.3 s of CPU
        pass
    after = cpu_seconds(os.getpid())
    assert after is not None
    assert after - before >= 0.2
    memory = memory_mib(os.getpid())
    assert 1 < memory["rss_mib"] <= memory["peak_rss_mib"]
    assert cpu_seconds(2**22 + 1) is None  # no such process


async def test_a_connection_the_server_closed_while_idle_is_replaced_not_counted_as_a_failure(
    slow_server: tuple[str, list[str]],
) -> None:
    url, seen = slow_server
    result = await run(url, "token", ["/once", "/a"], rate=20, seconds=1)
    assert result["failures"] == {}
    assert sorted(seen) == ["/a"] * 10 + ["/once"] * 10  # each request answered once
    assert int(str(result["stale_connections_replaced"])) >= 1


@pytest.fixture
async def live_page_server() -> AsyncIterator[tuple[str, dict[str, int]]]:
    """A dashboard in miniature: `/page` answers its HTML with a region version; the same with `HX-Request`
    and that version answers 204; `/events` announces one change after 0.3 s, then stays open. Each page
    connection is closed by the server after two requests, as a keep-alive timeout would."""
    counts = {"loads": 0, "refreshes": 0, "streams": 0}

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            answered = 0
            while line := await reader.readline():
                path = line.split()[1].decode()
                headers = []
                while (header := await reader.readline()) not in (b"\r\n", b""):
                    headers.append(header.lower())
                if path.startswith("/events"):
                    counts["streams"] += 1
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n")
                    await asyncio.sleep(0.3)
                    writer.write(b"event: loans\r\ndata: loans\r\n\r\n")
                    await writer.drain()
                    await asyncio.sleep(30)
                    return
                if b"hx-request: true\r\n" in headers:
                    counts["refreshes"] += 1
                    writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
                else:
                    counts["loads"] += 1
                    body = b'<div id="live" data-version="abc123">x</div>'
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
                await writer.drain()
                answered += 1
                if answered == 2:
                    break
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", counts
    finally:
        server.close()


@pytest.mark.parametrize("think", [0.0, 0.2])
async def test_viewers_load_their_page_and_refresh_it_once_per_announced_change(
    live_page_server: tuple[str, dict[str, int]], think: float
) -> None:
    url, counts = live_page_server
    result = await viewers_run(url, "pulse_session=x", ["/page"], viewers=3, seconds=1.0, think=think, seed=1)
    page = result["per_path"]["/page"]  # type: ignore[index]
    assert result["failures"] == {}  # connections closed by the server were replaced, not failures
    assert counts["streams"] == 3
    assert page["refreshes"] == counts["refreshes"] == 3  # one per viewer, for the one announced change
    assert page["refreshes_unchanged"] == 3  # each sent back the version it had: nothing to redraw
    assert page["loads"] == counts["loads"] == result["page_loads"]
    assert counts["loads"] >= 3
