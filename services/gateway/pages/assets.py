"""The pages' static assets, served by the gateway itself (CONTRACT §6: no request to any other origin).

Our own files (`pages/static/`) and the browser libraries installed from npm (`package.json` at the
repository's root, `npm ci` in `make install`; never copied into the repository) are read once at start-up,
with a gzip copy, and served from memory at `/static/<name>?v=<content hash>`: a changed file gets a new URL,
so browsers may cache every version for a year.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, Request, Response

logger = logging.getLogger("services.gateway.pages.assets")

OWN_DIR = Path(__file__).resolve().parent / "static"
DEFAULT_NODE_MODULES = Path(__file__).resolve().parents[3] / "node_modules"

VENDOR: dict[str, str] = {
    "htmx.min.js": "htmx.org/dist/htmx.min.js",
    "htmx-sse.min.js": "htmx-ext-sse/dist/sse.min.js",
    # Line, bar and pie charts with tooltips, legends and mark areas, in 715 KB instead of 1.1 MB.
    "echarts.min.js": "echarts/dist/echarts.common.min.js",
}
"""Served name → path under node_modules."""

_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    gzipped: bytes
    media_type: str
    version: str


class Assets:
    def __init__(self, node_modules: Path | None = None) -> None:
        self._assets: dict[str, Asset] = {}
        for path in sorted(OWN_DIR.iterdir()):
            if path.is_file():
                self._add(path.name, path)
        modules = node_modules or DEFAULT_NODE_MODULES
        for name, relative in VENDOR.items():
            path = modules / relative
            if path.is_file():
                self._add(name, path)
            else:  # the API works without them; the pages lose their charts and live updates
                logger.error("browser library %s missing (run `npm ci`): %s", name, path)

    def _add(self, name: str, path: Path) -> None:
        body = path.read_bytes()
        media_type = _TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        version = hashlib.sha256(body).hexdigest()[:12]
        self._assets[name] = Asset(body, gzip.compress(body, compresslevel=9, mtime=0), media_type, version)

    def url(self, name: str) -> str:
        """The versioned URL of an asset (unversioned if it is missing: a 404, logged at start-up)."""
        asset = self._assets.get(name)
        return f"/static/{name}?v={asset.version}" if asset is not None else f"/static/{name}"

    def response(self, request: Request, name: str) -> Response:
        asset = self._assets.get(name)
        if asset is None:
            return Response(status_code=404, content=b"not found", media_type="text/plain")
        etag = f'"{asset.version}"'
        cache = "public, max-age=31536000, immutable" if request.query_params.get("v") == asset.version else "no-cache"
        headers = {"ETag": etag, "Cache-Control": cache, "Vary": "Accept-Encoding", "X-Content-Type-Options": "nosniff"}
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        if "gzip" in request.headers.get("accept-encoding", ""):
            return Response(asset.gzipped, media_type=asset.media_type, headers={**headers, "Content-Encoding": "gzip"})
        return Response(asset.body, media_type=asset.media_type, headers=headers)


router = APIRouter(include_in_schema=False)


@router.get("/static/{name}")
async def static_asset(request: Request, name: str) -> Response:
    assets = request.app.state.assets
    assert isinstance(assets, Assets)
    return assets.response(request, name)
