"""Pulse's event schemas: the envelope, the typed `data` of each event type, and their parsing."""

from shared.events.alerts import AlertAcknowledged
from shared.events.control import BusinessDayClosed, SnapshotRequested
from shared.events.envelope import (
    Envelope,
    Rejected,
    describe,
    dumps,
    loads,
    make_envelope,
    new_event_id,
    parse_envelope,
)
from shared.events.loans import (
    ClientExited,
    ClientReassigned,
    ClientRegistered,
    Installment,
    LoanDisbursed,
    LoanRepaymentReceived,
    LoanWrittenOff,
    OfficerUpserted,
)
from shared.events.registry import DATA_MODELS, Event, data_model, parse_event
from shared.events.types import (
    Amount,
    BusinessDate,
    EventData,
    Identifier,
    Measure,
    Model,
    NonNegativeAmount,
    PositiveAmount,
    Timestamp,
)
from shared.events.wealth import (
    CashFlowRecorded,
    ClientOnboarded,
    PortfolioValued,
    Position,
)

__all__ = [
    "DATA_MODELS",
    "AlertAcknowledged",
    "Amount",
    "BusinessDate",
    "BusinessDayClosed",
    "CashFlowRecorded",
    "ClientExited",
    "ClientOnboarded",
    "ClientReassigned",
    "ClientRegistered",
    "Envelope",
    "Event",
    "EventData",
    "Identifier",
    "Installment",
    "LoanDisbursed",
    "LoanRepaymentReceived",
    "LoanWrittenOff",
    "Measure",
    "Model",
    "NonNegativeAmount",
    "OfficerUpserted",
    "PortfolioValued",
    "Position",
    "PositiveAmount",
    "Rejected",
    "SnapshotRequested",
    "Timestamp",
    "data_model",
    "describe",
    "dumps",
    "loads",
    "make_envelope",
    "new_event_id",
    "parse_envelope",
    "parse_event",
]
