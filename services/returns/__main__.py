"""`python -m services.returns`: Modified Dietz and linked returns for every wealth snapshot."""

from pathlib import Path

from services.returns import handlers
from shared.asyncapi import Publication
from shared.service import Service, Subscription
from shared.settings import Settings, get_settings
from shared.topics import Topic


def build(settings: Settings | None = None) -> Service:
    settings = settings or get_settings()
    return Service(
        "returns",
        port=settings.returns_port,
        migrations=Path(__file__).parent / "migrations",
        subscriptions=[
            Subscription(
                Topic.SNAPSHOTS,
                handlers.on_snapshots,
                "Wealth snapshots, whose daily Modified Dietz return and linked returns are computed (loan "
                "snapshots share the topic and are skipped).",
                event_types=frozenset({"wealth_snapshot.created"}),
            )
        ],
        publications=[
            Publication(Topic.RETURNS, "The returns of one wealth client on one business day, keyed by client."),
        ],
        settings=settings,
    )


if __name__ == "__main__":
    build().run()
