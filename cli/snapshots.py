"""`pulse snapshots generate [--date D] [--officer-id X] [--force]`: ask the snapshotter to (re)generate a day.

Publishes `snapshot.requested` on `control` (the gateway's POST /v1/snapshots/requests does the same). The
default date is yesterday in the configured time zone, the day the scheduled close closes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
from typing import Any
from zoneinfo import ZoneInfo

from shared.events.control import SnapshotRequested
from shared.events.envelope import dumps, make_envelope
from shared.kafka.producer import OutboundRecord, Producer
from shared.settings import get_settings
from shared.topics import Topic, topic_name


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("snapshots", help="loan snapshots")
    actions = parser.add_subparsers(dest="snapshots_command", metavar="ACTION", required=True)
    generate = actions.add_parser("generate", help="(re)generate the snapshots of a day")
    generate.add_argument("--date", type=dt.date.fromisoformat, help="YYYY-MM-DD (default: yesterday)")
    generate.add_argument("--officer-id", help="only this officer (default: all)")
    generate.add_argument("--force", action="store_true", help="restate even if nothing changed")
    generate.set_defaults(func=run_generate)


def yesterday(zone: str) -> dt.date:
    return dt.datetime.now(ZoneInfo(zone)).date() - dt.timedelta(days=1)


async def run_generate(args: argparse.Namespace) -> int:
    settings = get_settings()
    request = SnapshotRequested(
        business_date=args.date or yesterday(settings.timezone),
        officer_id=args.officer_id,
        force=args.force,
        requested_by=f"cli:{getpass.getuser()}",
    )
    envelope = make_envelope("snapshot.requested", request.model_dump(mode="json", exclude_none=True), source="cli")
    record = OutboundRecord(
        topic=topic_name(Topic.CONTROL, settings.topic_prefix),
        value=dumps(envelope),
        key=request.business_date.isoformat().encode(),
    )
    async with Producer(settings.kafka(), client_id="pulse-cli", service="cli") as producer:
        await producer.send_all([record])
    scope = f"officer {args.officer_id}" if args.officer_id else "all officers"
    forced = " (forced)" if args.force else ""
    print(f"snapshot.requested {envelope['event_id']}: {request.business_date} for {scope}{forced}")
    return 0
