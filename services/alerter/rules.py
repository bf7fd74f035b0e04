"""The alert rules of CONTRACT §2, pure: which alert types hold, at which severity, for a portfolio's
figures, with thresholds that default to the contract's and may be overridden per scope."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from shared.events.alerts import AlertType, Severity


@dataclass(frozen=True, slots=True)
class Thresholds:
    health_critical: Decimal = Decimal(50)  # health_score < this: portfolio_health_critical
    health_warning: Decimal = Decimal(70)  # health_score < this (and >= critical): portfolio_health_warning
    default_rate_critical: Decimal = Decimal(10)  # default_rate > this
    default_rate_warning: Decimal = Decimal(5)
    par30_critical: Decimal = Decimal(15)  # par_30 > this
    par30_warning: Decimal = Decimal(10)
    collection_warning: Decimal = Decimal(80)  # collection_rate < this
    growth_warning: Decimal = Decimal(-10)  # growth_rate < this


# The figures each alert type looks at: what its events carry as `values`.
VALUES: dict[str, tuple[str, ...]] = {
    "portfolio_health_critical": ("health_score",),
    "portfolio_health_warning": ("health_score",),
    "high_default_rate": ("default_rate",),
    "high_par": ("par_30",),
    "low_collection_rate": ("collection_rate",),
    "negative_growth": ("growth_rate",),
}


def holding(metrics: Mapping[str, Decimal], t: Thresholds) -> dict[AlertType, Severity]:
    """The alert types whose rule holds for these figures, with their severity."""
    out: dict[AlertType, Severity] = {}
    health = metrics["health_score"]
    if health < t.health_critical:
        out["portfolio_health_critical"] = "critical"
    elif health < t.health_warning:
        out["portfolio_health_warning"] = "warning"
    if metrics["default_rate"] > t.default_rate_critical:
        out["high_default_rate"] = "critical"
    elif metrics["default_rate"] > t.default_rate_warning:
        out["high_default_rate"] = "warning"
    if metrics["par_30"] > t.par30_critical:
        out["high_par"] = "critical"
    elif metrics["par_30"] > t.par30_warning:
        out["high_par"] = "warning"
    if metrics["collection_rate"] < t.collection_warning:
        out["low_collection_rate"] = "warning"
    if metrics["growth_rate"] < t.growth_warning:
        out["negative_growth"] = "warning"
    return out


@dataclass(frozen=True, slots=True)
class ThresholdConfig:
    """Defaults plus per-scope overrides (`{"default": {...}, "scopes": {"branch:B1": {...}}}`); a scope
    overrides only the thresholds it names."""

    default: Thresholds = Thresholds()
    scopes: Mapping[str, Thresholds] | None = None

    def for_scope(self, scope: str) -> Thresholds:
        return (self.scopes or {}).get(scope, self.default)

    @classmethod
    def parse(cls, document: Mapping[str, Any]) -> ThresholdConfig:
        names = {f.name for f in fields(Thresholds)}

        def apply(base: Thresholds, overrides: Mapping[str, Any]) -> Thresholds:
            unknown = set(overrides) - names
            if unknown:
                raise ValueError(f"unknown thresholds: {sorted(unknown)}")
            return replace(base, **{k: Decimal(str(v)) for k, v in overrides.items()})

        default = apply(Thresholds(), document.get("default", {}))
        scopes = {scope: apply(default, o) for scope, o in document.get("scopes", {}).items()}
        return cls(default, scopes)

    @classmethod
    def load(cls, path: str | None) -> ThresholdConfig:
        return cls() if not path else cls.parse(json.loads(Path(path).read_text()))
