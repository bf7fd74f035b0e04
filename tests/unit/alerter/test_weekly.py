"""The weekly summary's schedule and its content for a small known book."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from services.alerter import weekly

pytestmark = pytest.mark.unit


def officer_day(officer: str, name: str, branch: str, score: str, category: str) -> dict[str, object]:
    return {"officer_id": officer, "officer_name": name, "branch_id": branch,
            "metrics": {"health_score": score, "health_category": category}}  # fmt: skip


def alert(scope: str, branch: str | None, kind: str, severity: str, since: str) -> dict[str, object]:
    return {"scope": scope, "branch_id": branch, "alert_type": kind, "severity": severity, "business_date": since}


LEADERS = [
    {"officer_id": "TL-N", "email": "north.lead@x.org", "branch_id": "N"},
    {"officer_id": "TL-S", "email": "south.lead@x.org", "branch_id": "S"},
]
OFFICERS = [
    officer_day("O1", "Ada Obi", "N", "81.004", "excellent"),
    officer_day("O2", "Ben Ng", "N", "46.995", "critical"),  # rounds half up to 47.00 for display
    officer_day("O3", "Cy Diaz", "S", "72.5", "good"),
]
ALERTS = [
    alert("officer:O2", "N", "portfolio_health_critical", "critical", "2025-10-06"),
    alert("branch:N", "N", "high_par", "warning", "2025-10-07"),
    alert("all", None, "negative_growth", "warning", "2025-10-08"),
]


def test_a_team_leader_gets_their_branch_worst_health_first_with_its_open_alerts() -> None:
    emails = weekly.compose(dt.date(2025, 10, 13), LEADERS, [], OFFICERS, ALERTS)
    north = next(e for e in emails if e.recipient == "north.lead@x.org")
    assert north.subject == "[Pulse] Weekly summary, branch N, week of 2025-10-13"
    assert north.body_text == (
        "Branch N\n"
        "  - Ben Ng (O2): health 47.00 critical\n"
        "  - Ada Obi (O1): health 81.00 excellent\n"
        "  Open alerts:\n"
        "    - CRITICAL portfolio_health_critical on officer:O2 since 2025-10-06\n"
        "    - WARNING high_par on branch:N since 2025-10-07\n"
    )
    south = next(e for e in emails if e.recipient == "south.lead@x.org")
    assert south.body_text == "Branch S\n  - Cy Diaz (O3): health 72.50 good\n  No open alerts.\n"
    assert "<li>Ben Ng (O2): health 47.00 critical</li>" in north.body_html


def test_admins_get_every_branch_and_the_whole_portfolio() -> None:
    emails = weekly.compose(dt.date(2025, 10, 13), [], ["ceo@x.org", "ceo@x.org", "ops@x.org"], OFFICERS, ALERTS)
    assert [e.recipient for e in emails] == ["ceo@x.org", "ops@x.org"]
    text = emails[0].body_text
    assert text.index("Branch N") < text.index("Branch S") < text.index("Whole portfolio")
    assert "    - WARNING negative_growth on all since 2025-10-08\n" in text
    assert emails[0].subject == "[Pulse] Weekly summary, all branches, week of 2025-10-13"


def test_names_are_escaped_in_html() -> None:
    officers = [officer_day("O9", "<script>x</script>", "N", "60", "warning")]
    [email] = weekly.compose(dt.date(2025, 10, 13), LEADERS[:1], [], officers, [])
    assert "<script>" not in email.body_html
    assert "&lt;script&gt;" in email.body_html


def test_the_schedule_is_the_next_monday_nine_oclock_in_the_time_zone() -> None:
    weekday, at = weekly.parse_schedule("MON 09:00")
    zone = ZoneInfo("Africa/Nairobi")
    sunday = dt.datetime(2025, 10, 12, 23, 0, tzinfo=zone)
    assert weekly.next_run(sunday, weekday, at) == dt.datetime(2025, 10, 13, 9, 0, tzinfo=zone)
    monday_after = dt.datetime(2025, 10, 13, 9, 0, 1, tzinfo=zone)
    assert weekly.next_run(monday_after, weekday, at) == dt.datetime(2025, 10, 20, 9, 0, tzinfo=zone)
    with pytest.raises(ValueError, match="MON 09:00"):
        weekly.parse_schedule("Monday at nine")
