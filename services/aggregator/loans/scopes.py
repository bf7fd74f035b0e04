"""Branch and whole-portfolio figures from officer rows: sums of numerators, never averages of ratios.

Pure. Everything is additive except the 365-day window W, which starts at the portfolio's own first day
with GLP > 0 — the earliest of its officers' — so the written-off and interest + fees sums over W are
rebuilt from each officer's cumulative columns: Σ (cum(D) − cum(start − 1)).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from shared.domain.loan_metrics import LoanNumerators, window_days, window_start

ZERO = Decimal(0)
ADDITIVE = (
    "total_clients", "active_clients", "total_loans", "active_loans", "total_disbursed", "total_outstanding",
    "total_collected", "par30_balance", "par60_balance", "par90_balance", "due_30d", "covered_30d",
    "new_clients_30d", "exited_clients_30d", "glp_30d_ago", "glp_sum_window",
)  # fmt: skip


class Row(Protocol):
    """An officer row: an asyncpg record or a mapping."""

    def __getitem__(self, key: str, /) -> Any: ...


@dataclass(frozen=True, slots=True)
class Scope:
    scope: str
    kind: str
    business_date: dt.date
    branch_id: str | None = None
    officer_id: str | None = None
    officer_name: str | None = None


def officer_numerators(row: Row) -> LoanNumerators:
    return LoanNumerators(
        **{f: row[f] for f in (*ADDITIVE, "written_off_window", "interest_fees_window", "window_days")}
    )


def group(rows: Iterable[Row]) -> dict[Scope, list[Row]]:
    """Officer rows by the scopes they count in: the officer (on days with a snapshot), the branch, all."""
    groups: dict[Scope, list[Row]] = defaultdict(list)
    for row in rows:
        day = row["business_date"]
        groups[Scope("all", "all", day)].append(row)
        if row["branch_id"] is not None:
            groups[Scope(f"branch:{row['branch_id']}", "branch", day, branch_id=row["branch_id"])].append(row)
        if row["has_clients"]:
            scope = Scope(
                f"officer:{row['officer_id']}", "officer", day, row["branch_id"], row["officer_id"], row["officer_name"]
            )
            groups[scope].append(row)
    return groups


def window_lookups(scope: Scope, rows: Sequence[Row]) -> list[tuple[str, dt.date]]:
    """The (officer, day) rows whose cumulative columns a portfolio's window needs: the day before W."""
    start = window_start(scope.business_date, _first_positive(rows))
    return [] if start is None else [(r["officer_id"], start - dt.timedelta(days=1)) for r in rows]


def portfolio_numerators(
    scope: Scope, rows: Sequence[Row], cumulative_before: Mapping[tuple[str, dt.date], Row]
) -> LoanNumerators:
    if scope.kind == "officer":
        return officer_numerators(rows[0])
    sums: dict[str, Any] = {f: sum((r[f] for r in rows), start=ZERO if isinstance(rows[0][f], Decimal) else 0)
                            for f in ADDITIVE}  # fmt: skip
    first = _first_positive(rows)
    start = window_start(scope.business_date, first)
    written_off = interest_fees = ZERO
    if start is not None:
        before = start - dt.timedelta(days=1)
        for r in rows:
            earlier = cumulative_before.get((r["officer_id"], before))
            written_off += r["cum_written_off"] - (earlier["cum_written_off"] if earlier else ZERO)
            interest_fees += r["cum_interest_fees"] - (earlier["cum_interest_fees"] if earlier else ZERO)
    return LoanNumerators(
        **sums,
        written_off_window=written_off,
        interest_fees_window=interest_fees,
        window_days=window_days(scope.business_date, first),
    )


def _first_positive(rows: Iterable[Row]) -> dt.date | None:
    return min((r["first_positive_glp_on"] for r in rows if r["first_positive_glp_on"] is not None), default=None)
