"""`python -m services.gateway`: serve the gateway on `PULSE_GATEWAY_HOST:PULSE_GATEWAY_PORT`."""

from __future__ import annotations

import logging

import uvicorn
from faststream.kafka import KafkaBroker

from services.gateway.app import create_app
from shared.asyncapi import Publication, declare_publications
from shared.settings import Settings, get_settings
from shared.topics import Topic

# What the gateway publishes (with its own producer, `services.gateway.publisher`), for the AsyncAPI document.
PUBLICATIONS = (
    Publication(
        Topic.CONTROL,
        "Snapshot requests of `POST /v1/snapshots/requests` (regenerate a day's snapshots), keyed by business date.",
        event_types=("snapshot.requested",),
    ),
    Publication(
        Topic.ALERTS,
        "Acknowledgements of `POST /v1/alerts/{alert_id}/ack`, keyed by scope.",
        event_types=("alert.acknowledged",),
    ),
)


def _configure_logging(level: str) -> None:
    try:
        from shared.logging import configure_logging
    except ImportError:
        logging.basicConfig(
            level=level.upper(),
            format="%(asctime)s %(levelname)s %(name)s %(message)s",
        )
    else:
        configure_logging(service="gateway", level=level)


def asyncapi_broker(settings: Settings | None = None) -> KafkaBroker:
    """The gateway's side of the AsyncAPI document (deploy/asyncapi/generate.py); never connected."""
    settings = settings or get_settings()
    broker = KafkaBroker(settings.kafka_bootstrap_servers, client_id="pulse-gateway")
    declare_publications(broker, "gateway", PUBLICATIONS, settings.topic_prefix)
    return broker


def main() -> None:
    settings = get_settings()
    _configure_logging(settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=settings.gateway_host,
        port=settings.gateway_port,
        log_config=None,
        access_log=False,  # an access log would write the `?token=` of sign-in URLs (CONTRACT §6)
        # Open event streams (live pages) never end by themselves: give them 3 s, then close them.
        timeout_graceful_shutdown=3,
    )


if __name__ == "__main__":
    main()
