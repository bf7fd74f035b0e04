"""Alert rules (CONTRACT §2 defaults, boundaries, per-scope overrides) and the alert lifecycle."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from services.alerter import lifecycle, rules
from services.alerter.lifecycle import Alert

pytestmark = pytest.mark.unit

HEALTHY = {
    "health_score": Decimal(85), "default_rate": Decimal(2), "par_30": Decimal(3),
    "collection_rate": Decimal(95), "growth_rate": Decimal(4),
}  # fmt: skip
T = rules.Thresholds()
NOW = dt.datetime(2025, 10, 9, 1, 0, tzinfo=dt.UTC)


def figures(**changes: str) -> dict[str, Decimal]:
    return {**HEALTHY, **{k: Decimal(v) for k, v in changes.items()}}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, {}),
        ({"health_score": "49.99"}, {"portfolio_health_critical": "critical"}),
        ({"health_score": "50"}, {"portfolio_health_warning": "warning"}),  # 50 ≤ score < 70
        ({"health_score": "69.99"}, {"portfolio_health_warning": "warning"}),
        ({"health_score": "70"}, {}),
        ({"default_rate": "5"}, {}),  # > 5, not ≥
        ({"default_rate": "5.0001"}, {"high_default_rate": "warning"}),
        ({"default_rate": "10"}, {"high_default_rate": "warning"}),
        ({"default_rate": "10.01"}, {"high_default_rate": "critical"}),
        ({"par_30": "10"}, {}),
        ({"par_30": "10.5"}, {"high_par": "warning"}),
        ({"par_30": "15.0001"}, {"high_par": "critical"}),
        ({"collection_rate": "80"}, {}),
        ({"collection_rate": "79.9999"}, {"low_collection_rate": "warning"}),
        ({"growth_rate": "-10"}, {}),
        ({"growth_rate": "-10.0001"}, {"negative_growth": "warning"}),
    ],
)
def test_each_rule_at_its_boundary(changes: dict[str, str], expected: dict[str, str]) -> None:
    assert rules.holding(figures(**changes), T) == expected


def test_per_scope_overrides_replace_only_what_they_name() -> None:
    config = rules.ThresholdConfig.parse(
        {"default": {"par30_warning": 8}, "scopes": {"branch:B1": {"par30_critical": 12}}}
    )
    assert rules.holding(figures(par_30="9"), config.for_scope("officer:O1")) == {"high_par": "warning"}
    b1 = config.for_scope("branch:B1")
    assert (b1.par30_warning, b1.par30_critical, b1.health_critical) == (Decimal(8), Decimal(12), Decimal(50))
    assert rules.holding(figures(par_30="13"), b1) == {"high_par": "critical"}
    with pytest.raises(ValueError, match="unknown thresholds"):
        rules.ThresholdConfig.parse({"default": {"par_31_warning": 1}})


def values(**figs: str) -> dict[str, dict[str, Decimal]]:
    f = figures(**figs)
    return {t: {n: f[n] for n in names} for t, names in rules.VALUES.items()}


def day(n: int) -> dt.date:
    return dt.date(2025, 10, 1) + dt.timedelta(days=n)


def run(days: list[dict[str, str]]) -> list[list[tuple[str, str, str]]]:
    """Evaluate a scope day after day; each day's changes as (kind, type, severity)."""
    open_alerts: dict[str, Alert] = {}
    out: list[list[tuple[str, str, str]]] = []
    for n, figs in enumerate(days):
        holds = rules.holding(figures(**figs), T)
        changes = lifecycle.evaluate("officer:O1", day(n), holds, open_alerts, values(**figs), NOW)  # type: ignore[arg-type]
        for c in changes:
            if c.kind == "resolved":
                open_alerts.pop(c.alert.alert_type)
            else:
                open_alerts[c.alert.alert_type] = c.alert
        out.append([(c.kind, c.alert.alert_type, c.alert.severity) for c in changes])
    return out


def test_raised_once_while_it_holds_then_resolved() -> None:
    assert run([{"health_score": "45"}, {"health_score": "44"}, {"health_score": "42"}, {"health_score": "75"}]) == [
        [("raised", "portfolio_health_critical", "critical")],
        [],
        [],
        [("resolved", "portfolio_health_critical", "critical")],
    ]


def test_a_severity_change_updates_the_same_alert() -> None:
    changes = run([{"par_30": "16"}, {"par_30": "12"}, {"par_30": "11"}, {"par_30": "9"}])
    assert changes == [
        [("raised", "high_par", "critical")],
        [("severity_changed", "high_par", "warning")],
        [],
        [("resolved", "high_par", "warning")],
    ]


def test_only_new_or_escalated_critical_alerts_are_emailed() -> None:
    open_alerts: dict[str, Alert] = {}
    emails = []
    for n, par in enumerate(["12", "16", "12", "16", "5"]):
        holds = rules.holding(figures(par_30=par), T)
        for c in lifecycle.evaluate("branch:B1", day(n), holds, open_alerts, values(par_30=par), NOW):  # type: ignore[arg-type]
            emails.append((c.kind, c.alert.severity, c.emails))
            if c.kind == "resolved":
                open_alerts.pop(c.alert.alert_type)
            else:
                open_alerts[c.alert.alert_type] = c.alert
    assert emails == [
        ("raised", "warning", False),
        ("severity_changed", "critical", True),  # escalated to critical
        ("severity_changed", "warning", False),
        ("severity_changed", "critical", True),
        ("resolved", "critical", False),  # resolutions are never emailed (webhook only)
    ]


def test_alert_ids_are_deterministic_and_revisions_count_changes() -> None:
    first = lifecycle.evaluate("all", day(0), {"high_par": "warning"}, {}, values(par_30="12"), NOW)[0].alert
    again = lifecycle.evaluate("all", day(0), {"high_par": "warning"}, {}, values(par_30="12"), NOW)[0].alert
    assert first.alert_id == again.alert_id == lifecycle.alert_id("all", "high_par", day(0))
    assert first.alert_id.startswith("al-")
    assert len(first.alert_id) == 27
    changed = lifecycle.evaluate("all", day(1), {"high_par": "critical"}, {"high_par": first}, values(par_30="16"), NOW)
    assert (changed[0].alert.alert_id, changed[0].alert.revision) == (first.alert_id, 2)
