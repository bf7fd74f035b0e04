"""shared.kafka.outbox.OutboxRelay.flush_soon: a background relay that the committer does not wait for, and
that takes one more round for events committed while it ran."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest

from shared.kafka.outbox import OutboxRelay

pytestmark = pytest.mark.unit


class CountingRelay(OutboxRelay):
    def __init__(self, fail_first: bool = False) -> None:
        super().__init__(cast(Any, None), "test", cast(Any, None))
        self.rounds = 0
        self.release = asyncio.Event()
        self.fail_first = fail_first

    async def flush(self) -> int:
        self.rounds += 1
        await self.release.wait()
        if self.fail_first and self.rounds == 1:
            raise ConnectionError("broker down")
        return 0


async def test_the_caller_does_not_wait_and_a_request_during_a_round_gets_one_more() -> None:
    relay = CountingRelay()
    relay.flush_soon()  # returns at once, the round waits for `release`
    await asyncio.sleep(0)
    assert relay.rounds == 1
    relay.flush_soon()  # committed meanwhile: both asks during the round make one more round, not two
    relay.flush_soon()
    relay.release.set()
    await asyncio.sleep(0.01)
    assert relay.rounds == 2
    relay.flush_soon()  # idle again: a new round
    await asyncio.sleep(0.01)
    assert relay.rounds == 3


async def test_a_failed_round_is_logged_and_the_next_ask_tries_again() -> None:
    relay = CountingRelay(fail_first=True)
    relay.release.set()
    relay.flush_soon()
    await asyncio.sleep(0.01)
    relay.flush_soon()
    await asyncio.sleep(0.01)
    assert relay.rounds == 2
