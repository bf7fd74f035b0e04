"""Restated output events carry `revision` = previous + 1 (CONTRACT §1): consumers keep the latest."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import Protocol, TypeVar


class Revised(Protocol):
    @property
    def revision(self) -> int: ...


E = TypeVar("E", bound=Revised)
K = TypeVar("K", bound=Hashable)


def latest_revision(events: Iterable[E], key: Callable[[E], K]) -> dict[K, E]:
    """Per key, the event of the highest revision (the first one seen of equal revisions)."""
    latest: dict[K, E] = {}
    for e in events:
        k = key(e)
        if k not in latest or e.revision > latest[k].revision:
            latest[k] = e
    return latest
