"""`python -m services.alerter`: alert rules, alert lifecycle, email and webhook notifications."""

from pathlib import Path

from services.alerter import handlers, jobs
from services.alerter.notify import worker
from shared.service import Service, Subscription
from shared.settings import get_settings
from shared.topics import Topic


def build() -> Service:
    settings = get_settings()
    return Service(
        "alerter",
        port=settings.alerter_port,
        migrations=Path(__file__).parent / "migrations",
        subscriptions=[
            Subscription(Topic.LOAN_EVENTS, handlers.on_loan_events),
            Subscription(Topic.AGGREGATES, handlers.on_aggregates),
        ],
        jobs=[worker.deliver_notifications, jobs.send_weekly_summaries],
        settings=settings,
    )


if __name__ == "__main__":
    build().run()
