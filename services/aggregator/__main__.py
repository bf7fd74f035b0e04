"""`python -m services.aggregator`: per-day loan and wealth read models for the gateway."""

from pathlib import Path

from services.aggregator import handlers
from shared.asyncapi import Publication
from shared.service import Service, Subscription
from shared.settings import Settings, get_settings
from shared.topics import Topic


def build(settings: Settings | None = None) -> Service:
    settings = settings or get_settings()
    return Service(
        "aggregator",
        port=settings.aggregator_port,
        migrations=Path(__file__).parent / "migrations",
        subscriptions=[
            Subscription(
                Topic.SNAPSHOTS,
                handlers.on_snapshots,
                "Loan snapshots, rolled up per officer, branch and the whole portfolio for each business day.",
            ),
            Subscription(Topic.RETURNS, handlers.on_returns, "Wealth returns, for the wealth read model."),
            Subscription(Topic.ALERTS, handlers.on_alerts, "Alert lifecycle events, for the alerts read model."),
        ],
        publications=[
            Publication(
                Topic.AGGREGATES,
                "The loan aggregates of one scope and business day after each change, in day order, keyed by scope.",
            ),
        ],
        settings=settings,
    )


if __name__ == "__main__":
    build().run()
