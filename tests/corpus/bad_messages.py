"""A corpus of bad messages (CONTRACT §1 "Bad input"), kept as data.

Every `Case` is one message that must end in `dead-letters` exactly once, copied unchanged under its key,
with the `x-error-code` given here, and must change nothing else. A case names the topic it is published
on, its key (the contract's key of the entity it is about, so it shares a partition with that entity's
good events), its raw value, the code, and the service whose consumer rejects it.

Three levels:
- the envelope: not JSON, not UTF-8, not an object, a missing or mistyped field, an unknown or misplaced
  event type, an unsupported schema version, too large, too deep;
- the data of each event type: a missing, mistyped or extra field, amounts with 6 decimals, NaN, Infinity,
  1e400, principal ≤ 0, schedules empty / not increasing / before the disbursement / not summing, an empty
  payment, a flow of the wrong sign, a duplicate position, impossible dates;
- the state (business rules checked against the book): each such case carries in `setup` the valid events
  it needs before it (published in order on the same key, hence read in order), or, with `after_book`,
  relies on the small valid book of `tests.integration.loans.test_branch_equals_pooled_book.book_events`
  (clients A, B, C, E; loans LA written off on 2025-04-10, LB repaid in full on 2025-02-01, LC, LE repaid)
  and must be published after it.

The setup events are valid: whoever feeds the corpus to Pulse adds them to the valid book it compares with.
"""

from __future__ import annotations

import functools
import itertools
import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiokafka.partitioner import murmur2

from shared.events.envelope import make_envelope
from shared.topics import PARTITIONS, Topic

LOANS, WEALTH, CONTROL = Topic.LOAN_EVENTS, Topic.WEALTH_EVENTS, Topic.CONTROL

DROP: Any = object()
"""As an override: leave the key out."""

AUTO_ID = "<case>"
"""The `event_id` of a case's envelope: replaced by `bad-<case name>` (unique across the corpus)."""


class Lit:
    """A JSON literal written as it is (`1e400`, `NaN`), which `json.dumps` would not write."""

    def __init__(self, text: str) -> None:
        self.text = text


_LITERAL = re.compile(r'"@@lit(\d+)@@"')


def dumps(value: Any) -> bytes:
    """Compact JSON, with `Lit` values written verbatim."""
    literals: list[str] = []

    def default(obj: Any) -> Any:
        if isinstance(obj, Lit):
            literals.append(obj.text)
            return f"@@lit{len(literals) - 1}@@"
        raise TypeError(f"{type(obj).__name__} is not JSON serialisable")

    text = json.dumps(value, default=default, separators=(",", ":"), ensure_ascii=False)
    return _LITERAL.sub(lambda m: literals[int(m.group(1))], text).encode()


def changed(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A copy of `base` with keys changed, added, or removed (`DROP`)."""
    copy = dict(base)
    for key, change in changes.items():
        if change is DROP:
            copy.pop(key, None)
        else:
            copy[key] = change
    return copy


def envelope(event_type: str, data: Any, /, **overrides: Any) -> dict[str, Any]:
    """An envelope (as a dict) around `data`; `overrides` change or remove (`DROP`) its fields."""
    value = {
        "event_id": AUTO_ID,
        "event_type": event_type,
        "schema_version": 1,
        "occurred_at": "2025-06-01T08:00:00Z",
        "source": "corpus",
        "data": data,
    }
    return changed(value, **overrides)


Value = bytes | dict[str, Any] | Callable[[], bytes] | None
"""Raw bytes; an envelope dict (serialised with `dumps`); a builder of large bytes; or None (a tombstone)."""


@dataclass(frozen=True)
class Case:
    name: str
    topic: Topic
    key: str | None
    value: Value
    code: str
    consumer: str = "snapshotter"
    setup: tuple[dict[str, Any], ...] = ()
    after_book: bool = False

    @property
    def event_id(self) -> str:
        return f"bad-{self.name}"

    def raw(self) -> bytes | None:
        """The message value exactly as published."""
        if isinstance(self.value, dict):
            value = dict(self.value)
            if value.get("event_id") == AUTO_ID:
                value["event_id"] = self.event_id
            return dumps(value)
        if callable(self.value):
            return self.value()
        return self.value

    @property
    def dead_letter_value(self) -> bytes:
        """The value its dead letter carries: the raw value; a tombstone's dead letter has an empty one."""
        return self.raw() or b""


# --- Valid data of each inbound event type, which the cases break one way at a time -----------------

OFFICER: dict[str, Any] = {
    "officer_id": "O1",
    # A branch the book does not use and a date far in the future: accepted by mistake, it would re-file O1.
    "branch_id": "ZZ",
    "name": "Olu One",
    "email": "o1@x.org",
    "role": "loan_officer",
}
FUTURE = "2099-01-01T00:00:00Z"
REGISTERED: dict[str, Any] = {"client_id": "A", "officer_id": "O2", "registered_on": "2025-01-01"}
REASSIGNED: dict[str, Any] = {"client_id": "C", "officer_id": "O2", "effective_on": "2025-04-01"}
EXITED: dict[str, Any] = {"client_id": "B", "exited_on": "2025-03-15"}
SCHEDULE: list[dict[str, Any]] = [
    {"due_on": "2025-02-02", "principal": "600", "interest": "10"},
    {"due_on": "2025-03-02", "principal": "600", "interest": "10"},
]
DISBURSED: dict[str, Any] = {
    "loan_id": "LA",
    "client_id": "A",
    "disbursed_on": "2025-01-02",
    "principal": "1200",
    "schedule": SCHEDULE,
}
REPAID: dict[str, Any] = {
    "payment_id": "PA9",
    "loan_id": "LA",
    "client_id": "A",
    "paid_on": "2025-03-01",
    "principal": "10",
    "interest": "1",
    "fees": "0",
}
WRITTEN_OFF: dict[str, Any] = {"loan_id": "LC", "client_id": "C", "written_off_on": "2025-05-01"}
ONBOARDED: dict[str, Any] = {"client_id": "W1", "name": "Wanda", "base_currency": "EUR"}
POSITION: dict[str, Any] = {
    "instrument_id": "US0378331005",
    "asset_class": "Equity",
    "custodian": "Bank A",
    "market_value": "1000.50",
}
VALUED: dict[str, Any] = {"client_id": "W1", "as_of": "2025-05-01", "positions": [POSITION]}
FLOW: dict[str, Any] = {
    "flow_id": "F1",
    "client_id": "W1",
    "flow_date": "2025-04-15",
    "amount": "100",
    "kind": "contribution",
}
CLOSED: dict[str, Any] = {"business_date": "2025-05-15"}
REQUESTED: dict[str, Any] = {"business_date": "2025-05-15", "force": True}


# --- Keys and valid setup events ---------------------------------------------------------------------


def partition_of(key: str, topic: Topic = LOANS) -> int:
    """The partition the default partitioner (murmur2, as the Java client's) gives `key`."""
    return int(murmur2(key.encode()) & 0x7FFFFFFF) % PARTITIONS[topic]


def partner(key: str) -> str:
    """Another key in `key`'s partition of loan-events: its events are read in order with `key`'s."""
    for n in itertools.count(1):
        candidate = f"{key}-{n}"
        if partition_of(candidate) == partition_of(key):
            return candidate
    raise AssertionError("unreachable")


_setup_ids = itertools.count(1)


def good(event_type: str, **data: Any) -> dict[str, Any]:
    """A valid loan event for a case's setup."""
    return make_envelope(event_type, data, source="corpus", event_id=f"corpus-setup-{next(_setup_ids)}")


def register(client: str, on: str = "2025-03-01", officer: str = "O2") -> dict[str, Any]:
    return good("client.registered", client_id=client, officer_id=officer, registered_on=on)


def disburse(loan: str, client: str, on: str = "2025-03-03", principal: int = 300) -> dict[str, Any]:
    third = principal // 3
    parts = [third, third, principal - 2 * third]
    months = ["2025-04-03", "2025-05-03", "2025-06-03"]
    schedule = [{"due_on": d, "principal": str(p), "interest": "3"} for d, p in zip(months, parts, strict=True)]
    return good(
        "loan.disbursed", loan_id=loan, client_id=client, disbursed_on=on, principal=str(principal), schedule=schedule
    )


def repay(payment: str, loan: str, client: str, on: str, principal: str) -> dict[str, Any]:
    return good(
        "loan.repayment_received",
        payment_id=payment,
        loan_id=loan,
        client_id=client,
        paid_on=on,
        principal=principal,
        interest="1",
        fees="0",
    )


def write_off(loan: str, client: str, on: str) -> dict[str, Any]:
    return good("loan.written_off", loan_id=loan, client_id=client, written_off_on=on)


@functools.cache
def _huge(size: int) -> bytes:
    """A well-formed `client.exited` of `size` bytes (a long padding field)."""
    head = dumps(envelope("client.exited", changed(EXITED, padding=""), event_id="bad-huge"))
    marker = b'"padding":""'
    return head.replace(marker, b'"padding":"' + b"x" * (size - len(head)) + b'"')


def huge_2mb() -> bytes:
    return _huge(2_000_000)


def huge_1mb() -> bytes:
    """Over Pulse's 1,000,000-byte limit, under the broker's default limit (1,048,588 bytes)."""
    return _huge(1_040_000)


def near_broker_limit() -> bytes:
    """Over Pulse's 1,000,000-byte limit and just under the broker's default `message.max.bytes` (1,048,588
    bytes for the record batch): a broker with default settings takes it, but not its dead letter, which is
    the same value with seven headers more. Not in `CASES`: see tests/e2e/test_bad_input.py."""
    return _huge(1_048_400)


@functools.cache
def _nested(depth: int) -> bytes:
    """A `client.exited` whose data holds a list nested `depth` deep (well-formed JSON)."""
    head = dumps(envelope("client.exited", changed(EXITED, deep="@@deep@@"), event_id=f"bad-nested-{depth}"))
    return head.replace(b'"@@deep@@"', b"[" * depth + b"]" * depth)


def nested_1000() -> bytes:
    return _nested(1_000)


def nested_100000() -> bytes:
    return _nested(100_000)


@functools.cache
def _many_positions() -> bytes:
    """A `portfolio.valued` with one position more than allowed (10,001), each distinct, under 1 MB."""
    positions = [
        {"instrument_id": f"I{k}", "asset_class": "E", "custodian": "B", "market_value": "1"} for k in range(10_001)
    ]
    return dumps(envelope("portfolio.valued", changed(VALUED, positions=positions), event_id="bad-many-positions"))


def many_positions() -> bytes:
    return _many_positions()


@functools.cache
def _wide() -> bytes:
    """A `client.exited` with an extra field holding 200,000 numbers (wide, not deep; under 1 MB)."""
    return dumps(envelope("client.exited", changed(EXITED, junk=[0] * 200_000), event_id="bad-wide"))


def wide() -> bytes:
    return _wide()


def _build() -> list[Case]:
    cases: list[Case] = []

    def add(name: str, topic: Topic, key: str | None, value: Value, code: str, **more: Any) -> None:
        cases.append(Case(name, topic, key, value, code, **more))

    def loan_env(name: str, key: str, value: Value, code: str) -> None:
        add(name, LOANS, key, value, code)

    exited = functools.partial(envelope, "client.exited", EXITED)

    # -- the envelope: not JSON ----------------------------------------------------------------------
    loan_env("not-json", "A", b"not json", "invalid_json")
    loan_env("not-utf8", "B", b'{"event_id":"\xff\xfe","event_type":"client.exited"}', "invalid_json")
    loan_env("latin1-text", "C", '{"source":"café"}'.encode("latin-1"), "invalid_json")
    loan_env("truncated-json", "E", b'{"event_id":"x","event_type":', "invalid_json")
    loan_env("empty-value", "O1", b"", "invalid_json")
    loan_env("tombstone", "O2", None, "invalid_json")
    loan_env("nan-literal", "A", dumps(envelope("client.exited", EXITED, schema_version=Lit("NaN"))), "invalid_json")
    loan_env("trailing-garbage", "B", dumps(exited()) + b"}", "invalid_json")
    # -- the envelope: not an object, or not the envelope --------------------------------------------
    loan_env("json-array", "C", b'[{"event_type":"client.exited"}]', "invalid_envelope")
    loan_env("json-string", "E", b'"client.exited"', "invalid_envelope")
    loan_env("json-number", "A", b"42", "invalid_envelope")
    loan_env("json-null", "B", b"null", "invalid_envelope")
    loan_env("empty-object", "C", b"{}", "invalid_envelope")
    for missing in ("event_id", "event_type", "occurred_at", "source", "data"):
        loan_env(f"no-{missing.replace('_', '-')}", "E", exited(**{missing: DROP}), "invalid_envelope")
    loan_env("event-id-number", "A", exited(event_id=12345), "invalid_envelope")
    loan_env("event-id-null", "B", exited(event_id=None), "invalid_envelope")
    loan_env("event-id-empty", "C", exited(event_id=""), "invalid_envelope")
    loan_env("event-id-illegal-chars", "E", exited(event_id="bad id/with spaces"), "invalid_envelope")
    loan_env("event-id-65-chars", "A", exited(event_id="x" * 65), "invalid_envelope")
    loan_env("event-type-number", "B", exited(event_type=7), "invalid_envelope")
    loan_env("event-type-empty", "C", exited(event_type=""), "invalid_envelope")
    loan_env("occurred-at-no-offset", "E", exited(occurred_at="2025-06-01T08:00:00"), "invalid_envelope")
    loan_env("occurred-at-number", "A", exited(occurred_at=1748764800), "invalid_envelope")
    loan_env("occurred-at-impossible", "B", exited(occurred_at="2025-02-30T08:00:00Z"), "invalid_envelope")
    loan_env("occurred-at-date-only", "C", exited(occurred_at="2025-06-01"), "invalid_envelope")
    loan_env("occurred-at-before-year-1", "E", exited(occurred_at="0001-01-01T00:00:00+01:00"), "invalid_envelope")
    loan_env("occurred-at-after-9999", "A", exited(occurred_at="9999-12-31T23:00:00-05:00"), "invalid_envelope")
    loan_env("occurred-at-offset-24h", "B", exited(occurred_at="2025-06-01T08:00:00+24:00"), "invalid_envelope")
    loan_env("schema-version-string", "E", exited(schema_version="1"), "invalid_envelope")
    loan_env("schema-version-true", "A", exited(schema_version=True), "invalid_envelope")
    loan_env("schema-version-float", "B", exited(schema_version=Lit("1.0")), "invalid_envelope")
    loan_env("schema-version-0", "C", exited(schema_version=0), "invalid_envelope")
    loan_env("source-number", "E", exited(source=1), "invalid_envelope")
    loan_env("source-empty", "A", exited(source=""), "invalid_envelope")
    loan_env("data-list", "B", exited(data=[EXITED]), "invalid_envelope")
    loan_env("data-string", "C", exited(data="client B exited"), "invalid_envelope")
    loan_env("data-null", "E", exited(data=None), "invalid_envelope")
    loan_env("extra-envelope-field", "A", exited(trace_id="t-1"), "invalid_envelope")
    # -- the envelope: the event type and version ----------------------------------------------------
    loan_env("schema-version-2", "B", exited(schema_version=2), "unsupported_schema_version")
    loan_env("unknown-type", "C", envelope("loan.refinanced", {"loan_id": "LC"}), "unknown_event_type")
    loan_env("unknown-type-version-2", "E", envelope("loan.refinanced", {}, schema_version=2), "unknown_event_type")
    loan_env("wealth-type-on-loans", "A", envelope("portfolio.valued", VALUED), "unknown_event_type")
    loan_env("control-type-on-loans", "B", envelope("business_day.closed", CLOSED), "unknown_event_type")
    loan_env("output-type-on-loans", "C", envelope("loan_snapshot.created", {}), "unknown_event_type")
    # -- the envelope: size and depth ----------------------------------------------------------------
    loan_env("huge-1mb", "B", huge_1mb, "message_too_large")
    loan_env("huge-2mb", "E", huge_2mb, "message_too_large")
    loan_env("nested-40", "A", exited(data=changed(EXITED, deep=json.loads("[" * 40 + "]" * 40))), "invalid_envelope")
    loan_env("nested-1000", "C", nested_1000, "invalid_envelope")
    loan_env("nested-100000", "A", nested_100000, "invalid_envelope")
    loan_env("wide-200k-items", "B", wide, "invalid_data")

    # -- data of loan-events ---------------------------------------------------------------------------
    def loan_data(name: str, key: str, event_type: str, data: dict[str, Any], code: str = "invalid_data") -> None:
        overrides = {"occurred_at": FUTURE} if event_type == "officer.upserted" else {}
        loan_env(name, key, envelope(event_type, data, **overrides), code)

    up, reg, move, out = "officer.upserted", "client.registered", "client.reassigned", "client.exited"
    disb, pay, off = "loan.disbursed", "loan.repayment_received", "loan.written_off"
    loan_data("officer-no-id", "O1", up, changed(OFFICER, officer_id=DROP))
    loan_data("officer-bad-role", "O1", up, changed(OFFICER, role="wizard"))
    loan_data("officer-bad-email", "O2", up, changed(OFFICER, officer_id="O2", email="not-an-email"))
    loan_data("officer-empty-name", "O2", up, changed(OFFICER, officer_id="O2", name=" "))
    loan_data("officer-branch-number", "O1", up, changed(OFFICER, branch_id=5))
    loan_data("officer-extra-field", "O1", up, changed(OFFICER, phone="+254700000000"))
    # PostgreSQL cannot store U+0000 in text: refused as bad data, not left to fail in the database.
    loan_data("officer-name-nul", "O1", up, changed(OFFICER, name="Olu\u0000One"))
    loan_data("officer-email-nul", "O2", up, changed(OFFICER, officer_id="O2", email="o2\u0000@x.org"))
    surrogate = dumps(envelope(up, changed(OFFICER, name="@@name@@"), occurred_at=FUTURE, event_id="bad-surrogate"))
    # A lone surrogate escape names no Unicode character, so the text is no UTF-8 JSON (RFC 7493 §2.1): the
    # decoder refuses it as JSON, before any schema.
    loan_env("officer-name-lone-surrogate", "O1", surrogate.replace(b"@@name@@", b"Olu\\ud800"), "invalid_json")
    loan_data("registered-no-date", "A", reg, changed(REGISTERED, registered_on=DROP))
    loan_data("registered-feb-30", "A", reg, changed(REGISTERED, registered_on="2025-02-30"))
    loan_data("registered-short-date", "A", reg, changed(REGISTERED, registered_on="2025-1-5"))
    loan_data("registered-timestamp", "A", reg, changed(REGISTERED, registered_on="2025-01-01T00:00:00Z"))
    loan_data("registered-officer-null", "A", reg, changed(REGISTERED, officer_id=None))
    loan_data("registered-client-illegal", "A", reg, changed(REGISTERED, client_id="A/../B"))
    loan_data("reassigned-no-officer", "C", move, changed(REASSIGNED, officer_id=DROP))
    loan_data("reassigned-extra-field", "C", move, changed(REASSIGNED, reason="moved"))
    loan_data("exited-date-number", "B", out, changed(EXITED, exited_on=20250315))
    loan_data("exited-month-13", "B", out, changed(EXITED, exited_on="2025-13-01"))
    loan_data("disbursed-no-schedule", "A", disb, changed(DISBURSED, schedule=DROP))
    loan_data("disbursed-no-principal", "A", disb, changed(DISBURSED, principal=DROP))
    loan_data("disbursed-negative", "A", disb, changed(DISBURSED, principal="-1200"))
    loan_data("disbursed-zero", "A", disb, changed(DISBURSED, principal="0"))
    loan_data("disbursed-6-decimals", "A", disb, changed(DISBURSED, principal="1200.000001"))
    loan_data("disbursed-6-decimals-number", "A", disb, changed(DISBURSED, principal=Lit("1199.999999")))
    loan_data("disbursed-nan-string", "A", disb, changed(DISBURSED, principal="NaN"))
    loan_data("disbursed-infinity-string", "A", disb, changed(DISBURSED, principal="Infinity"))
    loan_data("disbursed-1e400", "A", disb, changed(DISBURSED, principal=Lit("1e400")))
    loan_data("disbursed-1e15", "A", disb, changed(DISBURSED, principal="1000000000000000"))
    loan_data("disbursed-principal-bool", "A", disb, changed(DISBURSED, principal=True))
    loan_data("disbursed-principal-commas", "A", disb, changed(DISBURSED, principal="1,200"))
    loan_data("disbursed-principal-list", "A", disb, changed(DISBURSED, principal=["1200"]))
    loan_data("disbursed-schedule-object", "A", disb, changed(DISBURSED, schedule=SCHEDULE[0]))
    loan_data(
        "installment-negative-interest", "A", disb,
        changed(DISBURSED, schedule=[SCHEDULE[0], changed(SCHEDULE[1], interest="-10")]),
    )  # fmt: skip
    loan_data(
        "installment-no-due-date",
        "A",
        disb,
        changed(DISBURSED, schedule=[SCHEDULE[0], changed(SCHEDULE[1], due_on=DROP)]),
    )
    loan_data(
        "installment-extra-field", "A", disb, changed(DISBURSED, schedule=[SCHEDULE[0], changed(SCHEDULE[1], fee="1")])
    )
    loan_data(
        "installment-feb-30",
        "A",
        disb,
        changed(DISBURSED, schedule=[SCHEDULE[0], changed(SCHEDULE[1], due_on="2025-02-30")]),
    )
    loan_data(
        "schedule-1001-installments", "A", disb,
        changed(DISBURSED, principal="1001", schedule=[
            {"due_on": f"{2026 + k // 365}-01-01", "principal": "1", "interest": "0"} for k in range(1001)
        ]),
    )  # fmt: skip
    loan_data("schedule-empty", "A", disb, changed(DISBURSED, schedule=[]), "empty_schedule")
    loan_data(
        "schedule-not-increasing", "A", disb, changed(DISBURSED, schedule=SCHEDULE[::-1]), "schedule_not_increasing"
    )
    loan_data(
        "schedule-same-day-twice", "A", disb,
        changed(DISBURSED, schedule=[SCHEDULE[0], changed(SCHEDULE[1], due_on=SCHEDULE[0]["due_on"])]),
        "schedule_not_increasing",
    )  # fmt: skip
    loan_data(
        "schedule-on-disbursement-day", "A", disb,
        changed(DISBURSED, schedule=[changed(SCHEDULE[0], due_on="2025-01-02"), SCHEDULE[1]]),
        "schedule_before_disbursement",
    )  # fmt: skip
    loan_data(
        "schedule-before-disbursement", "A", disb,
        changed(DISBURSED, schedule=[changed(SCHEDULE[0], due_on="2024-12-31"), SCHEDULE[1]]),
        "schedule_before_disbursement",
    )  # fmt: skip
    loan_data(
        "schedule-not-summing", "A", disb, changed(DISBURSED, principal="1200.0001"), "schedule_principal_mismatch"
    )
    loan_data("schedule-summing-over", "A", disb, changed(DISBURSED, principal="1000"), "schedule_principal_mismatch")
    loan_data("payment-all-zero", "A", pay, changed(REPAID, principal="0", interest="0.0000", fees=0), "empty_payment")
    loan_data("payment-negative-principal", "A", pay, changed(REPAID, principal="-10"))
    loan_data("payment-6-decimals-interest", "A", pay, changed(REPAID, interest="1.000001"))
    loan_data("payment-fees-infinity", "A", pay, changed(REPAID, fees="-Infinity"))
    loan_data("payment-no-id", "A", pay, changed(REPAID, payment_id=DROP))
    loan_data("payment-date-month-13", "A", pay, changed(REPAID, paid_on="2025-13-01"))
    loan_data("payment-principal-null", "A", pay, changed(REPAID, principal=None))
    loan_data("written-off-no-date", "C", off, changed(WRITTEN_OFF, written_off_on=DROP))
    loan_data("written-off-loan-65-chars", "C", off, changed(WRITTEN_OFF, loan_id="L" * 65))
    loan_data("written-off-extra-field", "C", off, changed(WRITTEN_OFF, amount="2700"))

    # -- wealth-events -------------------------------------------------------------------------------
    def wealth(name: str, key: str, value: Value, code: str = "invalid_data") -> None:
        add(name, WEALTH, key, value, code)

    wealth("wealth-not-json", "W1", b"\x00\x01binary", "invalid_json")
    wealth("wealth-unknown-type", "W1", envelope("portfolio.revalued", VALUED), "unknown_event_type")
    wealth("loan-type-on-wealth", "A", envelope("loan.disbursed", DISBURSED), "unknown_event_type")
    wealth("onboarded-no-client", "W1", envelope("client.onboarded", changed(ONBOARDED, client_id=DROP)))
    wealth("onboarded-name-nul", "W1", envelope("client.onboarded", changed(ONBOARDED, name="W\u0000")))
    wealth(
        "valued-custodian-nul", "W1",
        envelope("portfolio.valued", changed(VALUED, positions=[changed(POSITION, custodian="Bank\u0000A")])),
    )  # fmt: skip
    wealth("valued-10001-positions", "W1", many_positions)
    wealth("onboarded-lowercase-currency", "W1", envelope("client.onboarded", changed(ONBOARDED, base_currency="eur")))
    wealth("valued-no-positions", "W1", envelope("portfolio.valued", changed(VALUED, positions=DROP)))
    wealth("valued-feb-30", "W1", envelope("portfolio.valued", changed(VALUED, as_of="2025-02-30")))
    wealth(
        "valued-6-decimals", "W1",
        envelope("portfolio.valued", changed(VALUED, positions=[changed(POSITION, market_value="1000.000001")])),
    )  # fmt: skip
    wealth(
        "valued-nan-quantity", "W1",
        envelope("portfolio.valued", changed(VALUED, positions=[changed(POSITION, quantity="NaN")])),
    )  # fmt: skip
    wealth(
        "valued-position-extra-field", "W1",
        envelope("portfolio.valued", changed(VALUED, positions=[changed(POSITION, isin="US0378331005")])),
    )  # fmt: skip
    wealth(
        "valued-duplicate-position", "W1",
        envelope("portfolio.valued", changed(VALUED, positions=[POSITION, changed(POSITION, market_value="1")])),
        "duplicate_position",
    )  # fmt: skip
    wealth("flow-negative-contribution", "W1", envelope("cash_flow.recorded", changed(FLOW, amount="-100")),
           "flow_sign_mismatch")  # fmt: skip
    wealth("flow-zero-contribution", "W1", envelope("cash_flow.recorded", changed(FLOW, amount="0")),
           "flow_sign_mismatch")  # fmt: skip
    wealth("flow-positive-withdrawal", "W1", envelope("cash_flow.recorded", changed(FLOW, kind="withdrawal")),
           "flow_sign_mismatch")  # fmt: skip
    wealth("flow-unknown-kind", "W1", envelope("cash_flow.recorded", changed(FLOW, kind="gift")))
    wealth("flow-1e400", "W1", envelope("cash_flow.recorded", changed(FLOW, amount=Lit("1e400"))))
    wealth("flow-amount-float-6-decimals", "W1", envelope("cash_flow.recorded", changed(FLOW, amount=Lit("0.000001"))))

    # -- control ---------------------------------------------------------------------------------------
    def control(name: str, value: Value, code: str = "invalid_data") -> None:
        add(name, CONTROL, "2025-05-15", value, code)

    control("control-not-json", b"close 2025-05-15", "invalid_json")
    control("close-feb-30", envelope("business_day.closed", {"business_date": "2025-02-30"}))
    control("close-no-date", envelope("business_day.closed", {}))
    control("close-date-number", envelope("business_day.closed", {"business_date": 20250515}))
    control("close-extra-field", envelope("business_day.closed", changed(CLOSED, officer_id="O1")))
    control("requested-force-string", envelope("snapshot.requested", changed(REQUESTED, force="yes")))
    control("requested-by-nul", envelope("snapshot.requested", changed(REQUESTED, requested_by="admin\u0000")))
    control("requested-officer-illegal", envelope("snapshot.requested", changed(REQUESTED, officer_id="O 1")))
    control("loan-type-on-control", envelope("loan.disbursed", DISBURSED), "unknown_event_type")
    control("close-version-2", envelope("business_day.closed", CLOSED, schema_version=2), "unsupported_schema_version")
    # -- bounds: dated too far ahead of the clock (the date is valid, so only the bound refuses it) ---------
    far = "9999-12-30"
    control("close-year-9999", envelope("business_day.closed", {"business_date": far}), "business_date_in_future")
    control(
        "requested-year-9999", envelope("snapshot.requested", changed(REQUESTED, business_date=far)),
        "business_date_in_future",
    )  # fmt: skip
    loan_env(
        "officer-stamped-year-9999", "O1", envelope("officer.upserted", OFFICER, occurred_at="9999-12-31T00:00:00Z"),
        "occurred_at_in_future",
    )  # fmt: skip
    loan_env("repaid-year-2999", "A", envelope("loan.repayment_received", changed(REPAID, paid_on="2999-01-01")),
             "business_date_in_future")  # fmt: skip
    wealth("valued-year-9999", "W1", envelope("portfolio.valued", changed(VALUED, as_of=far)),
           "business_date_in_future")  # fmt: skip

    # -- state: business rules against the book ------------------------------------------------------
    def rule(name: str, key: str, event_type: str, data: dict[str, Any], code: str, *setup: dict[str, Any]) -> None:
        add(name, LOANS, key, envelope(event_type, data), code, setup=setup)

    def on_book(name: str, key: str, event_type: str, data: dict[str, Any], code: str) -> None:
        add(name, LOANS, key, envelope(event_type, data), code, after_book=True)

    def payment(pid: str, loan: str, client: str, on: str, principal: str) -> dict[str, Any]:
        return {"payment_id": pid, "loan_id": loan, "client_id": client, "paid_on": on, "principal": principal,
                "interest": "1", "fees": "0"}  # fmt: skip

    def disbursal(loan: str, client: str, on: str, principal: int) -> dict[str, Any]:
        return dict(disburse(loan, client, on, principal)["data"])

    rule("pay-unknown-loan", "A", pay, payment("PX1", "L-NOPE", "A", "2025-03-01", "10"), "unknown_loan")
    rule("write-off-unknown-loan", "B", off, {"loan_id": "L-NOPE", "client_id": "B", "written_off_on": "2025-03-01"},
         "unknown_loan")  # fmt: skip
    rule("disburse-unregistered", "NOBODY1", disb, disbursal("L-ORPHAN", "NOBODY1", "2025-03-03", 300),
         "unknown_client")  # fmt: skip
    rule("reassign-unregistered", "NOBODY2", move, changed(REASSIGNED, client_id="NOBODY2"), "unknown_client")
    rule("exit-unregistered", "NOBODY3", out, changed(EXITED, client_id="NOBODY3"), "unknown_client")
    rule("overpay-at-once", "S01", pay, payment("PS01", "LS01", "S01", "2025-03-10", "300.01"), "overpayment",
         register("S01"), disburse("LS01", "S01"))  # fmt: skip
    rule("overpay-over-two", "S02", pay, payment("PS02b", "LS02", "S02", "2025-03-20", "150"), "overpayment",
         register("S02"), disburse("LS02", "S02"), repay("PS02a", "LS02", "S02", "2025-03-10", "200"))  # fmt: skip
    rule("overpay-by-correction", "S03", pay, payment("PS03a", "LS03", "S03", "2025-03-10", "200"), "overpayment",
         register("S03"), disburse("LS03", "S03"), repay("PS03a", "LS03", "S03", "2025-03-10", "100"),
         repay("PS03b", "LS03", "S03", "2025-03-20", "150"))  # fmt: skip
    rule("pay-before-disbursement", "S04", pay, payment("PS04", "LS04", "S04", "2025-03-02", "10"),
         "date_before_disbursement", register("S04"), disburse("LS04", "S04"))  # fmt: skip
    rule("pay-after-write-off", "S05", pay, payment("PS05", "LS05", "S05", "2025-04-21", "10"), "loan_written_off",
         register("S05"), disburse("LS05", "S05"), write_off("LS05", "S05", "2025-04-20"))  # fmt: skip
    rule("pay-off-written-off-loan", "S06", pay, payment("PS06", "LS06", "S06", "2025-04-20", "300"),
         "loan_written_off", register("S06"), disburse("LS06", "S06"),
         write_off("LS06", "S06", "2025-04-20"))  # fmt: skip
    rule("write-off-before-payment", "S07", off,
         {"loan_id": "LS07", "client_id": "S07", "written_off_on": "2025-04-05"}, "payment_after_write_off",
         register("S07"), disburse("LS07", "S07"), repay("PS07", "LS07", "S07", "2025-04-10", "100"))  # fmt: skip
    rule("write-off-repaid-loan", "S08", off, {"loan_id": "LS08", "client_id": "S08", "written_off_on": "2025-04-15"},
         "nothing_outstanding", register("S08"), disburse("LS08", "S08"),
         repay("PS08", "LS08", "S08", "2025-04-01", "300"))  # fmt: skip
    rule("write-off-before-disbursement", "S09", off,
         {"loan_id": "LS09", "client_id": "S09", "written_off_on": "2025-03-01"},
         "date_before_disbursement", register("S09"), disburse("LS09", "S09"))  # fmt: skip
    rule("disburse-before-registration", "S10", disb, disbursal("LS10", "S10", "2025-02-20", 300),
         "date_before_registration", register("S10"))  # fmt: skip
    rule("reassign-before-registration", "S11", move,
         {"client_id": "S11", "officer_id": "O1", "effective_on": "2025-02-01"},
         "date_before_registration", register("S11"))  # fmt: skip
    rule("exit-before-registration", "S12", out, {"client_id": "S12", "exited_on": "2025-02-01"},
         "date_before_registration", register("S12"))  # fmt: skip
    rule("re-register-after-loan", "S13", reg, {"client_id": "S13", "officer_id": "O2", "registered_on": "2025-03-10"},
         "date_before_registration", register("S13"), disburse("LS13", "S13"))  # fmt: skip
    other = partner("S14")
    rule("pay-for-another-clients-loan", other, pay, payment("PS14", "LS14", other, "2025-03-10", "10"),
         "client_mismatch", register("S14"), disburse("LS14", "S14"))  # fmt: skip
    other = partner("S15")
    rule("re-disburse-to-another-client", other, disb, disbursal("LS15", other, "2025-03-03", 300), "client_mismatch",
         register("S15"), disburse("LS15", "S15"), register(other))  # fmt: skip
    other = partner("S16")
    rule("write-off-another-clients-loan", other, off, {"loan_id": "LS16", "client_id": other,
         "written_off_on": "2025-04-01"}, "client_mismatch", register("S16"), disburse("LS16", "S16"))  # fmt: skip
    rule("correct-principal-below-repaid", "S17", disb, disbursal("LS17", "S17", "2025-03-03", 150), "overpayment",
         register("S17"), disburse("LS17", "S17"), repay("PS17", "LS17", "S17", "2025-03-10", "200"))  # fmt: skip
    rule("correct-disbursement-after-payment", "S18", disb, disbursal("LS18", "S18", "2025-03-15", 300),
         "date_before_disbursement", register("S18"), disburse("LS18", "S18"),
         repay("PS18", "LS18", "S18", "2025-03-10", "100"))  # fmt: skip
    on_book("overpay-repaid-book-loan", "B", pay, payment("PB9", "LB", "B", "2025-03-01", "1"), "overpayment")
    on_book("pay-book-loan-before-disbursement", "A", pay, payment("PA8", "LA", "A", "2025-01-01", "1"),
            "date_before_disbursement")  # fmt: skip
    on_book("pay-written-off-book-loan", "A", pay, payment("PA9", "LA", "A", "2025-04-11", "1"), "loan_written_off")
    on_book("write-off-repaid-book-loan", "B", off, {"loan_id": "LB", "client_id": "B", "written_off_on": "2025-04-01"},
            "nothing_outstanding")  # fmt: skip
    on_book("write-off-book-loan-before-payment", "C", off,
            {"loan_id": "LC", "client_id": "C", "written_off_on": "2025-02-20"}, "payment_after_write_off")  # fmt: skip
    on_book("reassign-book-client-too-early", "E", move, {"client_id": "E", "officer_id": "O1",
            "effective_on": "2025-02-11"}, "date_before_registration")  # fmt: skip
    return cases


CASES: list[Case] = _build()

assert len({c.name for c in CASES}) == len(CASES), "case names are unique"


def by_code() -> Counter[str]:
    return Counter(c.code for c in CASES)


def setup_events() -> list[dict[str, Any]]:
    """Every valid event the corpus needs, in corpus order."""
    return [e for c in CASES for e in c.setup]
