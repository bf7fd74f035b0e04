"""`python -m services.returns`: Modified Dietz and linked returns for every wealth snapshot."""

from pathlib import Path

from services.returns import handlers
from shared.service import Service, Subscription
from shared.settings import get_settings
from shared.topics import Topic


def build() -> Service:
    settings = get_settings()
    return Service(
        "returns",
        port=settings.returns_port,
        migrations=Path(__file__).parent / "migrations",
        subscriptions=[Subscription(Topic.SNAPSHOTS, handlers.on_snapshots)],
        settings=settings,
    )


if __name__ == "__main__":
    build().run()
