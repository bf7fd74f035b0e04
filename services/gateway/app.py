"""The gateway application: `create_app(settings)` (CONTRACT §4, §6). Wiring only: the dependencies (the
database pool, the Kafka publisher, the live feed, the pages' assets) are built here and kept on
`app.state`, where the routes' dependencies find them.

Unauthenticated: `/healthz`, `/readyz`, `/metrics` (and the OpenAPI document and its UIs), `/static/*`, the
sign-in form. Everything in `services.gateway.routes.ROUTERS` (the JSON API) is behind the bearer-or-session
dependency; every page in `services.gateway.pages.ROUTERS` behind the session (else a redirect to sign in).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Literal

from fastapi import Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel

from services.gateway import __version__
from services.gateway.access_log import AccessLogMiddleware
from services.gateway.db import Database
from services.gateway.errors import (
    ERROR_RESPONSES,
    CatchAllMiddleware,
    ErrorBody,
    error_response,
    install_error_handlers,
)
from services.gateway.identity import Authenticator
from services.gateway.live import LiveFeed
from services.gateway.metrics import CONTENT_TYPE_LATEST, GatewayMetrics, MetricsMiddleware
from services.gateway.pages import ROUTERS as PAGE_ROUTERS
from services.gateway.pages.assets import Assets
from services.gateway.pages.errors import html_errors
from services.gateway.pages.regions import Regions
from services.gateway.pages.session import SignInRequired, TokenSignInMiddleware, signin_target
from services.gateway.publisher import Publisher
from services.gateway.routes import ROUTERS
from services.gateway.security import current_claims
from shared import db as db_plumbing
from shared.retry import retry_transient
from shared.settings import Settings, get_settings

TITLE = "Pulse gateway"
logger = logging.getLogger("services.gateway.app")


class Liveness(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready"]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings if settings is not None else get_settings()
    db = Database(settings.database_url, min_size=settings.db_pool_min, max_size=settings.db_pool_max)
    metrics = GatewayMetrics()
    metrics.bind_pool(db.size, db.in_use)
    publisher = Publisher(  # started lazily
        settings.kafka(), prefix=settings.topic_prefix, bounds=settings.event_bounds()
    )
    authenticator = Authenticator.from_settings(settings, db)  # refuses to start with no way to verify a token
    live = LiveFeed(settings.database_url)
    regions = Regions(live)
    assets = Assets(Path(settings.node_modules_dir) if settings.node_modules_dir else None)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await db.connect()  # a database that is down is logged, not fatal: /readyz says 503 until it is up
        await live.start()  # likewise: it keeps trying to listen
        migrations = asyncio.create_task(migrate_when_reachable(settings), name="gateway-migrations")
        try:
            yield
        finally:
            migrations.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await migrations
            await live.close()
            await publisher.close()
            await db.close()

    app = FastAPI(
        title=TITLE,
        version=__version__,
        description="Read API of Pulse: loans and wealth portfolios, alerts, snapshot requests.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.db = db
    app.state.authenticator = authenticator
    app.state.metrics = metrics
    app.state.publisher = publisher
    app.state.live = live
    app.state.regions = regions
    app.state.assets = assets

    install_error_handlers(app, html=html_errors)
    app.add_exception_handler(SignInRequired, _sign_in)
    app.add_middleware(TokenSignInMiddleware)  # before any route (or log) sees a token in a page's query
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(AccessLogMiddleware)
    app.add_middleware(CatchAllMiddleware)  # added last = outermost

    @app.get("/healthz", tags=["ops"], response_model=Liveness)
    async def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["ops"],
        response_model=Readiness,
        responses={503: {"model": ErrorBody, "description": "Database not reachable"}},
    )
    async def readyz() -> JSONResponse:
        """Readiness: the database answers `SELECT 1`."""
        if await db.ping():
            return JSONResponse({"status": "ready"})
        return error_response(503, "unavailable", "database not reachable")

    @app.get(
        "/metrics",
        tags=["ops"],
        response_class=Response,
        responses={
            200: {
                "description": "Prometheus text exposition",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            }
        },
    )
    async def metrics_endpoint() -> Response:
        """Prometheus text exposition."""
        return Response(content=metrics.render(), media_type=CONTENT_TYPE_LATEST)

    authenticated = [Depends(current_claims)]
    for router in ROUTERS:
        app.include_router(router, dependencies=authenticated, responses=ERROR_RESPONSES)
    for router in PAGE_ROUTERS:
        app.include_router(router)

    return app


MIGRATIONS = Path(__file__).parent / "migrations"


async def migrate_when_reachable(settings: Settings) -> None:
    """The gateway's own tables (sign-in links, revoked tokens), as the schema owner's login when there is one;
    retried in the background until the database answers, since the gateway starts without it."""

    url = settings.migration_database_url or settings.database_url
    try:
        await retry_transient(
            lambda: db_plumbing.migrate_at(url, "gateway", MIGRATIONS, retry=False),
            what="gateway migrations",
            initial=0.5,
            maximum=30.0,
        )
    except Exception:  # a deployment fault (rights, say): sign-in links answer 503 until it is fixed
        logger.exception("the gateway's migrations failed")


async def _sign_in(request: Request, exc: Exception) -> Response:
    """A page without a session: 303 to sign in (`signin_target`); an htmx request (a page's live region,
    whose session expired) is told to load that page as a whole (`HX-Redirect`)."""
    assert isinstance(exc, SignInRequired)
    target = signin_target(request, exc.next_url)
    if request.headers.get("hx-request") == "true":
        return Response(status_code=401, headers={"HX-Redirect": target})
    return RedirectResponse(target, 303)
