"""`python -m services.aggregator`: per-day loan and wealth read models for the gateway."""

from pathlib import Path

from services.aggregator import handlers
from shared.service import Service, Subscription
from shared.settings import get_settings
from shared.topics import Topic


def build() -> Service:
    settings = get_settings()
    return Service(
        "aggregator",
        port=settings.aggregator_port,
        migrations=Path(__file__).parent / "migrations",
        subscriptions=[
            Subscription(Topic.SNAPSHOTS, handlers.on_snapshots),
            Subscription(Topic.RETURNS, handlers.on_returns),
            Subscription(Topic.ALERTS, handlers.on_alerts),
        ],
        settings=settings,
    )


if __name__ == "__main__":
    build().run()
