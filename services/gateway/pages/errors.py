"""Errors as pages (CONTRACT §6): a page outside the caller's scope is a 403 page, an unknown scope or a day
without data a 404 page, bad parameters a 422 page; never a 500 for bad input. The JSON API keeps its JSON
body: a request gets a page when it was routed to a page, or, routed nowhere, when a browser asks for HTML.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from services.gateway.access import AccessPolicy
from services.gateway.pages.session import PAGE_TAG, is_page
from services.gateway.pages.templating import render
from services.gateway.security import session_claims

TITLES = {
    401: "Please sign in",
    403: "Not allowed",
    404: "Nothing to show here",
    405: "Not possible here",
    422: "That address is not quite right",
    503: "Pulse cannot answer right now",
}


def wants_page(request: Request) -> bool:
    route = request.scope.get("route")
    if route is not None:
        return PAGE_TAG in (getattr(route, "tags", None) or [])
    return is_page(request.url.path) and "text/html" in request.headers.get("accept", "")


async def html_errors(request: Request, status_code: int, code: str, message: str) -> Response | None:
    if not wants_page(request):
        return None
    claims = await session_claims(request)
    response = render(
        request,
        "error.html",
        {"status": status_code, "title": TITLES.get(status_code, "Something went wrong"), "message": message},
        access=AccessPolicy(claims) if claims is not None else None,
        status_code=status_code,
    )
    response.headers["X-Pulse-Error"] = message.encode("ascii", "replace").decode("ascii")[:300]
    return response
