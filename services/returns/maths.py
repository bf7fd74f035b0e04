"""Returns of CONTRACT §3, pure: Modified Dietz for each period, and time-weighted windows linked from it.

The valuation of date t is taken at the end of day t. A client's snapshots are points; the period of a
point is (previous point, point]; its external flows are the contributions and withdrawals dated in it.

Every window (month, year to date, inception) is computed from two cumulative states, the window's start
and its end, so a new point costs O(1) however long the history:
- the linked percent: Π(1 + rₖ/100) over the periods in (S, E] = factor(E) / factor(S), where the product
  leaves out null periods and −100 % periods, which are counted instead (any null → null; any −100 % →
  −100 %);
- the dollar figure: EMV − BMV − ΣF, with ΣF = flows(E) − flows(S);
- the Modified Dietz average capital over the whole window (what the aggregate weights by):
  BMV + Σ Fᵢ (E − tᵢ)/(E − S) = BMV + (E·ΣF − Σ Fᵢ·tᵢ)/(E − S), with day numbers for dates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

ZERO = Decimal(0)
ONE = Decimal(1)
HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class Flow:
    date: dt.date
    amount: Decimal  # signed: contributions > 0, withdrawals < 0


@dataclass(frozen=True, slots=True)
class Dietz:
    gain: Decimal
    average_capital: Decimal
    percent: Decimal | None  # None when average_capital <= 0: not computable


def modified_dietz(bmv: Decimal, emv: Decimal, start: dt.date, end: dt.date, flows: Sequence[Flow]) -> Dietz:
    """Modified Dietz over (start, end] with flows dated in it, weighted wᵢ = (end − tᵢ) / (end − start)."""
    days = (end - start).days
    if days <= 0:
        raise ValueError("a period ends after it starts")
    total = sum((f.amount for f in flows), start=ZERO)
    weighted = sum((f.amount * (end - f.date).days for f in flows), start=ZERO) / days
    gain = emv - bmv - total
    average = bmv + weighted
    return Dietz(gain, average, HUNDRED * gain / average if average > 0 else None)


def link(percents: Sequence[Decimal | None]) -> Decimal | None:
    """Geometric linking: 100 × (Π(1 + rₖ/100) − 1); None if any rₖ is None; 0 for no periods."""
    factor = ONE
    for r in percents:
        if r is None:
            return None
        factor *= ONE + r / HUNDRED
    return HUNDRED * (factor - ONE)


@dataclass(frozen=True, slots=True)
class Point:
    """A client's snapshot: its value, and the external flows of its period (previous point, as_of]."""

    as_of: dt.date
    value: Decimal
    flows: tuple[Flow, ...] = ()


@dataclass(frozen=True, slots=True)
class State:
    """Cumulative sums from the client's first point through this one (the first point's flows excluded:
    they precede every window)."""

    as_of: dt.date
    value: Decimal
    factor: Decimal = ONE  # Π(1 + r/100) over computable periods whose factor is not 0
    nulls: int = 0  # periods whose percent was not computable
    wipeouts: int = 0  # periods of −100 %
    flows: Decimal = ZERO  # Σ external flows
    flow_days: Decimal = ZERO  # Σ flow × day number of its date


@dataclass(frozen=True, slots=True)
class Window:
    start: dt.date | None  # None: no window ("0 and 0")
    dollar: Decimal
    percent: Decimal | None
    average_capital: Decimal | None


NO_WINDOW = Window(None, ZERO, ZERO, None)


@dataclass(frozen=True, slots=True)
class PointReturns:
    as_of: dt.date
    net_external_flows: Decimal
    period: Window
    monthly: Window
    ytd: Window
    inception: Window


def first_state(point: Point) -> State:
    return State(point.as_of, point.value)


def advance(previous: State, point: Point) -> tuple[State, Dietz]:
    """The state after `point`, and its period's Modified Dietz."""
    d = modified_dietz(previous.value, point.value, previous.as_of, point.as_of, point.flows)
    factor, nulls, wipeouts = previous.factor, previous.nulls, previous.wipeouts
    if d.percent is None:
        nulls += 1
    else:
        growth = ONE + d.percent / HUNDRED
        if growth == 0:
            wipeouts += 1
        else:
            factor *= growth
    total = sum((f.amount for f in point.flows), start=ZERO)
    days = sum((f.amount * f.date.toordinal() for f in point.flows), start=ZERO)
    state = State(point.as_of, point.value, factor, nulls, wipeouts, previous.flows + total, previous.flow_days + days)
    return state, d


def window(start: State | None, end: State) -> Window:
    """The linked return, dollar figure and average capital over (start, end]; no window without a start."""
    if start is None or start.as_of >= end.as_of:
        return NO_WINDOW if start is None else Window(start.as_of, ZERO, ZERO, None)
    flows = end.flows - start.flows
    dollar = end.value - start.value - flows
    span = (end.as_of - start.as_of).days
    average = start.value + (end.as_of.toordinal() * flows - (end.flow_days - start.flow_days)) / span
    percent: Decimal | None
    if end.nulls > start.nulls:
        percent = None
    elif end.wipeouts > start.wipeouts:
        percent = -HUNDRED
    else:
        percent = HUNDRED * (end.factor / start.factor - ONE)
    return Window(start.as_of, dollar, percent, average)


def month_start_bounds(day: dt.date) -> tuple[dt.date, dt.date]:
    """[first, last] day of the calendar month before `day`'s month."""
    first_of_this = day.replace(day=1)
    last_of_previous = first_of_this - dt.timedelta(days=1)
    return last_of_previous.replace(day=1), last_of_previous


def year_start_bounds(day: dt.date) -> tuple[dt.date, dt.date]:
    """[first, last] day of the calendar year before `day`'s year."""
    return dt.date(day.year - 1, 1, 1), dt.date(day.year - 1, 12, 31)


def point_returns(
    previous: State | None,
    point: Point,
    *,
    month_start: State | None,
    year_start: State | None,
    first: State | None,
) -> tuple[State, PointReturns]:
    """A point's returns, given the states its windows start at: the previous point, the last point of the
    previous calendar month and year (None if there is none in that month or year), and the first point
    (None when `point` is the first)."""
    if previous is None:
        state = first_state(point)
        return state, PointReturns(point.as_of, ZERO, NO_WINDOW, NO_WINDOW, NO_WINDOW, NO_WINDOW)
    state, d = advance(previous, point)
    period = Window(previous.as_of, d.gain, d.percent, d.average_capital)
    return state, PointReturns(
        as_of=point.as_of,
        net_external_flows=sum((f.amount for f in point.flows), start=ZERO),
        period=period,
        monthly=window(month_start, state),
        ytd=window(year_start, state),
        inception=window(first if first is not None else previous, state),
    )


def series(points: Sequence[Point]) -> list[PointReturns]:
    """Every point's returns, for a whole history in date order (the reference the service's incremental
    computation must agree with)."""
    results: list[PointReturns] = []
    states: list[State] = []
    for point in points:
        previous = states[-1] if states else None
        month = _last_in(states, *month_start_bounds(point.as_of))
        year = _last_in(states, *year_start_bounds(point.as_of))
        state, returns = point_returns(previous, point, month_start=month, year_start=year,
                                       first=states[0] if states else None)  # fmt: skip
        states.append(state)
        results.append(returns)
    return results


def _last_in(states: Sequence[State], first: dt.date, last: dt.date) -> State | None:
    found = None
    for s in states:
        if first <= s.as_of <= last:
            found = s
    return found
