"""An open-loop HTTP load generator, run as its own process (`python -m bench.load_generator`) so that its CPU
is not the gateway's: request i is sent at start + i / rate whatever the earlier ones are doing, and its
latency is measured from that scheduled moment, so a slow server cannot slow the load down and hide its own
queueing (no coordinated omission; wrk, the packaged tool, is closed-loop and cannot hold a fixed rate).

    python -m bench.load_generator --url http://127.0.0.1:8000 --token T --rate 100 --seconds 20 PATH...

Paths are requested round-robin. Prints one JSON object: the rate sent and achieved, latency percentiles
(ms) overall and per path, and the failures by status or exception.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import time
from collections import Counter, defaultdict

import httpx


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


async def run(url: str, token: str, paths: list[str], rate: float, seconds: float) -> dict[str, object]:
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    headers = {"Authorization": f"Bearer {token}"}
    latencies: dict[str, list[float]] = defaultdict(list)
    failures: Counter[str] = Counter()
    total = int(rate * seconds)
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=30.0) as client:

        async def one(path: str, scheduled: float) -> None:
            try:
                response = await client.get(path)
                if response.status_code != 200:
                    failures[str(response.status_code)] += 1
            except httpx.HTTPError as exc:
                failures[type(exc).__name__] += 1
            latencies[path].append(time.perf_counter() - scheduled)

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
    every = [v for values in latencies.values() for v in values]
    return {
        "rate": rate,
        "seconds": seconds,
        "requests": total,
        "achieved_per_s": round(total / elapsed, 1),
        **summary(every),
        "failures": dict(failures),
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
