"""The weekly summary (CONTRACT §2): for each team leader, their branch's officers with health scores and
the branch's open alerts; for the admins, every branch. Pure: the emails' recipients and content."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Protocol


class Row(Protocol):
    """A database record or a mapping."""

    def __getitem__(self, key: str, /) -> Any: ...


_SCHEDULE = re.compile(r"^(MON|TUE|WED|THU|FRI|SAT|SUN)\s+(\d{2}):(\d{2})$")
_DAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")


@dataclass(frozen=True, slots=True)
class SummaryEmail:
    recipient: str
    subject: str
    body_text: str
    body_html: str


def parse_schedule(text: str) -> tuple[int, dt.time]:
    """`"MON 09:00"` → (weekday 0, 09:00)."""
    match = _SCHEDULE.match(text.strip().upper())
    if not match:
        raise ValueError(f"a weekly schedule is like 'MON 09:00', not {text!r}")
    return _DAYS.index(match[1]), dt.time(int(match[2]), int(match[3]))


def next_run(now: dt.datetime, weekday: int, at: dt.time) -> dt.datetime:
    """The next time (after `now`, in now's time zone) that is `weekday` at `at`."""
    days_ahead = (weekday - now.weekday()) % 7
    candidate = dt.datetime.combine(now.date() + dt.timedelta(days=days_ahead), at, now.tzinfo)
    return candidate if candidate > now else candidate + dt.timedelta(days=7)


def _score(row: Row) -> str:
    return str(Decimal(str(row["metrics"]["health_score"])).quantize(Decimal("0.01"), ROUND_HALF_UP))


@dataclass(frozen=True, slots=True)
class Section:
    """One branch (or the whole portfolio): its officers, worst health first, and its open alerts."""

    title: str
    officers: list[str]
    alerts: list[str]

    def text(self) -> list[str]:
        lines = [self.title, *(f"  - {o}" for o in self.officers)]
        lines += ["  Open alerts:", *(f"    - {a}" for a in self.alerts)] if self.alerts else ["  No open alerts."]
        return lines

    def html(self) -> str:
        officers = "".join(f"<li>{html.escape(o)}</li>" for o in self.officers)
        alerts = (
            "<p>Open alerts:</p><ul>" + "".join(f"<li>{html.escape(a)}</li>" for a in self.alerts) + "</ul>"
            if self.alerts
            else "<p>No open alerts.</p>"
        )
        return f"<h3>{html.escape(self.title)}</h3>" + (f"<ul>{officers}</ul>" if officers else "") + alerts


def section(title: str, officers: Sequence[Row], alerts: Sequence[Row]) -> Section:
    ranked = sorted(officers, key=lambda r: (Decimal(str(r["metrics"]["health_score"])), r["officer_id"]))
    return Section(
        title,
        [
            f"{o['officer_name'] or o['officer_id']} ({o['officer_id']}): health {_score(o)} "
            f"{o['metrics']['health_category']}"
            for o in ranked
        ],
        [
            f"{a['severity'].upper()} {a['alert_type']} on {a['scope']} since {a['business_date']}"
            for a in sorted(alerts, key=lambda r: (r["severity"] != "critical", r["scope"], r["alert_type"]))
        ],
    )


def compose(
    week_start: dt.date,
    team_leaders: Sequence[Row],
    admins: Sequence[str],
    officer_days: Sequence[Row],
    open_alerts: Sequence[Row],
) -> list[SummaryEmail]:
    """`officer_days`: the latest officer scope rows (scope_days); `open_alerts`: every open alert."""
    officers_by_branch: dict[str, list[Row]] = {}
    for o in officer_days:
        officers_by_branch.setdefault(o["branch_id"] or "(no branch)", []).append(o)
    alerts_by_branch: dict[str, list[Row]] = {}
    for a in open_alerts:
        alerts_by_branch.setdefault(a["branch_id"] or "", []).append(a)
    week = f"week of {week_start.isoformat()}"

    def email(recipient: str, subject: str, sections: Sequence[Section]) -> SummaryEmail:
        return SummaryEmail(
            recipient=recipient,
            subject=f"[Pulse] Weekly summary, {subject}, {week}",
            body_text="\n".join(line for s in sections for line in s.text()) + "\n",
            body_html=f"<h2>Pulse weekly summary, {html.escape(week)}</h2>" + "".join(s.html() for s in sections),
        )

    def branch(b: str) -> Section:
        return section(f"Branch {b}", officers_by_branch.get(b, []), alerts_by_branch.get(b, []))

    emails = [
        email(leader["email"], f"branch {leader['branch_id']}", [branch(leader["branch_id"])])
        for leader in sorted(team_leaders, key=lambda r: r["officer_id"])
    ]
    if admins:
        sections = [branch(b) for b in sorted(set(officers_by_branch) | {b for b in alerts_by_branch if b})]
        if alerts_by_branch.get(""):
            sections.append(section("Whole portfolio", [], alerts_by_branch[""]))
        emails += [email(admin, "all branches", sections) for admin in sorted(set(admins))]
    return emails
