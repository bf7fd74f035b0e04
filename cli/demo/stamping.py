"""Envelopes for a demo book's rows: `occurred_at` on each row's business date, strictly increasing, and
deterministic numbered event ids. Shared by the loans and wealth generators."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from typing import Any

from shared.events.envelope import make_envelope

Row = tuple[dt.date, str, dict[str, Any]]  # business date, event type, data


def stamp(
    rows: Sequence[Row], *, source: str, id_prefix: str, day_start: dt.time, day_seconds: int
) -> list[dict[str, Any]]:
    """One envelope per row, in order: a day's rows one second apart from `day_start`, closer together
    when a day has more rows than `day_seconds` (so a day never spills into the next)."""
    per_day = Counter(row[0] for row in rows)
    width = max(7, len(str(len(rows))))
    envelopes = []
    day: dt.date | None = None
    index = 0
    step = dt.timedelta(seconds=1)
    for number, (business_date, event_type, data) in enumerate(rows, 1):
        if business_date != day:
            day, index = business_date, 0
            count = per_day[business_date]
            step = (
                dt.timedelta(seconds=1)
                if count <= day_seconds
                else dt.timedelta(microseconds=day_seconds * 1_000_000 // count)
            )
        at = dt.datetime.combine(business_date, day_start) + index * step
        index += 1
        envelopes.append(
            make_envelope(event_type, data, source=source, occurred_at=at, event_id=f"{id_prefix}{number:0{width}d}")
        )
    return envelopes
