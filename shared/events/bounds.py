"""How far ahead of the clock an event may be. A business date later than tomorrow in the configured time zone,
or an `occurred_at` further ahead than the allowed clock skew, is bad input: accepted, a `business_day.closed`
for 9999-12-30 would close every day to year 9999 in one transaction, and an `officer.upserted` stamped
9999-12-31 would win "latest `occurred_at`" for ever.

Pure: the caller gives the clock. The services check every consumed event (`shared.kafka.pipeline`), the
gateway what it publishes; each model names its own event dates (`EventData.EVENT_DATES`), never a schedule's
due dates or a bond's maturity, which lie ahead by nature.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from shared.events.envelope import Envelope, Rejected
from shared.events.types import EventData

ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True, slots=True)
class EventBounds:
    timezone: ZoneInfo
    max_clock_skew: dt.timedelta

    def latest_business_date(self, now: dt.datetime) -> dt.date:
        """Tomorrow in the configured time zone: the latest day an event may be about."""
        return now.astimezone(self.timezone).date() + ONE_DAY

    def check(self, data: EventData, now: dt.datetime, envelope: Envelope | None = None) -> None:
        """Raise `Rejected` if the event is dated too far ahead of `now`."""
        if envelope is not None and envelope.occurred_at > now + self.max_clock_skew:
            raise Rejected(
                "occurred_at_in_future",
                f"occurred_at {envelope.occurred_at.isoformat()} is more than {self.max_clock_skew} ahead of"
                f" {now.isoformat(timespec='seconds')}",
            )
        latest = self.latest_business_date(now)
        for name in data.EVENT_DATES:
            day = getattr(data, name)
            if day is not None and day > latest:
                raise Rejected(
                    "business_date_in_future",
                    f"{name} {day.isoformat()} is after {latest.isoformat()}, tomorrow in {self.timezone.key}",
                )
