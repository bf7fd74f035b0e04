"""shared.events.revisions: consumers keep the latest revision of each restated output."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from shared.events.revisions import latest_revision

pytestmark = pytest.mark.unit


@dataclass(frozen=True)
class Day:
    officer: str
    day: int
    revision: int
    tag: str = ""


def test_the_highest_revision_per_key_wins_whatever_the_order() -> None:
    days = [Day("a", 1, 2, "a1r2"), Day("a", 1, 3, "a1r3"), Day("b", 1, 1), Day("a", 1, 1), Day("a", 2, 1)]
    latest = latest_revision(days, lambda d: (d.officer, d.day))
    assert {k: v.revision for k, v in latest.items()} == {("a", 1): 3, ("b", 1): 1, ("a", 2): 1}
    assert latest["a", 1].tag == "a1r3"


def test_of_equal_revisions_the_first_is_kept() -> None:
    latest = latest_revision([Day("a", 1, 2, "first"), Day("a", 1, 2, "second")], lambda d: d.officer)
    assert latest["a"].tag == "first"
