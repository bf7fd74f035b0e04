"""Every PromQL expression of the Grafana dashboards as a recording rule, for `promtool check rules` to parse.

    python3 deploy/prometheus/dashboard_rules.py deploy/grafana/dashboards/*.json > rules.yml

Grafana's variables are replaced by values Prometheus parses (`$service` by `.*`, the intervals by `5m`). JSON
is valid YAML, so the rule file is written as JSON. The standard library only: it runs before `uv sync`.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from typing import Any

VARIABLES = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h", "$service": ".*"}


def expressions(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("expr"), str) and node["expr"].strip():
            yield node["expr"]
        for value in node.values():
            yield from expressions(value)
    elif isinstance(node, list):
        for value in node:
            yield from expressions(value)


def substituted(expr: str) -> str:
    # Longest names first: `$__rate_interval` before anything it starts with.
    for name in sorted(VARIABLES, key=len, reverse=True):
        expr = expr.replace(name, VARIABLES[name])
    return expr


def main(paths: list[str]) -> None:
    rules = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            dashboard = json.load(f)
        for n, expr in enumerate(expressions(dashboard)):
            name = re.sub(r"[^a-zA-Z0-9_]", "_", path.rsplit("/", 1)[-1].removesuffix(".json"))
            rules.append({"record": f"dashboard:{name}:{n}", "expr": substituted(expr)})
    json.dump({"groups": [{"name": "grafana-dashboards", "rules": rules}]}, sys.stdout, indent=1)


if __name__ == "__main__":
    main(sys.argv[1:])
