"""`data` of the `aggregates` topic, written by the aggregator."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.events.snapshots import LoanSnapshotMetrics
from shared.events.types import BusinessDate, EventData, Identifier, Name


class LoanAggregateUpdated(EventData):
    """A loans read-model row (officer, branch or whole portfolio on one day), new or restated."""

    domain: Literal["loans"] = "loans"
    scope: str = Field(pattern=r"^(all|branch:[A-Za-z0-9._:-]{1,64}|officer:[A-Za-z0-9._:-]{1,64})$")
    kind: Literal["all", "branch", "officer"]
    business_date: BusinessDate
    revision: int = Field(ge=1)
    branch_id: Identifier | None = None
    officer_id: Identifier | None = None
    officer_name: Name | None = None
    metrics: LoanSnapshotMetrics
