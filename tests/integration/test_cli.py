"""The `pulse` command against the real broker: publish, dead letters listed and replayed, snapshot requests."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from shared.events.envelope import make_envelope
from shared.kafka.access import OPERATOR, user_of
from shared.topics import Topic
from tests.conftest import World
from tests.support.kafka import eventually
from tests.support.stack import ROOT

pytestmark = pytest.mark.integration


async def pulse(world: World, *args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "cli.main", *args],
        cwd=ROOT,
        # The operator's own Kafka user where the broker asks who it is (shared.kafka.access).
        env=world.env | {"PULSE_KAFKA_SASL_USERNAME": user_of(OPERATOR), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def registered(client: str) -> dict[str, object]:
    return make_envelope(
        "client.registered", {"client_id": client, "officer_id": "O1", "registered_on": "2025-01-02"}, source="t"
    )


async def test_publish_sends_each_line_to_its_topic_under_the_contract_key(world: World, tmp_path: Path) -> None:
    closed = make_envelope("business_day.closed", {"business_date": "2025-01-31"}, source="t")
    lines = [registered("C7"), {**closed, "topic": "control"}]
    file = tmp_path / "events.jsonl"
    file.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    result = await pulse(world, "publish", str(file))
    assert result.returncode == 0, result.stderr
    loans = await world.bus.read_until(Topic.LOAN_EVENTS, lambda r: len(r) >= 1)
    control = await world.bus.read_until(Topic.CONTROL, lambda r: len(r) >= 1)
    assert loans[0].key == b"C7"
    assert control[0].key == b"2025-01-31"
    assert "topic" not in json.loads(control[0].value or b"")


async def test_publish_refuses_a_file_with_a_bad_line_and_publishes_nothing(world: World, tmp_path: Path) -> None:
    file = tmp_path / "events.jsonl"
    file.write_text(json.dumps(registered("C1")) + "\nnot json\n")
    result = await pulse(world, "publish", str(file))
    assert result.returncode == 1
    assert "line 2" in result.stderr


async def test_a_dead_letter_is_listed_then_replayed_once_its_cause_is_fixed(world: World, tmp_path: Path) -> None:
    world.service("snapshotter")
    await world.bus.send(Topic.LOAN_EVENTS, registered("C1"), key="C1")
    repayment = make_envelope(
        "loan.repayment_received",
        {"payment_id": "P1", "loan_id": "L1", "client_id": "C1", "paid_on": "2025-02-01",
         "principal": "100", "interest": "5", "fees": "0"},
        source="t",
    )  # fmt: skip
    await world.bus.send(Topic.LOAN_EVENTS, repayment, key="C1")  # the loan is not known yet
    await world.bus.read_until(Topic.DEAD_LETTERS, lambda r: len(r) >= 1)

    listed = await pulse(world, "dlq", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    letters = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(d["code"], json.loads(d["value"])["event_id"]) for d in letters] == [
        ("unknown_loan", repayment["event_id"])
    ]

    schedule = [{"due_on": "2025-02-02", "principal": "1000", "interest": "50"}]
    disbursed = make_envelope(
        "loan.disbursed",
        {"loan_id": "L1", "client_id": "C1", "disbursed_on": "2025-01-05", "principal": "1000", "schedule": schedule},
        source="t",
    )
    await world.bus.send(Topic.LOAN_EVENTS, disbursed, key="C1")
    replayed = await pulse(world, "dlq", "replay", "--position", letters[0]["position"])
    assert replayed.returncode == 0, replayed.stderr

    async def payment_recorded() -> bool:
        conn = await world.connect()
        try:
            return bool(await conn.fetchval("SELECT count(*) FROM snapshotter.payments WHERE payment_id = 'P1'"))
        finally:
            await conn.close()

    await eventually(payment_recorded, timeout=30)


async def test_snapshots_generate_publishes_a_snapshot_request(world: World) -> None:
    result = await pulse(world, "snapshots", "generate", "--date", "2025-03-01", "--officer-id", "O7", "--force")
    assert result.returncode == 0, result.stderr
    [record] = await world.bus.read_until(Topic.CONTROL, lambda r: len(r) >= 1)
    envelope = json.loads(record.value or b"")
    assert record.key == b"2025-03-01"
    assert envelope["event_type"] == "snapshot.requested"
    assert envelope["data"]["officer_id"] == "O7"
    assert envelope["data"]["force"] is True
