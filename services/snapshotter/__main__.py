"""`python -m services.snapshotter`: turns inbound loan and wealth events into daily snapshots."""

from pathlib import Path

from services.snapshotter import handlers, jobs
from shared.service import Service, Subscription
from shared.settings import get_settings
from shared.topics import Topic


def build() -> Service:
    settings = get_settings()
    return Service(
        "snapshotter",
        port=settings.snapshotter_port,
        migrations=Path(__file__).parent / "migrations",
        subscriptions=[
            Subscription(Topic.LOAN_EVENTS, handlers.on_loan_events),
            Subscription(Topic.WEALTH_EVENTS, handlers.on_wealth_events),
            Subscription(Topic.CONTROL, handlers.on_control),
        ],
        jobs=[jobs.restate_late_events, jobs.close_days_on_schedule],
        settings=settings,
    )


if __name__ == "__main__":
    build().run()
