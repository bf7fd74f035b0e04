"""`GET /events?areas=loans,alerts`: server-sent events telling an open page that an area of the read model
changed (`services.gateway.live`); the page then re-fetches its live region. The events carry no figures:
only the area's name, to callers with a session."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent

from services.gateway.errors import unauthorized
from services.gateway.live import AREAS, LiveFeed
from services.gateway.security import session_claims
from shared.auth import Claims

router = APIRouter(include_in_schema=False)

RECONNECT_MILLISECONDS = 2000


async def require_session(request: Request) -> Claims:
    """A 401, not a redirect: an event stream cannot follow one to the sign-in page. A dependency, so that it
    is answered before the stream starts."""
    claims = await session_claims(request)
    if claims is None:
        raise unauthorized("no session")
    return claims


@router.get("/events", response_class=EventSourceResponse)
async def events(
    request: Request,
    _claims: Annotated[Claims, Depends(require_session)],
    areas: Annotated[str, Query(max_length=100)] = ",".join(AREAS),
) -> AsyncIterator[ServerSentEvent]:
    feed = request.app.state.live
    assert isinstance(feed, LiveFeed)
    wanted = frozenset(area for area in areas.split(",") if area in AREAS)
    yield ServerSentEvent(comment="connected", retry=RECONNECT_MILLISECONDS)
    async for changed in feed.events(wanted):
        for area in sorted(changed):
            yield ServerSentEvent(event=area, raw_data=area)
