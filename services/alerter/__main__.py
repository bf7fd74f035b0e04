"""`python -m services.alerter`: alert rules, alert lifecycle, email and webhook notifications."""

import functools
from pathlib import Path

from services.alerter import handlers, jobs, rules
from services.alerter.notify import worker
from shared.asyncapi import Publication
from shared.service import Service, Subscription
from shared.settings import Settings, get_settings
from shared.topics import Topic


def build(settings: Settings | None = None) -> Service:
    settings = settings or get_settings()
    return Service(
        "alerter",
        port=settings.alerter_port,
        migrations=Path(__file__).parent / "migrations",
        subscriptions=[
            Subscription(
                Topic.LOAN_EVENTS,
                handlers.on_loan_events,
                "Inbound loan events, for the directory of officers (who is notified of an alert): "
                "`officer.upserted` only.",
                # Validating every repayment and disbursement cost the alerter 51 CPU s of a 1M-event replay.
                event_types=frozenset({"officer.upserted"}),
            ),
            Subscription(
                Topic.AGGREGATES,
                functools.partial(
                    handlers.on_aggregates,
                    settings=settings,
                    thresholds=rules.ThresholdConfig.load(settings.thresholds_file),
                ),
                "Loan aggregates, against which the alert rules are evaluated on each scope's latest day.",
            ),
        ],
        publications=[
            Publication(
                Topic.ALERTS,
                "Alerts raised and resolved by the rules, keyed by scope.",
                event_types=("alert.raised", "alert.resolved"),
            ),
            Publication(
                Topic.NOTIFICATIONS,
                "Email and webhook notifications requested, delivered or failed (the audit trail of the "
                "notification worker and the weekly summary), keyed by recipient.",
            ),
        ],
        jobs=[worker.deliver_notifications, jobs.send_weekly_summaries],
        settings=settings,
    )


if __name__ == "__main__":
    build().run()
