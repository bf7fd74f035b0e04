"""The returns service layer: from (re)stated snapshots to the returns of every point they affect.

A client's points from the earliest changed date on are recomputed in date order; the window starts they
need before that date (the previous point, the first point, the last points of the previous month and
year) are read as stored cumulative states, one batched query for the whole batch. An in-order append
therefore reads four rows, whatever the client's history; a late flow restates every later point.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from services.returns import maths, store
from services.returns.maths import Flow, Point, PointReturns, State
from shared import db
from shared.events.revisions import latest_revision
from shared.events.snapshots import WealthSnapshotCreated

ONE_DAY = dt.timedelta(days=1)
EARLIEST = dt.date(1, 1, 1)


def _latest(snapshots: Sequence[WealthSnapshotCreated]) -> list[WealthSnapshotCreated]:
    return list(latest_revision(snapshots, lambda s: (s.client_id, s.as_of)).values())


def _point(row: Any) -> Point:
    flows = tuple(Flow(dt.date.fromisoformat(f["flow_date"]), Decimal(f["amount"])) for f in row["external_flows"])
    return Point(row["as_of"], row["value"], flows)


def _results(row: Any, r: PointReturns) -> dict[str, Any]:
    """The data of returns.computed, revision aside, JSON-ready (and compared to what was published)."""

    def num(value: Decimal | None) -> str | None:
        return None if value is None else str(value)

    def day(value: dt.date | None) -> str | None:
        return None if value is None else value.isoformat()

    out: dict[str, Any] = {
        "client_id": row["client_id"],
        "as_of": row["as_of"].isoformat(),
        "total_value": str(row["value"]),
        "estimated_annual_income": str(row["estimated_annual_income"]),
        "net_external_flows": str(r.net_external_flows),
        "asset_allocation": row["asset_allocation"],
        "custodian_allocation": row["custodian_allocation"],
        "bond_maturity": row["bond_maturity"],
    }
    for prefix, start, w in (
        ("period", "period_start_date", r.period),
        ("monthly", "month_start_date", r.monthly),
        ("ytd", "ytd_start_date", r.ytd),
    ):
        out[start] = day(w.start)
        out[f"{prefix}_return_dollar"] = str(w.dollar)
        out[f"{prefix}_return_percent"] = num(w.percent)
        out[f"{prefix}_average_capital"] = num(w.average_capital)
    out["inception_date"] = day(r.inception.start)
    out["inception_dollar_performance"] = str(r.inception.dollar)
    out["inception_return_pct"] = num(r.inception.percent)
    out["inception_average_capital"] = num(r.inception.average_capital)
    return out


def _last_within(states: Sequence[State], lo: dt.date, hi: dt.date) -> State | None:
    found = None
    for s in states:
        if lo <= s.as_of <= hi:
            found = s
    return found


async def recompute(conn: db.Connection, snapshots: Sequence[WealthSnapshotCreated]) -> list[dict[str, Any]]:
    """Apply snapshots; the (client_id, as_of, revision, results) of every point whose returns changed."""
    latest = _latest(snapshots)
    await store.lock_clients(conn, [s.client_id for s in latest])
    written = await store.save_points(conn, latest)
    starts: dict[str, dt.date] = {}
    for w in written:
        starts[w["client_id"]] = min(w["as_of"], starts.get(w["client_id"], w["as_of"]))
    if not starts:
        return []
    points: dict[str, list[Any]] = defaultdict(list)
    for row in await store.points_from(conn, starts):
        points[row["client_id"]].append(row)

    ranges: set[store.Range] = set()
    for client, rows in points.items():
        cut = starts[client] - ONE_DAY
        ranges.add((client, EARLIEST, cut))
        for row in rows:
            for lo, hi in (maths.month_start_bounds(row["as_of"]), maths.year_start_bounds(row["as_of"])):
                if lo <= cut:
                    ranges.add((client, lo, min(hi, cut)))
    stored = await store.last_in_ranges(conn, sorted(ranges))
    firsts = await store.first_points(conn, list(points))

    def before(client: str, lo: dt.date, hi: dt.date) -> State | None:
        cut = starts[client] - ONE_DAY
        row = stored.get((client, lo, min(hi, cut))) if lo <= cut else None
        return store.state_of(row) if row is not None else None

    updates: list[tuple[str, dt.date, State, dict[str, Any], bool]] = []
    for client, rows in points.items():
        previous = before(client, EARLIEST, starts[client] - ONE_DAY)
        first_row = firsts[client]
        first = store.state_of(first_row) if first_row["as_of"] < starts[client] else None
        new_states: list[State] = []
        for row in rows:
            windows = []
            for lo, hi in (maths.month_start_bounds(row["as_of"]), maths.year_start_bounds(row["as_of"])):
                windows.append(_last_within(new_states, lo, hi) or before(client, lo, hi))
            state, returns = maths.point_returns(
                previous, _point(row), month_start=windows[0], year_start=windows[1], first=first
            )
            if first is None:
                first = state
            new_states.append(state)
            previous = state
            results = _results(row, returns)
            updates.append((client, row["as_of"], state, results, results != row["results"]))
    results_of = {(client, as_of): results for client, as_of, _, results, _ in updates}
    return [
        {"client_id": r["client_id"], "as_of": r["as_of"], "revision": r["revision"],
         "results": results_of[(r["client_id"], r["as_of"])]}
        for r in await store.save_results(conn, updates)
        if r["changed"]
    ]  # fmt: skip
