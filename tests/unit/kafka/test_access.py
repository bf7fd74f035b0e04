"""The Kafka access policy is what the services declare: each service's user may read exactly the topics it
subscribes to and write exactly those it publishes to (a missing ACL would stop it; a spare one would let it
forge another's events)."""

from __future__ import annotations

import importlib

import pytest

from services.gateway.__main__ import PUBLICATIONS as GATEWAY_PUBLICATIONS
from shared.kafka.access import OPERATOR, READS, WRITES, spec, user_of, withdrawal
from shared.settings import Settings

pytestmark = pytest.mark.unit

CONSUMERS = ("snapshotter", "returns", "aggregator", "alerter")


@pytest.mark.parametrize("name", CONSUMERS)
def test_each_service_may_read_and_write_what_it_declares(name: str) -> None:
    service = importlib.import_module(f"services.{name}.__main__").build(Settings(dev_mode=True))
    assert set(READS[name]) == service.subscribed_topics
    assert set(WRITES[name]) == {p.topic for p in service.publications}


def test_the_gateway_writes_its_two_commands_and_reads_nothing() -> None:
    assert READS["gateway"] == ()
    assert set(WRITES["gateway"]) == {p.topic for p in GATEWAY_PUBLICATIONS}


def test_the_spec_names_each_topic_of_the_prefix_and_the_services_own_groups() -> None:
    lines = spec("t1-", {"returns": "pw"})
    assert lines[0] == "user pulse-returns pw"  # only the users given a password
    assert "allow pulse-returns TOPIC LITERAL t1-snapshots READ" in lines
    assert "allow pulse-returns TOPIC LITERAL t1-returns WRITE" in lines
    assert "allow pulse-returns GROUP PREFIXED t1-pulse.returns. READ" in lines
    assert not [line for line in lines if "pulse-returns" in line and "loan-events" in line]
    assert not [line for line in lines if user_of("gateway") in line and "GROUP" in line]


def test_the_withdrawal_drops_every_resource_the_spec_grants_on() -> None:
    granted = {tuple(line.split()[2:5]) for line in spec("t1-", {}) if line.startswith("allow")}
    dropped = {tuple(line.split()[1:4]) for line in withdrawal("t1-")}
    assert dropped == granted
    assert ("TOPIC", "LITERAL", "t1-loan-events") in dropped
    assert ("GROUP", "PREFIXED", "t1-pulse.alerter.") in dropped


def test_the_operator_reads_dead_letters_writes_what_services_consume_and_joins_no_group() -> None:
    operator = [line.split()[2:] for line in spec("t1-", {}) if line.startswith(f"allow {user_of(OPERATOR)} ")]
    reads = {name for kind, _, name, op in operator if kind == "TOPIC" and op == "READ"}
    writes = {name for kind, _, name, op in operator if kind == "TOPIC" and op == "WRITE"}
    assert reads == {"t1-dead-letters"}
    assert writes == {f"t1-{t}" for t in ("loan-events", "wealth-events", "control", "snapshots", "returns",
                                          "aggregates", "alerts")}  # fmt: skip
    assert [op for kind, _, _, op in operator if kind == "GROUP"] == ["DESCRIBE"]  # offsets only
    assert "t1-notifications" not in writes  # no service consumes it: nothing to put back
