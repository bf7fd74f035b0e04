"""`make bench` / `uv run python -m bench`: every benchmark at the sizes the issues name, one after the other.
Each prints its figures and appends them to bench/results/<name>.jsonl. Needs the local stack.

    uv run python -m bench [--quick]     # --quick: small sizes, a smoke run of the benchmark code
"""

from __future__ import annotations

import subprocess
import sys

FULL = [
    ["bench.end_to_end"],  # 1M events publish → read model vs a bare consumer; gateway latency; memory
    ["bench.loans_close"],  # daily close at 10k, 100k and 1M loans; 10k loans / 100 officers 365-day catch-up
    ["bench.loans_ingest", "--clients", "20000"],
    ["bench.wealth_restatement"],  # 1,000 vs 100,000 clients
    ["bench.wealth_pipeline", "--clients", "10000", "--days", "250"],
    ["bench.dashboard"],  # pages at 50 viewers on the demo book; published event → open page
    ["bench.event_codec"],  # parse and emit, per event type, in-process
]
QUICK = [
    ["bench.end_to_end", "--clients", "1500", "--loans", "2800", "--wealth-clients", "10", "--seconds", "3"],
    [
        "bench.loans_close",
        "--sizes",
        "5000",
        "--catch-up-loans",
        "1000",
        "--catch-up-officers",
        "10",
    ],
    ["bench.loans_ingest", "--clients", "1000"],
    ["bench.wealth_restatement", "--sizes", "1000", "10000", "--repeat", "10"],
    ["bench.wealth_pipeline", "--clients", "100", "--days", "20"],
    ["bench.dashboard", "--small", "--viewers", "10", "--seconds", "5", "--repeat", "2"],
    ["bench.event_codec", "--repeat", "100"],
]


def main() -> int:
    runs = QUICK if "--quick" in sys.argv[1:] else FULL
    for args in runs:
        print(f"== {' '.join(args)}", flush=True)
        code = subprocess.call([sys.executable, "-m", *args])
        if code != 0:
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main())
