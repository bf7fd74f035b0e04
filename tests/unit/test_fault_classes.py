"""Which faults are transient (retried with backoff, never dead-lettered) and which are a message's own
(`shared.retry.is_transient`): CONTRACT §1 — a database or broker fault must never cost a valid event. And which
refusals of the broker are of an outbound record itself (`shared.kafka.outbox.refuses_the_record`)."""

from __future__ import annotations

import pytest
from aiokafka import errors as kafka_errors
from asyncpg import exceptions as pg

from shared.kafka.outbox import refuses_the_record
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


@pytest.mark.parametrize(
    ("fault", "of_the_record"),
    [
        (kafka_errors.MessageSizeTooLargeError(), True),  # too large for its topic, or for the client
        (kafka_errors.CorruptRecordException(), True),
        (kafka_errors.TopicAuthorizationFailedError(), False),  # an ACL: the deployment's fault, retried
        (kafka_errors.KafkaConnectionError(), False),
        (RuntimeError("the producer has not started"), False),
    ],
    ids=lambda value: type(value).__name__,
)
def test_only_a_refusal_of_the_record_itself_sets_an_outbox_record_aside(fault: Exception, of_the_record: bool) -> None:
    assert refuses_the_record(fault) is of_the_record
