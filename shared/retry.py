"""Which faults are transient, and the backoff with which they are retried (never skipped)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg
from aiokafka import errors as kafka_errors

from shared.logging import get_logger

T = TypeVar("T")
log = get_logger(__name__)

# Faults of the database or of how it is run, never of a message, so they are retried (and alerted on through
# the retries metric), not dead-lettered: 08 connection lost; 53 out of disk, memory or connections; 57P the
# server shutting down or starting; 57014 a statement cancelled (statement_timeout); 25006 a read-only
# transaction (a standby after a failover, or `default_transaction_read_only`); 42501 a privilege missing (a
# deployment fault: every event would meet it); 58 an I/O error; 40001 / 40P01 serialization failure or
# deadlock; 55P03 a lock not available.
_TRANSIENT_SQLSTATE_PREFIXES = ("08", "53", "57P", "57014", "25006", "42501", "58", "40001", "40P01", "55P03")


class WaitAndRetry(Exception):  # noqa: N818  # a condition to wait for, not an error
    """Raised by a handler that must wait for something (another consumer to catch up, say): transient, so
    the consumer pipeline retries the batch with backoff."""


def is_transient(exc: BaseException) -> bool:
    """True for faults that go away by themselves: an unreachable or restarting database or broker, or a
    condition a handler waits for (`WaitAndRetry`)."""
    if isinstance(exc, WaitAndRetry):
        return True
    if isinstance(exc, (ConnectionError, TimeoutError, asyncio.TimeoutError)):
        return True
    if isinstance(exc, OSError):  # refused, reset, unreachable
        return True
    if isinstance(
        exc,
        (
            asyncpg.exceptions.ConnectionDoesNotExistError,
            asyncpg.exceptions.ConnectionFailureError,
            asyncpg.exceptions.CannotConnectNowError,
            asyncpg.exceptions.TooManyConnectionsError,
        ),
    ):
        return True
    if isinstance(exc, asyncpg.exceptions.InterfaceError):
        # Only a lost connection; other interface errors are our bugs and must not be retried forever.
        return "closed" in str(exc) or ("connection" in str(exc).lower() and "lost" in str(exc).lower())
    if isinstance(exc, asyncpg.PostgresError):
        state = getattr(exc, "sqlstate", None) or ""
        return state.startswith(_TRANSIENT_SQLSTATE_PREFIXES)
    if isinstance(exc, kafka_errors.KafkaError):
        return bool(getattr(exc, "retriable", False)) or isinstance(
            exc,
            (
                kafka_errors.KafkaConnectionError,
                kafka_errors.KafkaTimeoutError,
                kafka_errors.NodeNotReadyError,
            ),
        )
    cause = exc.__cause__ or exc.__context__
    return cause is not None and cause is not exc and is_transient(cause)


class Backoff:
    """Exponential backoff with full jitter: initial · 2^n, capped, times a random factor in [0.5, 1]."""

    def __init__(self, initial: float, maximum: float) -> None:
        self.initial = initial
        self.maximum = maximum
        self.attempt = 0

    def next_delay(self) -> float:
        delay = min(self.maximum, self.initial * (2**self.attempt))
        self.attempt += 1
        return float(delay * random.uniform(0.5, 1.0))  # noqa: S311  # jitter, not cryptography

    def reset(self) -> None:
        self.attempt = 0


async def retry_transient(
    operation: Callable[[], Awaitable[T]],
    *,
    what: str,
    initial: float,
    maximum: float,
    on_retry: Callable[[BaseException], None] | None = None,
) -> T:
    """Run `operation` until it succeeds or fails with a non-transient error (which propagates)."""
    backoff = Backoff(initial, maximum)
    while True:
        try:
            return await operation()
        except Exception as exc:
            if not is_transient(exc):
                raise
            delay = backoff.next_delay()
            log.warning("transient fault, retrying", what=what, error=repr(exc)[:300], retry_in=round(delay, 3))
            if on_retry is not None:
                on_retry(exc)
            await asyncio.sleep(delay)
