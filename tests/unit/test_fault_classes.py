"""Which faults are transient (retried with backoff, never dead-lettered) and which are a message's own
(`shared.retry.is_transient`): CONTRACT §1 — a database or broker fault must never cost a valid event."""

from __future__ import annotations

import pytest
from aiokafka import errors as kafka_errors
from asyncpg import exceptions as pg

from shared.retry import WaitAndRetry, is_transient

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "fault",
    [
        pg.ReadOnlySQLTransactionError("cannot execute INSERT in a read-only transaction"),  # 25006: a standby
        pg.QueryCanceledError("canceling statement due to statement timeout"),  # 57014
        pg.InsufficientPrivilegeError("permission denied for table loans"),  # 42501: a deployment fault
        pg.DiskFullError("could not extend file"),  # 53100
        pg.PostgresIOError("could not read block"),  # 58030
        pg.AdminShutdownError("terminating connection due to administrator command"),  # 57P01
        pg.DeadlockDetectedError("deadlock detected"),  # 40P01
        pg.SerializationError("could not serialize access"),  # 40001
        ConnectionResetError(),
        kafka_errors.KafkaConnectionError(),
        kafka_errors.NotLeaderForPartitionError(),  # retriable
        WaitAndRetry("the snapshotter has not caught up"),
    ],
    ids=lambda fault: type(fault).__name__,
)
def test_faults_of_the_database_the_broker_or_their_operation_are_transient(fault: Exception) -> None:
    assert is_transient(fault)


@pytest.mark.parametrize(
    "fault",
    [
        pg.UniqueViolationError("duplicate key"),  # 23505: what the statement asked, not how the server runs
        pg.NumericValueOutOfRangeError("numeric field overflow"),  # 22003: a value the schema let through
        pg.UndefinedColumnError("column does not exist"),  # 42703: a bug (every event meets it: retried as a batch)
        ValueError("a bug in a handler"),
        kafka_errors.MessageSizeTooLargeError(),  # the record, not the broker
    ],
    ids=lambda fault: type(fault).__name__,
)
def test_faults_of_what_was_asked_are_not_transient(fault: Exception) -> None:
    assert not is_transient(fault)


def test_a_fault_raised_from_a_transient_one_is_transient() -> None:
    fault = RuntimeError("the batch could not be written")
    fault.__cause__ = pg.ReadOnlySQLTransactionError("read-only")
    assert is_transient(fault)
