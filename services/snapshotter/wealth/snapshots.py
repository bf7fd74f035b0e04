"""From a (re)published valuation row to its `wealth_snapshot.created` event."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg

from shared.events.envelope import make_envelope
from shared.events.snapshots import WealthSnapshotCreated


def snapshot_event(row: asyncpg.Record, *, now: dt.datetime | None = None) -> tuple[str, dict[str, Any]]:
    data = WealthSnapshotCreated(
        client_id=row["client_id"],
        as_of=row["as_of"],
        revision=row["revision"],
        previous_as_of=row["previous_as_of"],
        total_value=row["total_value"],
        estimated_annual_income=row["estimated_annual_income"],
        asset_allocation=row["asset_allocation"],
        custodian_allocation=row["custodian_allocation"],
        bond_maturity=row["bond_maturity"],
        external_flows=row["external_flows"],
        net_external_flows=row["net_external_flows"],
    )
    event_id = f"wealth-snapshot:{row['client_id']}:{row['as_of'].isoformat()}:{row['revision']}"
    envelope = make_envelope(
        "wealth_snapshot.created", data.model_dump(mode="json"), source="snapshotter",
        occurred_at=now or dt.datetime.now(dt.UTC), event_id=event_id,
    )  # fmt: skip
    return f"client:{row['client_id']}", envelope
