"""Planning notifications: recipients per scope, deduplication, deterministic delivery ids, webhook payloads
and the email's content (escaped)."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from typing import Any

import pytest

from services.alerter.notify import plan
from services.alerter.notify.plan import Delivery, Person, plan_deliveries
from shared.events.envelope import dumps, make_envelope

pytestmark = pytest.mark.unit

NOW = dt.datetime(2025, 10, 9, 1, 0, tzinfo=dt.UTC)
GIVE_UP = dt.timedelta(hours=1)
IDENTIFIER = re.compile(r"[A-Za-z0-9._:-]{1,64}")

ADA = Person("LO-1", "Ada Obi", "ada@bank.org", "loan_officer", "N")
LEAD_N = Person("TL-N", "Nia Lead", "nia@bank.org", "team_leader", "N")
LEAD_N2 = Person("TL-N2", "Ned Lead", "ned@bank.org", "team_leader", "N")
URLS = ["https://hooks.example.org/pulse", "http://127.0.0.1:9/other"]


def alert_envelope(
    event: str = "alert.raised",
    *,
    kind: str = "officer",
    alert_type: str = "portfolio_health_critical",
    severity: str = "critical",
    values: dict[str, str] | None = None,
    officer_name: str | None = "Ada Obi",
    previous_severity: str | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    scope = {"officer": "officer:LO-1", "branch": "branch:N", "all": "all"}[kind]
    data: dict[str, Any] = {
        "alert_id": "al-0123456789abcdef01234567",
        "alert_type": alert_type,
        "severity": severity,
        "scope": scope,
        "kind": kind,
        "branch_id": None if kind == "all" else "N",
        "officer_id": "LO-1" if kind == "officer" else None,
        "officer_name": officer_name if kind == "officer" else None,
        "business_date": "2025-10-08",
        "revision": 1,
        "values": values or {"health_score": "45.2"},
        "raised_at": "2025-10-09T01:00:00Z",
    }
    if event == "alert.raised":
        data["previous_severity"] = previous_severity
    else:
        data["resolved_at"] = "2025-10-10T01:00:00Z"
    return make_envelope(
        event,
        data,
        source="alerter",
        occurred_at=NOW,
        event_id=event_id or f"{event}:{data['alert_id']}:1",
    )


def planned(
    envelope: dict[str, Any],
    *,
    email: bool = True,
    officer: Person | None = ADA,
    leaders: list[Person] | None = None,
    admins: list[str] | None = None,
    urls: list[str] | None = None,
    now: dt.datetime = NOW,
) -> list[Delivery]:
    return plan_deliveries(
        envelope["event_type"],
        envelope,
        email=email,
        officer=officer,
        team_leaders=[LEAD_N, LEAD_N2] if leaders is None else leaders,
        admins=["boss@bank.org"] if admins is None else admins,
        webhook_urls=URLS if urls is None else urls,
        now=now,
        give_up_after=GIVE_UP,
    )


def emails(ds: list[Delivery]) -> list[str]:
    return [d.recipient for d in ds if d.channel == "email"]


def hooks(ds: list[Delivery]) -> list[Delivery]:
    return [d for d in ds if d.channel == "webhook"]


# --- recipients -----------------------------------------------------------------------------------------


def test_officer_scope_emails_the_officer_and_the_branch_team_leaders() -> None:
    ds = planned(alert_envelope(kind="officer"))
    assert emails(ds) == ["ada@bank.org", "nia@bank.org", "ned@bank.org"]
    assert [d.recipient for d in hooks(ds)] == URLS


def test_officer_scope_without_a_known_officer_emails_the_team_leaders() -> None:
    ds = planned(alert_envelope(kind="officer"), officer=None)
    assert emails(ds) == ["nia@bank.org", "ned@bank.org"]


def test_branch_scope_emails_the_branch_team_leaders_only() -> None:
    ds = planned(alert_envelope(kind="branch", values={"health_score": "40"}))
    assert emails(ds) == ["nia@bank.org", "ned@bank.org"]


def test_all_scope_emails_the_admins_only() -> None:
    ds = planned(alert_envelope(kind="all"), admins=["boss@bank.org", "ops@bank.org"])
    assert emails(ds) == ["boss@bank.org", "ops@bank.org"]


def test_addresses_and_webhook_urls_are_deduplicated() -> None:
    # The officer is also listed as a team leader (different case), a leader twice, an admin twice.
    ada_as_leader = Person("LO-1b", "Ada", "ADA@Bank.org", "team_leader", "N")
    ds = planned(alert_envelope(kind="officer"), leaders=[ada_as_leader, LEAD_N, LEAD_N], urls=[*URLS, URLS[0]])
    assert emails(ds) == ["ada@bank.org", "nia@bank.org"]
    assert [d.recipient for d in hooks(ds)] == URLS
    all_scope = planned(alert_envelope(kind="all"), admins=["boss@bank.org", "Boss@bank.org ", ""])
    assert emails(all_scope) == ["boss@bank.org"]


@pytest.mark.parametrize(
    ("event", "severity", "alert_type", "values"),
    [
        ("alert.raised", "warning", "portfolio_health_warning", {"health_score": "60"}),
        ("alert.raised", "warning", "low_collection_rate", {"collection_rate": "71.5"}),
        ("alert.resolved", "critical", "portfolio_health_critical", {"health_score": "75"}),
    ],
)
def test_warnings_and_resolutions_are_not_emailed_but_still_posted(
    event: str, severity: str, alert_type: str, values: dict[str, str]
) -> None:
    envelope = alert_envelope(event, severity=severity, alert_type=alert_type, values=values)
    ds = planned(envelope, email=False)
    assert emails(ds) == []
    assert [d.recipient for d in hooks(ds)] == URLS
    assert all(d.alert_event == event for d in ds)


def test_a_resolution_is_never_emailed_even_if_asked() -> None:
    ds = planned(alert_envelope("alert.resolved", values={"health_score": "75"}), email=True)
    assert emails(ds) == []
    assert len(hooks(ds)) == 2


def test_no_webhooks_configured_means_no_webhook_deliveries() -> None:
    assert hooks(planned(alert_envelope(), urls=[])) == []


def test_not_an_alert_lifecycle_event_is_refused() -> None:
    envelope = alert_envelope()
    with pytest.raises(ValueError, match="not an alert lifecycle event"):
        plan_deliveries(
            "alert.acknowledged",
            envelope,
            email=True,
            officer=ADA,
            team_leaders=[],
            admins=[],
            webhook_urls=URLS,
            now=NOW,
            give_up_after=GIVE_UP,
        )


# --- ids, payloads, deadlines ---------------------------------------------------------------------------


def test_delivery_ids_are_deterministic_identifiers_unique_per_recipient() -> None:
    envelope = alert_envelope()
    first = planned(envelope)
    again = planned(envelope, now=NOW + dt.timedelta(days=3))  # a replay, later
    assert [d.delivery_id for d in first] == [d.delivery_id for d in again]
    ids = [d.delivery_id for d in first]
    assert len(set(ids)) == len(ids) == 5
    for i in ids:
        assert IDENTIFIER.fullmatch(i), i
        assert i.startswith("dl-")
        # room for the derived event ids ("notification.delivered:<id>") within 64 characters
        assert len("notification.requested:" + i) <= 64
    # An address differing only in case is the same recipient: the same id.
    shouting = planned(envelope, officer=Person("LO-1", "Ada Obi", "ADA@Bank.ORG", "loan_officer", "N"))
    assert shouting[0].delivery_id == first[0].delivery_id
    # Another event (a new revision) makes new ids.
    other = planned(alert_envelope(event_id="alert.raised:al-0123456789abcdef01234567:2"))
    assert not set(ids) & {d.delivery_id for d in other}


def test_same_recipient_on_another_channel_has_another_id() -> None:
    assert plan.delivery_id("e1", "email", "x") != plan.delivery_id("e1", "webhook", "x")
    assert plan.delivery_id("e1", "email", "x") == plan.delivery_id("e1", "email", "x")


def test_webhook_payload_is_the_envelope_serialized_once() -> None:
    envelope = alert_envelope(values={"par_30": "16.004"}, alert_type="high_par")
    ds = hooks(planned(envelope))
    assert ds[0].payload == dumps(envelope)
    assert ds[0].payload is ds[1].payload  # the same bytes for every URL
    assert json.loads(ds[0].payload or b"") == json.loads(dumps(envelope))
    assert all(d.subject is None and d.body_text is None and d.body_html is None for d in ds)


def test_deadline_is_now_plus_the_give_up_time() -> None:
    assert {d.deadline for d in planned(alert_envelope())} == {NOW + GIVE_UP}


# --- content --------------------------------------------------------------------------------------------


def test_subject_and_parts_of_a_critical_health_email() -> None:
    ds = planned(alert_envelope(values={"health_score": "45.2"}))
    d = ds[0]
    assert d.subject == "[Pulse] CRITICAL: portfolio health 45.20 for officer Ada Obi (LO-1) on 2025-10-08"
    assert d.payload is None
    assert d.body_text is not None
    assert d.body_html is not None
    text = d.body_text
    for expected in ("portfolio_health_critical", "critical", "officer:LO-1", "2025-10-08", "45.20", "What to do"):
        assert expected in text
    assert "Health score:" in text
    for expected in ("portfolio_health_critical", "officer:LO-1", "2025-10-08", "45.20", "What to do"):
        assert expected in d.body_html
    # Every email of one alert says the same.
    assert {(e.subject, e.body_text, e.body_html) for e in ds if e.channel == "email"} == {
        (d.subject, d.body_text, d.body_html)
    }


@pytest.mark.parametrize(
    ("alert_type", "values", "kind", "subject"),
    [
        ("high_par", {"par_30": "15.456"}, "branch", "[Pulse] CRITICAL: PAR30 15.46% for branch N on 2025-10-08"),
        (
            "high_default_rate",
            {"default_rate": "10.005"},
            "all",
            "[Pulse] CRITICAL: default rate 10.01% for the whole portfolio on 2025-10-08",
        ),
    ],
)
def test_percents_are_rounded_half_up_to_two_places(
    alert_type: str, values: dict[str, str], kind: str, subject: str
) -> None:
    d = planned(alert_envelope(kind=kind, alert_type=alert_type, values=values))[0]
    assert d.subject == subject
    assert d.body_text is not None
    assert subject.split(" ")[3] in d.body_text  # the rounded percent is in the body too


def test_a_severity_change_says_so() -> None:
    envelope = alert_envelope(alert_type="high_par", values={"par_30": "15.5"}, previous_severity="warning")
    d = planned(envelope)[0]
    assert d.subject == "[Pulse] CRITICAL (was WARNING): PAR30 15.50% for officer Ada Obi (LO-1) on 2025-10-08"
    assert d.body_text is not None
    assert "from warning to critical" in d.body_text


def test_every_value_is_escaped_in_the_html_and_the_subject_is_one_line() -> None:
    name = '<script>alert("x")</script> & O\'Neil\nBcc: evil@x.org'
    d = planned(alert_envelope(officer_name=name))[0]
    assert d.body_html is not None
    assert d.subject is not None
    assert "<script>" not in d.body_html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; O&#x27;Neil" in d.body_html
    assert "\n" not in d.subject
    assert "\r" not in d.subject
    assert "O'Neil Bcc: evil@x.org (LO-1)" in d.subject


def test_display_rounds_half_up() -> None:
    assert plan.display(Decimal("45.205")) == "45.21"
    assert plan.display(Decimal("-10.005")) == "-10.01"
    assert plan.display(Decimal("7")) == "7.00"
