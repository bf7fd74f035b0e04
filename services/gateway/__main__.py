"""`python -m services.gateway`: serve the gateway on `PULSE_GATEWAY_HOST:PULSE_GATEWAY_PORT`."""

from __future__ import annotations

import logging

import uvicorn

from services.gateway.app import create_app
from shared.settings import get_settings


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


def main() -> None:
    settings = get_settings()
    _configure_logging(settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=settings.gateway_host,
        port=settings.gateway_port,
        log_config=None,
        access_log=False,
    )


if __name__ == "__main__":
    main()
