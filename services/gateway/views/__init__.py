"""Views: the SQL that reads the aggregator's read model, returning rows (CONTRACT §2, §3 figures, unrounded).

No HTTP, no rounding, no authorisation here: `services.gateway.reads` combines a view with the access
policy (`access.py`) and a presenter (`presenters/`), for the JSON API and the pages alike.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

from asyncpg import Record

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    Connection: TypeAlias = PoolConnectionProxy[Record]
else:
    Connection = object

__all__ = ["Connection", "Record"]
