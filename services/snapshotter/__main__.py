"""`python -m services.snapshotter`: turns inbound loan and wealth events into daily snapshots."""

import functools
from pathlib import Path

from services.snapshotter import handlers, jobs
from services.snapshotter.loans import store as loans
from shared.asyncapi import Publication
from shared.kafka.lag import IngestBarrier
from shared.service import Service, Subscription, group_of
from shared.settings import Settings, get_settings
from shared.topics import Topic, topic_name


def build(settings: Settings | None = None) -> Service:
    settings = settings or get_settings()
    loan_ingest = IngestBarrier(
        settings.kafka(),
        group_of("snapshotter", Topic.LOAN_EVENTS, settings),
        topic_name(Topic.LOAN_EVENTS, settings.topic_prefix),
    )
    return Service(
        "snapshotter",
        port=settings.snapshotter_port,
        migrations=Path(__file__).parent / "migrations",
        subscriptions=[
            Subscription(
                Topic.LOAN_EVENTS,
                handlers.on_loan_events,
                "Inbound events of the loan management system (officers, clients, loans, repayments, "
                "write-offs), keyed by client (officer for officer.upserted). Applied to the loan book; a late "
                "event restates the snapshots of the days it changes.",
            ),
            Subscription(
                Topic.WEALTH_EVENTS,
                handlers.on_wealth_events,
                "Inbound events of the wealth platform (onboardings, valuations, cash flows), keyed by client.",
            ),
            Subscription(
                Topic.CONTROL,
                functools.partial(
                    handlers.on_control,
                    loan_ingest=loan_ingest,
                    mark_closing=functools.partial(loans.mark_closing, settings.database_url),
                    close_max_days=settings.close_max_days,
                ),
                "Business-day closes and snapshot requests, keyed by business date: a close snapshots every "
                "loan and wealth client for that day.",
            ),
        ],
        publications=[
            Publication(
                Topic.SNAPSHOTS,
                "Loan and wealth snapshots of each business day, for every closed day and again (a new "
                "revision) when a late event or a snapshot request restates a day.",
            ),
            Publication(
                Topic.CONTROL,
                "The scheduled close of the previous business day (PULSE_CLOSE_TIME), keyed by business date.",
                event_types=("business_day.closed",),
            ),
        ],
        jobs=[jobs.restate_late_events, jobs.close_days_on_schedule],
        settings=settings,
    )


if __name__ == "__main__":
    build().run()
