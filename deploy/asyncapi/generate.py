"""The AsyncAPI 3.0 document of every Pulse topic and event, generated from the code with FastStream.

Each service declares on its FastStream broker what it reads (its subscribers, with the envelope and data
models of the topic's event types) and what it publishes (`shared.service.Publication`: declared for the
document only, the outbox relay publishes); the gateway, which is not a FastStream app, declares its
publications on a broker that is never connected (`services.gateway.__main__.asyncapi_broker`). This script
puts the five into one document (FastStream's `AsyncAPI` takes several brokers), with sorted keys, so the
file only changes when the code does:

    uv run python deploy/asyncapi/generate.py          # rewrite deploy/asyncapi/pulse.asyncapi.json
    uv run python deploy/asyncapi/generate.py --check  # exit 1 if the committed file is out of date

tests/unit/test_asyncapi.py fails when the committed document and the code differ. The document does not
depend on the environment: it is made with fixed settings (no topic prefix, the compose stack's broker).
"""

from __future__ import annotations

import argparse
import json
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script: the project's packages are importable from the checkout
    sys.path.insert(0, str(ROOT))

from faststream.specification import AsyncAPI  # noqa: E402

from shared.settings import Settings  # noqa: E402

DOCUMENT = Path(__file__).resolve().parent / "pulse.asyncapi.json"

DESCRIPTION = (
    "Every Kafka topic of Pulse and every event on it. Each message value is a JSON envelope (event_id, "
    "event_type, schema_version, occurred_at, source, data) whose `data` is the model of its `event_type`, "
    "except on dead-letters, which carries rejected messages unchanged. Inbound topics (loan-events, "
    "wealth-events, control) are written by the upstream systems, the gateway and `pulse publish`; the "
    "others by the Pulse services through their transactional outbox. Generated from the code by "
    "deploy/asyncapi/generate.py: do not edit."
)


def settings() -> Settings:
    """Fixed settings: `model_validate` reads neither the environment nor `.env`."""
    return Settings.model_validate({"KAFKA_BOOTSTRAP_SERVERS": "kafka:9092", "topic_prefix": ""})


def document() -> dict[str, Any]:
    """The combined document of the five services, as JSON-ready data."""
    from services.aggregator.__main__ import build as aggregator
    from services.alerter.__main__ import build as alerter
    from services.gateway.__main__ import asyncapi_broker as gateway
    from services.returns.__main__ import build as returns
    from services.snapshotter.__main__ import build as snapshotter

    s = settings()
    brokers = [build(s).broker for build in (snapshotter, returns, aggregator, alerter)]
    brokers.append(gateway(s))
    spec = AsyncAPI(
        *brokers,
        title="Pulse",
        version=version("pulse"),
        description=DESCRIPTION,
        schema_version="3.0.0",
    ).to_specification()
    result: dict[str, Any] = spec.to_jsonable()
    return result


def render() -> str:
    return json.dumps(document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="only compare with the committed document")
    parser.add_argument("--output", type=Path, default=DOCUMENT, help=f"default: {DOCUMENT.relative_to(ROOT)}")
    args = parser.parse_args(argv)
    text = render()
    current = args.output.read_text(encoding="utf-8") if args.output.exists() else None
    if args.check:
        if current != text:
            print(f"{args.output} is out of date: run `uv run python deploy/asyncapi/generate.py`", file=sys.stderr)
            return 1
        print(f"{args.output} is up to date")
        return 0
    if current != text:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
    else:
        print(f"{args.output} unchanged")
    return 0


if __name__ == "__main__":
    sys.exit(main())
