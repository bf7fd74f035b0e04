"""Live regions shared per state of the read model (services/gateway/pages/regions.py), with a stand-in for
the live feed's generations."""

from __future__ import annotations

import asyncio

import pytest

from services.gateway.errors import not_found
from services.gateway.pages.regions import Region, Regions

pytestmark = pytest.mark.unit


class Feed:
    """The live feed as the regions see it: per-area change counts, or None while not listening."""

    def __init__(self) -> None:
        self.counts = {"loans": 0, "alerts": 0, "wealth": 0}
        self.listening = True

    def generations(self, areas: tuple[str, ...]) -> tuple[int, ...] | None:
        return tuple(self.counts[a] for a in areas) if self.listening else None


class Builder:
    def __init__(self, delay: float = 0.0) -> None:
        self.calls = 0
        self.delay = delay

    async def __call__(self) -> Region:
        self.calls += 1
        await asyncio.sleep(self.delay)
        return Region({"n": self.calls}, f"<p>{self.calls}</p>", f"v{self.calls}")


def regions(feed: Feed) -> Regions:
    return Regions(feed)  # type: ignore[arg-type]  # the stand-in has what Regions uses


async def test_concurrent_viewers_of_a_page_share_one_build() -> None:
    feed, build = Feed(), Builder(delay=0.05)
    shared = regions(feed)
    results = await asyncio.gather(*(shared.get("/loans", ("loans", "alerts"), build) for _ in range(50)))
    assert build.calls == 1
    assert {r.inner for r, _ in results} == {"<p>1</p>"}
    assert sorted(outcome for _, outcome in results).count("built") == 1
    assert shared.counts == {"hit": 49, "built": 1, "unshared": 0}


async def test_a_change_of_an_area_the_page_shows_builds_it_again() -> None:
    feed, build = Feed(), Builder()
    shared = regions(feed)
    await shared.get("/loans", ("loans", "alerts"), build)
    feed.counts["wealth"] += 1  # not shown on this page
    assert (await shared.get("/loans", ("loans", "alerts"), build))[1] == "hit"
    feed.counts["alerts"] += 1
    region, outcome = await shared.get("/loans", ("loans", "alerts"), build)
    assert (region.inner, outcome) == ("<p>2</p>", "built")


async def test_pages_and_callers_are_kept_apart() -> None:
    feed, build = Feed(), Builder()
    shared = regions(feed)
    await shared.get(("/loans?scope=all", "admin"), ("loans",), build)
    await shared.get(("/loans?scope=branch:B1", "team_leader"), ("loans",), build)
    assert build.calls == 2


async def test_nothing_is_shared_while_not_listening() -> None:
    feed, build = Feed(), Builder()
    feed.listening = False
    shared = regions(feed)
    for _ in range(3):
        assert (await shared.get("/wealth", ("wealth",), build))[1] == "unshared"
    assert build.calls == 3


async def test_a_failed_build_is_not_kept() -> None:
    feed = Feed()
    shared = regions(feed)
    calls = 0

    async def missing() -> Region:
        nonlocal calls
        calls += 1
        raise not_found("no data")

    for _ in range(2):
        with pytest.raises(Exception, match="no data"):
            await shared.get("/loans?date=2020-01-01", ("loans",), missing)
    assert calls == 2


async def test_a_viewer_who_leaves_does_not_cancel_the_build_others_wait_for() -> None:
    feed, build = Feed(), Builder(delay=0.1)
    shared = regions(feed)
    leaving = asyncio.create_task(shared.get("/loans", ("loans",), build))
    staying = asyncio.create_task(shared.get("/loans", ("loans",), build))
    await asyncio.sleep(0.02)
    leaving.cancel()
    region, _ = await staying
    assert region.inner == "<p>1</p>"
    assert build.calls == 1


async def test_old_regions_are_dropped() -> None:
    feed, build = Feed(), Builder()
    shared = Regions(feed, max_regions=3)  # type: ignore[arg-type]
    for n in range(5):
        await shared.get(f"/page/{n}", ("loans",), build)
    await shared.get("/page/0", ("loans",), build)
    assert build.calls == 6  # /page/0 was dropped, built again
