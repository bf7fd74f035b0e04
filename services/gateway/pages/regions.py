"""Live regions, read and rendered once per state of the read model (CONTRACT §6: fast pages, live pages).

A page's live region is a function of its URL and of the read model; for callers with the same reach it is
the same text. The read model changes only by the aggregator's commits, and each commit notifies the
gateway (`services.gateway.live`), which counts them per area: its *generation*. So a region read and rendered
at generations (g_loans, g_alerts) stays right until one of them moves, and the viewers of one page (a team
looking at the same branch; every open page re-fetching its region after a change) share one reading and one
rendering instead of doing it each: the first request builds it, concurrent ones wait for that build, later
ones take it from here.

Correctness rests on two rules. The generations are taken *before* the build reads anything, so a build
that may have missed a change is filed under the generation before that change, which no later request asks
for. And while the gateway is not listening (start-up, a lost connection) nothing is shared: without
notifications a change would go unseen. Authorisation is never cached: every request is authorised before it
asks for a region.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any

from services.gateway.live import LiveFeed

MAX_REGIONS = 128
"""Regions kept (least recently used dropped first): at most a few MB of HTML."""


@dataclass(frozen=True, slots=True)
class Region:
    """A page's data (`context`), its live region's HTML (`inner`) and the hash pages send back (`version`)."""

    context: dict[str, Any]
    inner: str
    version: str


class Regions:
    def __init__(self, feed: LiveFeed, *, max_regions: int = MAX_REGIONS) -> None:
        self._feed = feed
        self._max = max_regions
        self._builds: OrderedDict[Hashable, asyncio.Task[Region]] = OrderedDict()
        self.counts = {"hit": 0, "built": 0, "unshared": 0}

    async def get(
        self, page: Hashable, areas: tuple[str, ...], build: Callable[[], Awaitable[Region]]
    ) -> tuple[Region, str]:
        """The region of `page` (its URL and the caller's reach) at the current state of `areas`, and whether
        it was `hit` (built before), `built` now, or `unshared` (not listening: built for this request only)."""
        generations = self._feed.generations(areas)
        if generations is None:
            self.counts["unshared"] += 1
            return await build(), "unshared"
        key = (page, generations)
        task = self._builds.get(key)
        outcome = "hit"
        if task is None or (task.done() and (task.cancelled() or task.exception() is not None)):
            # A task of its own: a caller that goes away does not cancel the build the others wait for.
            task = asyncio.get_running_loop().create_task(_built(build))
            task.add_done_callback(_retrieve)  # a failure nobody waits for any more is not "never retrieved"
            self._builds[key] = task
            outcome = "built"
            while len(self._builds) > self._max:
                self._builds.popitem(last=False)
        self._builds.move_to_end(key)
        self.counts[outcome] += 1
        try:
            return await asyncio.shield(task), outcome
        except BaseException:
            if task.done() and self._builds.get(key) is task:  # a failed build (a 404…) is not kept
                del self._builds[key]
            raise


async def _built(build: Callable[[], Awaitable[Region]]) -> Region:
    return await build()


def _retrieve(task: asyncio.Task[Region]) -> None:
    if not task.cancelled():
        task.exception()
