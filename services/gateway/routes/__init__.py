"""Routers of the gateway's authenticated API, one module per area.

Every router listed in `ROUTERS` is included by `services.gateway.app.create_app` behind the bearer-auth
dependency, with our error responses documented. To add an area, write `routes/<area>.py` exposing
`router = APIRouter(prefix="/v1/<area>", tags=["<area>"])` and add ONE line below.
"""

from __future__ import annotations

from fastapi import APIRouter

from services.gateway.routes import alerts, loans, session, snapshots, wealth

ROUTERS: list[APIRouter] = [
    session.router,
    loans.router,
    snapshots.router,
    wealth.router,
    alerts.router,
]
