"""The gateway's access log: one JSON line per HTTP request, for audit (who read which scope or client, who
changed what). It records the time, the caller's `sub`, role and token id (once verified), the method, the ROUTE
TEMPLATE, the scope or client asked for, the status and the duration, and never a token, a cookie or the raw
path or query string (a sign-in link's `?token=` must not reach a log). Uvicorn's own access log stays off.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.types import Scope

from services.gateway.metrics import route_template
from services.gateway.observe import RequestObserver
from shared.logging import get_logger

log = get_logger("gateway.access")

# The query parameters that name what was read: the loans scope, the wealth client. Nothing else is logged.
_AUDITED_PARAMETERS = ("scope", "client")
CLAIMS_STATE = "claims"
"""Where `security.current_claims` leaves the verified claims for this log (`request.state`)."""


# Probes and scrapes read no one's data, and would be most of the log.
_UNLOGGED_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})


class AccessLogMiddleware(RequestObserver):
    def observed(self, scope: Scope, status: int, seconds: float) -> None:
        route = route_template(scope)
        if route in _UNLOGGED_ROUTES:
            return
        claims = scope.get("state", {}).get(CLAIMS_STATE)
        asked = {
            name: value
            for name, value in parse_qsl(scope.get("query_string", b"").decode("latin-1"))
            if name in _AUDITED_PARAMETERS
        }
        log.info(
            "access",
            sub=getattr(claims, "sub", None),
            role=getattr(getattr(claims, "role", None), "value", None),
            jti=getattr(claims, "jti", None),  # the token's id, which `pulse revoke` takes
            method=scope.get("method"),
            route=route,
            **asked,
            status=status,
            duration_ms=round(seconds * 1000, 1),
        )
