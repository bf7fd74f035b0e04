"""People looking at the dashboard, run as their own process (`python -m bench.viewers`) so that their CPU is
not the gateway's. Each viewer keeps one page open the way a browser does: its event stream (`/events`) held
open the whole time, the page loaded, then loaded again after a think time drawn from an exponential
distribution (mean `--think` s; 0: at once, which saturates the gateway), and its live region re-fetched
(`HX-Request`, with the version it has) whenever the stream says what it shows changed. Viewer i opens
`paths[i % len(paths)]`.

    python -m bench.viewers --url http://127.0.0.1:8000 --cookie pulse_session=T --viewers 50 --seconds 30 PATH...

A page load's latency counts from the moment the viewer asks; a refresh's from the moment its event arrived.
Prints one JSON object: per path the page loads (count, p50/p90/p99/max ms, failures) and the refreshes
(count, how many were 204 "unchanged", latency), the rate achieved, and the CPU seconds of this process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import resource
import time
from collections import Counter, defaultdict
from urllib.parse import urlsplit

from bench.load_generator import Connection, summary

VERSION = re.compile(rb'data-version="([0-9a-f]+)"')
AREAS = {"/loans": "loans,alerts", "/wealth": "wealth", "/alerts": "alerts"}


async def stream(host: str, port: int, cookie: str, path: str, events: asyncio.Queue[float]) -> None:
    """Hold `path`'s event stream open; put the arrival time of each event on `events`."""
    reader, writer = await asyncio.open_connection(host, port)
    area = AREAS.get(urlsplit(path).path, "loans,wealth,alerts")
    writer.write(
        f"GET /events?areas={area} HTTP/1.1\r\nHost: {host}:{port}\r\nCookie: {cookie}\r\n"
        "Accept: text/event-stream\r\n\r\n".encode()
    )
    try:
        while line := await reader.readline():
            if line.startswith(b"event: "):
                events.put_nowait(time.perf_counter())
    finally:
        writer.close()


async def run(
    url: str, cookie: str, paths: list[str], viewers: int, seconds: float, think: float, seed: int
) -> dict[str, object]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    loads: dict[str, list[float]] = defaultdict(list)
    refreshes: dict[str, list[float]] = defaultdict(list)
    unchanged: Counter[str] = Counter()
    failures: Counter[str] = Counter()
    rng = random.Random(seed)
    stop = time.perf_counter() + seconds

    async def viewer(i: int) -> None:
        path = paths[i % len(paths)]
        events: asyncio.Queue[float] = asyncio.Queue()
        streaming = asyncio.create_task(stream(host, port, cookie, path, events))
        pages = await Connection.open(host, port, "", cookie=cookie)

        async def fetch(headers: dict[str, str] | None = None) -> tuple[int, bytes]:
            """GET the page; a keep-alive connection the server closed while the viewer was thinking is
            replaced, as a browser does, not counted as a failure."""
            nonlocal pages
            try:
                return await pages.fetch(path, headers)
            except (ConnectionError, asyncio.IncompleteReadError):
                pages.close()
                pages = await Connection.open(host, port, "", cookie=cookie)
                return await pages.fetch(path, headers)

        version = b""
        await asyncio.sleep(rng.random() * max(think, 0.1))  # viewers arrive spread out, not in a burst
        next_load = time.perf_counter()
        try:
            while (now := time.perf_counter()) < stop:
                # A change announced while thinking is shown first, as the page would.
                arrived: float | None = None
                if not events.empty():
                    arrived = events.get_nowait()
                elif now < next_load:
                    try:
                        arrived = await asyncio.wait_for(events.get(), timeout=next_load - now)
                    except TimeoutError:
                        continue
                if arrived is not None:
                    while not events.empty():  # several events at once: one refresh
                        events.get_nowait()
                    status, body = await fetch({"HX-Request": "true", "X-Pulse-Version": version.decode()})
                    refreshes[path].append(time.perf_counter() - arrived)
                    if status == 204:
                        unchanged[path] += 1
                    elif status == 200 and (found := VERSION.search(body)):
                        version = found.group(1)
                    else:
                        failures[f"refresh {status}"] += 1
                    continue
                asked = time.perf_counter()
                status, body = await fetch()
                loads[path].append(time.perf_counter() - asked)
                if status != 200:
                    failures[str(status)] += 1
                elif found := VERSION.search(body):
                    version = found.group(1)
                next_load = time.perf_counter() + (rng.expovariate(1 / think) if think > 0 else 0)
        except (OSError, asyncio.IncompleteReadError) as exc:
            failures[type(exc).__name__] += 1
        finally:
            streaming.cancel()
            pages.close()

    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    await asyncio.gather(*(viewer(i) for i in range(viewers)), return_exceptions=False)
    elapsed = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    every = [v for values in loads.values() for v in values]
    return {
        "viewers": viewers,
        "seconds": seconds,
        "think_s": think,
        "page_loads": len(every),
        "page_loads_per_s": round(len(every) / elapsed, 1),
        **summary(every),
        "failures": dict(failures),
        "per_path": {
            path: {
                "loads": len(loads[path]),
                **summary(loads[path]),
                "refreshes": len(refreshes[path]),
                "refreshes_unchanged": unchanged[path],
                "refresh": summary(refreshes[path]) if refreshes[path] else {},
            }
            for path in paths
        },
        "viewers_cpu_s": round(cpu, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--cookie", required=True, help="the session cookie, name=value")
    parser.add_argument("--viewers", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--think", type=float, default=1.0, help="mean seconds between a viewer's page loads")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("paths", nargs="+")
    args = parser.parse_args()
    result = asyncio.run(run(args.url, args.cookie, args.paths, args.viewers, args.seconds, args.think, args.seed))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
