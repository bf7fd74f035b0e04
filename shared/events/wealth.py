"""`data` of the inbound `wealth-events` (CONTRACT §3)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from shared.events.envelope import Rejected
from shared.events.types import (
    Amount,
    BusinessDate,
    CurrencyCode,
    EventData,
    Identifier,
    Measure,
    Model,
    Name,
)

MAX_POSITIONS = 10_000

FlowKind = Literal["contribution", "withdrawal", "income", "fee"]
EXTERNAL_FLOW_KINDS: frozenset[str] = frozenset({"contribution", "withdrawal"})


class ClientOnboarded(EventData):
    client_id: Identifier
    name: Name
    base_currency: CurrencyCode | None = None


class Position(Model):
    instrument_id: Identifier
    asset_class: Name
    custodian: Name
    # Any sign: a short position or an overdrawn cash line is worth less than nothing.
    market_value: Amount
    est_annual_income: Amount | None = None
    maturity_date: BusinessDate | None = None
    quantity: Measure | None = None
    price: Measure | None = None


class PortfolioValued(EventData):
    """The complete valuation of a client on `as_of`; no positions means the client is worth 0."""

    EVENT_DATES = ("as_of",)

    client_id: Identifier
    as_of: BusinessDate
    positions: Annotated[tuple[Position, ...], Field(max_length=MAX_POSITIONS)]

    def check(self) -> None:
        # The same instrument may be held at two custodians; twice at the same one is a duplicate.
        seen: set[tuple[str, str]] = set()
        for index, position in enumerate(self.positions):
            key = (position.instrument_id, position.custodian)
            if key in seen:
                raise Rejected(
                    "duplicate_position",
                    f"positions.{index}: instrument_id {position.instrument_id} at {position.custodian} appears twice",
                )
            seen.add(key)


class CashFlowRecorded(EventData):
    """`contribution` (> 0) and `withdrawal` (< 0) are external flows; `income` and `fee` (any sign)
    are recorded but are not. A second event with the same `flow_id` corrects (replaces) the flow."""

    EVENT_DATES = ("flow_date",)

    flow_id: Identifier
    client_id: Identifier
    flow_date: BusinessDate
    amount: Amount
    kind: FlowKind

    @property
    def is_external(self) -> bool:
        return self.kind in EXTERNAL_FLOW_KINDS

    def check(self) -> None:
        if self.kind == "contribution" and not self.amount > 0:
            raise Rejected("flow_sign_mismatch", f"a contribution is > 0, got {self.amount}")
        if self.kind == "withdrawal" and not self.amount < 0:
            raise Rejected("flow_sign_mismatch", f"a withdrawal is < 0, got {self.amount}")
