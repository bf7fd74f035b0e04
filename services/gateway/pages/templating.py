"""Rendering the pages: one Jinja2 environment, one `render` that every page answers with.

`render` adds what every page needs (the caller's navigation, asset URLs) and the headers that keep a page
to its own origin: a Content-Security-Policy allowing scripts, styles, images and connections from the
gateway alone, no framing, and `no-store` (pages hold people's figures).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from services.gateway.access import AccessPolicy
from services.gateway.pages.assets import Assets
from services.gateway.pages.regions import Region, Regions

TEMPLATES = Path(__file__).resolve().parent / "templates"

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}

environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=jinja2.select_autoescape(default=True),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    enable_async=False,
)


def is_fragment_request(request: Request) -> bool:
    """An htmx request asks for a page's live region only (`HX-Request`), not for the whole page."""
    return request.headers.get("hx-request") == "true"


def _context(request: Request, access: AccessPolicy | None, context: Mapping[str, Any]) -> dict[str, Any]:
    assets = request.app.state.assets
    assert isinstance(assets, Assets)
    return {**context, "access": access, "asset_url": assets.url, "path": request.url.path}


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any],
    *,
    access: AccessPolicy | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    html = environment.get_template(template).render(_context(request, access, context))
    return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)


async def render_live_page(
    request: Request,
    template: str,
    live_template: str,
    load: Callable[[], Awaitable[dict[str, Any]]],
    *,
    access: AccessPolicy,
    areas: tuple[str, ...],
) -> HTMLResponse:
    """A page whose figures refresh in place: `live_template` is its live region, which the page re-fetches
    (the same URL, with `HX-Request`) when the server-sent events say that one of `areas` of the read model
    changed. `load` reads what the page shows (the caller has authorised the request already); the region
    is read and rendered once per state of the read model and shared by callers of the same reach
    (`pages/regions.py`).

    The region's version is a hash of its content, sent back by the page in `X-Pulse-Version`: if nothing
    it shows has changed, the answer is a 204 and the page does not redraw.
    """
    url = str(request.url.path) + (f"?{request.url.query}" if request.url.query else "")

    async def build() -> Region:
        context = await load()
        inner = environment.get_template(live_template).render(_context(request, None, context))
        return Region(context, inner, hashlib.sha256(inner.encode()).hexdigest()[:16])

    regions = request.app.state.regions
    assert isinstance(regions, Regions)
    page = (template, url, access.role, str(access.reach), access.wealth_home())
    region, outcome = await regions.get(page, areas, build)
    request.app.state.metrics.page_regions.labels(outcome=outcome).inc()
    headers = {**SECURITY_HEADERS, "Vary": "HX-Request"}
    wrapped = environment.get_template("_live.html").render(
        inner=Markup(region.inner),  # noqa: S704 - rendered by our autoescaping templates
        version=region.version,
        url=url,
        triggers=", ".join(f"sse:{area}" for area in areas),
    )
    if is_fragment_request(request):
        if request.headers.get("x-pulse-version") == region.version:
            return HTMLResponse(status_code=204, headers=headers)
        return HTMLResponse(wrapped, headers=headers)
    full = _context(request, access, region.context)
    html = environment.get_template(template).render({**full, "live": Markup(wrapped)})  # noqa: S704
    return HTMLResponse(html, headers=headers)
