#!/usr/bin/env python3
"""Container healthcheck for the Pulse services (stdlib only: the slim image has no curl).

    python deploy/docker/healthcheck.py 9101                         # GET http://127.0.0.1:9101/healthz
    python deploy/docker/healthcheck.py http://127.0.0.1:8000/readyz

Exit status 0 on a 2xx answer, 1 otherwise (as Docker's HEALTHCHECK expects).
"""

from __future__ import annotations

import sys
import urllib.request


def main(argv: list[str]) -> int:
    target = argv[1] if len(argv) > 1 else "8000"
    url = f"http://127.0.0.1:{target}/healthz" if target.isdigit() else target
    timeout = float(argv[2]) if len(argv) > 2 else 3.0
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (fixed local URL)
            status = response.status
    except Exception as exc:  # any failure means unhealthy
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)
        return 1
    if 200 <= status < 300:
        return 0
    print(f"unhealthy: {url}: HTTP {status}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
