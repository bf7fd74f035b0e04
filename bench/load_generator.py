"""An open-loop HTTP load generator, run as its own process (`python -m bench.load_generator`) so that its CPU
is not the gateway's: request i is sent at start + i / rate whatever the earlier ones are doing, and its
latency is measured from that scheduled moment, so a slow server cannot slow the load down and hide its own
queueing (no coordinated omission; wrk, the packaged tool, is closed-loop and cannot hold a fixed rate).

    python -m bench.load_generator --url http://127.0.0.1:8000 --token T --rate 100 --seconds 20 PATH...

Paths are requested round-robin over keep-alive HTTP/1.1 connections (opened as needed, up to 256). The
client is a few lines of asyncio streams rather than httpx: httpx spent ~2 ms of CPU per request and could
not itself send more than ~160 requests/s here, which would have measured the generator, not the gateway.
Prints one JSON object: the rate sent and achieved, latency percentiles (ms) overall and per path, failures
by status or exception, and the CPU seconds the generator used.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import resource
import time
from collections import Counter, defaultdict
from urllib.parse import urlsplit

MAX_CONNECTIONS = 256


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list (q in [0, 100])."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), math.ceil(q / 100 * len(sorted_values))))
    return sorted_values[rank - 1]


def summary(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    return {f"p{q}_ms": round(percentile(ordered, q) * 1000, 1) for q in (50, 90, 99)} | {
        "max_ms": round(ordered[-1] * 1000, 1) if ordered else float("nan")
    }


class Connection:
    """One keep-alive HTTP/1.1 connection: GET, read the status and the whole body (length or chunked)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes) -> None:
        self.reader, self.writer, self.head = reader, writer, head

    @classmethod
    async def open(cls, host: str, port: int, token: str, *, cookie: str | None = None) -> Connection:
        """Authenticated by a bearer token, or, given `cookie`, by that session cookie (as a browser is)."""
        reader, writer = await asyncio.open_connection(host, port)
        auth = f"Cookie: {cookie}" if cookie is not None else f"Authorization: Bearer {token}"
        head = f"Host: {host}:{port}\r\n{auth}\r\nAccept: */*\r\n\r\n".encode()
        return cls(reader, writer, head)

    async def get(self, path: str) -> int:
        status, _ = await self.fetch(path, keep_body=False)
        return status

    async def fetch(
        self, path: str, headers: dict[str, str] | None = None, *, keep_body: bool = True
    ) -> tuple[int, bytes]:
        """GET with extra request headers: the status and (if `keep_body`) the body."""
        extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items()).encode()
        self.writer.write(b"GET " + path.encode() + b" HTTP/1.1\r\n" + extra + self.head)
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionResetError("closed by the server")
        status = int(status_line.split()[1])
        length, chunked = 0, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if not chunked:
            body = await self.reader.readexactly(length)
            return status, body if keep_body else b""
        parts = []
        while size := int((await self.reader.readline()).split(b";")[0], 16):
            parts.append((await self.reader.readexactly(size + 2))[:-2])
        await self.reader.readline()  # the blank line after the last chunk (no trailers)
        return status, b"".join(parts) if keep_body else b""

    def close(self) -> None:
        self.writer.close()


async def run(url: str, token: str, paths: list[str], rate: float, seconds: float) -> dict[str, object]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    idle: list[Connection] = []
    opened = stale = 0
    slots = asyncio.Semaphore(MAX_CONNECTIONS)
    latencies: dict[str, list[float]] = defaultdict(list)
    failures: Counter[str] = Counter()

    async def request(path: str) -> int:
        """GET on an idle connection, or a new one. An idle connection the server has closed meanwhile (its
        keep-alive timeout) is dropped and the request sent again, as any HTTP client does for a GET."""
        nonlocal opened, stale
        while idle:
            connection = idle.pop()
            try:
                status = await connection.get(path)
            except (ConnectionError, asyncio.IncompleteReadError):
                connection.close()
                stale += 1
                continue
            idle.append(connection)
            return status
        connection = await Connection.open(host, port, token)
        opened += 1
        try:
            status = await connection.get(path)
        except BaseException:
            connection.close()
            raise
        idle.append(connection)
        return status

    async def one(path: str, scheduled: float) -> None:
        async with slots:  # beyond MAX_CONNECTIONS in flight, a request waits here, and its latency grows
            try:
                status = await request(path)
                if status != 200:
                    failures[str(status)] += 1
            except (OSError, ValueError, IndexError, asyncio.IncompleteReadError) as exc:
                failures[type(exc).__name__] += 1
        latencies[path].append(time.perf_counter() - scheduled)

    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    total = int(rate * seconds)
    start = time.perf_counter() + 0.1
    tasks = []
    for i in range(total):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(paths[i % len(paths)], scheduled)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    for connection in idle:
        connection.close()
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    every = [v for values in latencies.values() for v in values]
    return {
        "rate": rate,
        "seconds": seconds,
        "requests": total,
        "achieved_per_s": round(total / elapsed, 1),
        **summary(every),
        "failures": dict(failures),
        "connections": opened,
        "stale_connections_replaced": stale,
        "generator_cpu_s": round(cpu, 1),
        "per_path": {path: summary(values) for path, values in latencies.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--rate", type=float, required=True, help="requests per second")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("paths", nargs="+")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.url, args.token, args.paths, args.rate, args.seconds))))


if __name__ == "__main__":
    main()
