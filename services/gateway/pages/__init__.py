"""The dashboard's pages (CONTRACT §6), served by the gateway from the same reads as the JSON API.

One module per page; `ROUTERS` is what `app.py` includes. Templates are in `templates/`, our own CSS and
JavaScript in `static/`, the browser libraries come from npm (`assets.py`).
"""

from __future__ import annotations

from fastapi import APIRouter

from services.gateway.pages import alerts, assets, events, loans, oidc, session, snapshots, wealth

ROUTERS: list[APIRouter] = [
    session.router,
    oidc.router,
    loans.router,
    wealth.router,
    alerts.router,
    snapshots.router,
    events.router,
    assets.router,
]
