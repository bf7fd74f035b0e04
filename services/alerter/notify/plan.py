"""Which notifications an alert change makes, and their content. Pure: no I/O, no clock.

Email (when the caller says this change is emailed: a raised or escalated critical alert) goes to the people
responsible for the scope: officer scope → the officer and the team leaders of the officer's branch; branch
scope → that branch's team leaders; the whole portfolio → the admins. Every raised and resolved alert goes to
each configured webhook, as the alert event's envelope serialized once (the bytes signed and sent).

Delivery ids are derived from (event_id, channel, recipient), so a replay plans the same ids and the
`deliveries` table (ON CONFLICT DO NOTHING) sends nothing twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Literal

from shared.events.alerts import AlertRaised, AlertResolved
from shared.events.envelope import dumps

Channel = Literal["email", "webhook"]
AlertEvent = Literal["alert.raised", "alert.resolved"]

ID_PREFIX = "dl-"
ID_HEX_CHARS = 29  # "dl-" + 29 = 32 characters: room for "notification.delivered:" in derived event ids


@dataclass(frozen=True, slots=True)
class Person:
    """One entry of the officer directory (latest `officer.upserted`)."""

    officer_id: str
    name: str
    email: str
    role: str
    branch_id: str


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message to one recipient over one channel; a row of `alerter.deliveries`."""

    delivery_id: str
    alert_id: str
    alert_event: str
    channel: Channel
    recipient: str  # an email address or the webhook URL
    subject: str | None
    body_text: str | None
    body_html: str | None
    payload: bytes | None  # the webhook body, signed and sent as is
    deadline: dt.datetime  # retried until then, then recorded as failed


def delivery_id(event_id: str, channel: Channel, recipient: str) -> str:
    """Deterministic, and an Identifier (`[A-Za-z0-9._:-]{1,64}`): the webhook's `X-Pulse-Delivery`."""
    digest = hashlib.sha256(f"{event_id}\x1f{channel}\x1f{recipient}".encode()).hexdigest()
    return ID_PREFIX + digest[:ID_HEX_CHARS]


def plan_deliveries(
    alert_event: str,
    envelope: Mapping[str, Any],
    *,
    email: bool,
    officer: Person | None,
    team_leaders: Sequence[Person],
    admins: Sequence[str],
    webhook_urls: Sequence[str],
    now: dt.datetime,
    give_up_after: dt.timedelta,
) -> list[Delivery]:
    """The deliveries one alert event makes.

    `envelope` is the `alert.raised` / `alert.resolved` envelope as published; `email` says whether this change
    is emailed (never a resolution). `team_leaders` are those of the scope's branch (the officer's branch for
    an officer scope); `admins` are the addresses for the whole-portfolio scope.
    """
    alert = _alert(alert_event, envelope)
    event_id = str(envelope["event_id"])
    deadline = now + give_up_after
    out: list[Delivery] = []

    if email and isinstance(alert, AlertRaised):
        subject, text, body_html = compose_email(alert, officer)
        out += [
            Delivery(delivery_id(event_id, "email", address.lower()), alert.alert_id, alert_event, "email", address,
                     subject, text, body_html, None, deadline)
            for address in email_recipients(alert.kind, officer, team_leaders, admins)
        ]  # fmt: skip
    if webhook_urls:
        payload = dumps(dict(envelope))
        out += [
            Delivery(delivery_id(event_id, "webhook", url), alert.alert_id, alert_event, "webhook", url,
                     None, None, None, payload, deadline)
            for url in _unique(u.strip() for u in webhook_urls)
        ]  # fmt: skip
    return out


def email_recipients(
    kind: str, officer: Person | None, team_leaders: Sequence[Person], admins: Sequence[str]
) -> list[str]:
    """Addresses for a scope kind, in a stable order, without duplicates (case-insensitively)."""
    if kind == "officer":
        candidates = [*([officer.email] if officer is not None else []), *(p.email for p in team_leaders)]
    elif kind == "branch":
        candidates = [p.email for p in team_leaders]
    elif kind == "all":
        candidates = list(admins)
    else:
        raise ValueError(f"unknown scope kind {kind!r}")
    seen: set[str] = set()
    out: list[str] = []
    for address in candidates:
        address = address.strip()
        if not address or address.lower() in seen:
            continue
        seen.add(address.lower())
        out.append(address)
    return out


def _unique(items: Any) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for item in items:
        if item and item not in seen:
            seen.add(item)
            out.append(item)
    return out


def _alert(alert_event: str, envelope: Mapping[str, Any]) -> AlertRaised | AlertResolved:
    data = envelope["data"]
    if alert_event == "alert.raised":
        return AlertRaised.model_validate(data)
    if alert_event == "alert.resolved":
        return AlertResolved.model_validate(data)
    raise ValueError(f"not an alert lifecycle event: {alert_event!r}")


# --- content -----------------------------------------------------------------------------------------------

_TITLES: dict[str, str] = {
    "portfolio_health_critical": "Portfolio health critical",
    "portfolio_health_warning": "Portfolio health warning",
    "high_default_rate": "High default rate",
    "high_par": "High portfolio at risk (PAR 30)",
    "low_collection_rate": "Low collection rate",
    "negative_growth": "Negative portfolio growth",
}

# (label, percent?) of each figure an alert may carry.
_FIGURES: dict[str, tuple[str, bool]] = {
    "health_score": ("Health score", False),
    "default_rate": ("Default rate", True),
    "par_30": ("PAR 30", True),
    "collection_rate": ("Collection rate", True),
    "growth_rate": ("Growth rate (30 days)", True),
}

# The figure named in the subject line of each alert type, and how.
_HEADLINES: dict[str, tuple[str, str]] = {
    "portfolio_health_critical": ("health_score", "portfolio health {}"),
    "portfolio_health_warning": ("health_score", "portfolio health {}"),
    "high_default_rate": ("default_rate", "default rate {}%"),
    "high_par": ("par_30", "PAR30 {}%"),
    "low_collection_rate": ("collection_rate", "collection rate {}%"),
    "negative_growth": ("growth_rate", "portfolio growth {}%"),
}

_ADVICE: dict[str, str] = {
    "portfolio_health_critical": (
        "Review the portfolio with the officer today: follow up on late installments, check recent write-offs "
        "and the disbursement pipeline. The health score combines collection rate (40%), default rate (30%), "
        "growth (20%) and yield (10%); the figures above show where it stands."
    ),
    "portfolio_health_warning": (
        "Review the portfolio with the officer this week: late installments, write-offs and growth."
    ),
    "high_default_rate": (
        "Review the loans written off in the last year and the loans now at risk; check whether the officer's "
        "recent disbursements follow the credit policy."
    ),
    "high_par": (
        "Follow up on every loan more than 30 days past due: visit or call the clients, agree on repayment "
        "plans, and escalate those that cannot pay."
    ),
    "low_collection_rate": (
        "Contact the clients whose installments fell due in the last 30 days and are not fully paid."
    ),
    "negative_growth": (
        "Check client exits and loan repayments without renewal, and the officer's disbursement pipeline."
    ),
}


def display(value: Decimal, places: int = 2) -> str:
    """A figure rounded half up for display (`45.2` → `45.20`)."""
    try:
        return format(value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP), "f")
    except InvalidOperation:  # too many digits to quantize: show it as it is
        return format(value, "f")


def _one_line(text: str) -> str:
    """No line breaks or control characters (email headers must not contain them)."""
    cleaned = "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in text)
    return " ".join(cleaned.split())


def scope_description(alert: AlertRaised | AlertResolved, officer: Person | None) -> str:
    if alert.kind == "officer":
        officer_id = alert.officer_id or alert.scope.partition(":")[2]
        name = alert.officer_name or (officer.name if officer is not None else None)
        return f"officer {name} ({officer_id})" if name else f"officer {officer_id}"
    if alert.kind == "branch":
        return f"branch {alert.branch_id or alert.scope.partition(':')[2]}"
    return "the whole portfolio"


def _figures(values: Mapping[str, Decimal]) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for name, value in values.items():
        label, percent = _FIGURES.get(name, (name.replace("_", " ").capitalize(), False))
        rows.append((label, display(value) + ("%" if percent else "")))
    return rows


def subject_line(alert: AlertRaised | AlertResolved, officer: Person | None) -> str:
    figure, template = _HEADLINES.get(alert.alert_type, ("", ""))
    if figure in alert.values:
        headline = template.format(display(alert.values[figure]))
    else:
        headline = alert.alert_type.replace("_", " ")
    if isinstance(alert, AlertResolved):
        status = "RESOLVED"
    elif alert.previous_severity is not None and alert.previous_severity != alert.severity:
        status = f"{alert.severity.upper()} (was {alert.previous_severity.upper()})"
    else:
        status = alert.severity.upper()
    where = scope_description(alert, officer)
    return _one_line(f"[Pulse] {status}: {headline} for {where} on {alert.business_date.isoformat()}")


def compose_email(alert: AlertRaised | AlertResolved, officer: Person | None) -> tuple[str, str, str]:
    """(subject, plain text, HTML) of the email announcing `alert`; every value is escaped in the HTML."""
    subject = subject_line(alert, officer)
    title = _TITLES.get(alert.alert_type, alert.alert_type)
    where = scope_description(alert, officer)
    if isinstance(alert, AlertResolved):
        lead = f"{title} for {where} no longer holds: the alert is resolved."
    elif alert.previous_severity is not None and alert.previous_severity != alert.severity:
        lead = f"{title} for {where}: severity changed from {alert.previous_severity} to {alert.severity}."
    else:
        lead = f"{title} for {where}."
    advice = "" if isinstance(alert, AlertResolved) else _ADVICE.get(alert.alert_type, "")
    branch = f", branch {alert.branch_id}" if alert.branch_id is not None and alert.kind == "officer" else ""
    scope_text = f"{where}{branch} [{alert.scope}]"
    facts: list[tuple[str, str]] = [
        ("Alert", f"{alert.alert_type} ({title})"),
        ("Severity", alert.severity),
        ("Scope", scope_text),
        ("Business date", alert.business_date.isoformat()),
        *_figures(alert.values),
        ("Alert id", alert.alert_id),
    ]

    width = max(len(label) for label, _ in facts) + 2
    text_lines = [lead, ""]
    text_lines += [f"{(label + ':').ljust(width)}{value}" for label, value in facts]
    if advice:
        text_lines += ["", "What to do:", advice]
    text_lines += ["", "-- ", "Pulse portfolio alerts"]
    body_text = "\n".join(text_lines) + "\n"

    e = html.escape
    rows = "".join(
        f'<tr><th align="left" style="padding:2px 12px 2px 0">{e(label)}</th><td>{e(value)}</td></tr>'
        for label, value in facts
    )
    body_html = (
        "<!DOCTYPE html>\n"
        f'<html><head><meta charset="utf-8"><title>{e(subject)}</title></head>\n'
        '<body style="font-family:sans-serif">\n'
        f"<p><strong>{e(lead)}</strong></p>\n"
        f"<table>{rows}</table>\n"
        + (f"<h3>What to do</h3>\n<p>{e(advice)}</p>\n" if advice else "")
        + '<p style="color:#666">Pulse portfolio alerts</p>\n'
        "</body></html>\n"
    )
    return subject, body_text, body_html
