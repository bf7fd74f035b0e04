"""What it costs to parse and to emit each event a valuation or a repayment becomes, in-process: the floor a
consumer pays per event before any business rule, database or broker work.

    uv run python -m bench.event_codec [--repeat 5000]

A valuation crosses three services (`portfolio.valued` → snapshotter → `wealth_snapshot.created` → returns →
`returns.computed` → aggregator); each hop is an emit (model → envelope bytes) and a parse (bytes → envelope
and validated data, exact decimals). Prints microseconds per operation (the best of three rounds) and appends
them to bench/results/event_codec.jsonl. Needs no stack.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from shared.events.envelope import dumps, make_envelope
from shared.events.registry import DATA_MODELS, parse_event
from shared.kafka.pipeline import UnitOfWork
from shared.topics import Topic

RESULTS = Path(__file__).resolve().parent / "results" / "event_codec.jsonl"


def best_microseconds(operation: Callable[[], object], repeat: int) -> float:
    operation()
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(repeat):
            operation()
        best = min(best, (time.perf_counter() - started) / repeat * 1e6)
    return round(best, 1)


def _allocations(*names: str) -> tuple[dict[str, Any], ...]:
    return tuple({"name": name, "value": Decimal("50000.5")} for name in names)


def samples() -> dict[str, Any]:
    """One of each message, as the services write them (a two-position portfolio, a 16-installment loan)."""
    day = dt.date(2025, 3, 3)
    valued = {"client_id": "W1", "as_of": day.isoformat(), "positions": [
        {"instrument_id": "EQ1", "asset_class": "Equity", "custodian": "Bank 1", "market_value": "60000"},
        {"instrument_id": "BD1", "asset_class": "Fixed Income", "custodian": "Bank 2", "market_value": "40000",
         "maturity_date": "2031-06-30", "est_annual_income": "800"},
    ]}  # fmt: skip
    snapshot = DATA_MODELS["wealth_snapshot.created"].model_validate({
        "client_id": "W1", "as_of": day, "revision": 1, "previous_as_of": day - dt.timedelta(days=3),
        "total_value": Decimal("100000"), "estimated_annual_income": Decimal("800"),
        "asset_allocation": _allocations("Equity", "Fixed Income"), "custodian_allocation": _allocations("Bank 1", "Bank 2"),
        "bond_maturity": ({"year": 2031, "value": Decimal("40000")},), "external_flows": (),
        "net_external_flows": Decimal("0"),
    })  # fmt: skip
    windows = {
        f"{w}_{field}": value
        for w in ("period", "monthly", "ytd")
        for field, value in (("return_dollar", Decimal("123.45")), ("return_percent", Decimal("0.0123456789012345")),
                             ("average_capital", Decimal("100000.123")))
    }  # fmt: skip
    returns = DATA_MODELS["returns.computed"].model_validate({
        "client_id": "W1", "as_of": day, "revision": 1, "total_value": Decimal("100000"),
        "estimated_annual_income": Decimal("800"), "net_external_flows": Decimal("0"),
        "asset_allocation": _allocations("Equity", "Fixed Income"), "custodian_allocation": _allocations("Bank 1", "Bank 2"),
        "bond_maturity": ({"year": 2031, "value": Decimal("40000")},), "period_start_date": day - dt.timedelta(days=3),
        "month_start_date": day.replace(day=1), "ytd_start_date": day.replace(month=1, day=2),
        "inception_date": day.replace(month=1, day=2), **windows, "inception_dollar_performance": Decimal("5"),
        "inception_return_pct": Decimal("0.1"), "inception_average_capital": Decimal("99000.5"),
    })  # fmt: skip
    repayment = {"payment_id": "P1", "loan_id": "L1", "client_id": "C1", "paid_on": day.isoformat(),
                 "principal": "62.5", "interest": "5.1", "fees": "0"}  # fmt: skip
    schedule = [{"due_on": (day + dt.timedelta(weeks=k)).isoformat(), "principal": "62.5", "interest": "5.1"}
                for k in range(1, 17)]  # fmt: skip
    disbursed = {"loan_id": "L1", "client_id": "C1", "disbursed_on": day.isoformat(), "principal": "1000",
                 "schedule": schedule}  # fmt: skip
    return {"valued": valued, "snapshot": snapshot, "returns": returns, "repayment": repayment, "disbursed": disbursed}


def measure(repeat: int) -> dict[str, float]:
    s = samples()
    work = UnitOfWork(conn=None, prefix="", source="bench")  # type: ignore[arg-type]  # emit stages, no I/O
    valued = dumps(make_envelope("portfolio.valued", s["valued"], source="bench"))
    snapshot = work.emit(s["snapshot"], "W1", event_id="s").value
    returns = work.emit(s["returns"], "W1", event_id="r").value
    repayment = dumps(make_envelope("loan.repayment_received", s["repayment"], source="bench"))
    disbursed = dumps(make_envelope("loan.disbursed", s["disbursed"], source="bench"))
    hops = {
        "parse_portfolio_valued_us": lambda: parse_event(Topic.WEALTH_EVENTS, valued),
        "emit_wealth_snapshot_created_us": lambda: work.emit(s["snapshot"], "W1", event_id="s"),
        "parse_wealth_snapshot_created_us": lambda: parse_event(Topic.SNAPSHOTS, snapshot),
        "emit_returns_computed_us": lambda: work.emit(s["returns"], "W1", event_id="r"),
        "parse_returns_computed_us": lambda: parse_event(Topic.RETURNS, returns),
    }
    result = {name: best_microseconds(operation, repeat) for name, operation in hops.items()}
    work.outputs.clear()
    result["valuation_chain_us"] = round(sum(result.values()), 1)
    result["parse_repayment_us"] = best_microseconds(lambda: parse_event(Topic.LOAN_EVENTS, repayment), repeat)
    result["parse_disbursement_16_installments_us"] = best_microseconds(
        lambda: parse_event(Topic.LOAN_EVENTS, disbursed), repeat
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5000)
    args = parser.parse_args()
    result: dict[str, Any] = {**measure(args.repeat), "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    print(json.dumps(result))
    RESULTS.parent.mkdir(exist_ok=True)
    with RESULTS.open("a") as out:
        out.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
