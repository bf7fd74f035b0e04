"""From a (re)published valuation row to its `wealth_snapshot.created` event."""

from __future__ import annotations

import asyncpg

from shared.events.snapshots import WealthSnapshotCreated
from shared.kafka.pipeline import Outgoing


def snapshot_event(row: asyncpg.Record) -> Outgoing:
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
    return Outgoing(data, f"client:{row['client_id']}", event_id)
