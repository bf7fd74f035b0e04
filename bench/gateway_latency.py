"""Gateway latency at fixed request rates: a load generator in its own process (bench/load_generator.py) sends
a mix of the dashboard's reads at each rate in turn; p50/p90/p99 are measured from each request's scheduled
moment. Run by bench.end_to_end against the read model of its 1M-event history, or on its own against a
running gateway (e.g. after `make up`, which loads the demo; PULSE_DEV_MODE=true signs as its gateway does):

    PULSE_DEV_MODE=true uv run python -m bench.gateway_latency [--url http://127.0.0.1:8000] [--rates 50 100 200 400 800 1600] [--seconds 20]

Appends to bench/results/gateway_latency.jsonl.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import asyncpg

from bench.proc import CpuSampler
from shared.auth import Role, SigningKeys, issue_token
from shared.settings import get_settings

RESULTS = Path(__file__).resolve().parent / "results" / "gateway_latency.jsonl"
RATES = (50.0, 100.0, 200.0, 400.0, 800.0, 1600.0)


async def dashboard_paths(database_url: str) -> list[str]:
    """What a dashboard reads, with ids and dates taken from the read model: the all-portfolio, a branch's and
    an officer's summary on the latest day, a branch's officers, 30 days of history, the wealth summary of all
    clients and one client's history, and the first page of alerts."""
    conn = await asyncpg.connect(database_url)
    try:
        day = await conn.fetchval("SELECT max(business_date) FROM aggregator.loan_summaries WHERE scope = 'all'")
        branch = await conn.fetchval("SELECT min(scope) FROM aggregator.loan_summaries WHERE scope LIKE 'branch:%'")
        officer = await conn.fetchval(
            "SELECT min(scope) FROM aggregator.loan_summaries WHERE scope LIKE 'officer:%' AND business_date = $1",
            day,
        )
        client = await conn.fetchval("SELECT min(client_id) FROM aggregator.wealth_client_days")
    finally:
        await conn.close()
    if day is None or branch is None or officer is None or client is None:
        raise SystemExit("the read model has no loan or wealth data: load some first (make up loads the demo)")
    since = day - dt.timedelta(days=29)
    return [
        "/v1/loans/summary",
        f"/v1/loans/summary?scope={branch}&date={day}",
        f"/v1/loans/summary?scope={officer}&date={day}",
        f"/v1/loans/officers?branch={branch.partition(':')[2]}&date={day}",
        f"/v1/loans/history?scope=all&from={since}&to={day}",
        "/v1/wealth/summary",
        f"/v1/wealth/clients/{client}/history?from={since}&to={day}",
        "/v1/alerts?limit=50",
    ]


def load(url: str, token: str, paths: list[str], rate: float, seconds: float) -> dict[str, object]:
    command = [sys.executable, "-m", "bench.load_generator", "--url", url, "--token", token,
               "--rate", str(rate), "--seconds", str(seconds), *paths]  # fmt: skip
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    result: dict[str, object] = json.loads(out)
    return result


async def measure(
    url: str,
    database_url: str,
    rates: list[float],
    seconds: float,
    *,
    keys: SigningKeys | str,
    gateway_pid: int | None = None,
) -> list[dict[str, object]]:
    """Each rate's latencies and, given the gateway's pid, the CPU seconds of the gateway, PostgreSQL and the
    load generator ("other") while it ran. `keys` sign the admin token the gateway is read with."""
    paths = await dashboard_paths(database_url)
    token = issue_token(Role.ADMIN, sub="bench@bank.test", secret=keys)
    # Warm up (connections, plans, caches), then each rate in turn; stop once one fails to keep up.
    await asyncio.to_thread(load, url, token, paths, rates[0], 5.0)
    results = []
    for rate in rates:
        sampler = CpuSampler({gateway_pid: "gateway"} if gateway_pid is not None else {})
        sampler.start()
        result = await asyncio.to_thread(load, url, token, paths, rate, seconds)
        result["cpu"] = await sampler.stop()
        print(json.dumps({k: v for k, v in result.items() if k != "per_path"}), flush=True)
        results.append(result)
        if float(str(result["p99_ms"])) > 2000:  # saturated: higher rates only queue more
            break
    return results


async def main() -> None:
    parser = argparse.ArgumentParser()
    settings = get_settings()
    parser.add_argument("--url", default=f"http://127.0.0.1:{settings.gateway_port}")
    parser.add_argument("--rates", type=float, nargs="+", default=list(RATES))
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    keys = settings.jwt_keys()  # the running gateway's: PULSE_JWT_SECRET, or the development one under make up
    if keys is None:
        parser.error("set PULSE_JWT_SECRET as the gateway has it, or PULSE_DEV_MODE=true for a `make up` gateway")
    results = await measure(args.url, settings.database_url, args.rates, args.seconds, keys=keys)
    at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    RESULTS.parent.mkdir(exist_ok=True)
    with RESULTS.open("a") as out:
        for r in results:
            out.write(json.dumps({"read_model": "as found", **r, "at": at}) + "\n")


if __name__ == "__main__":
    asyncio.run(main())
