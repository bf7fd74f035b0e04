"""Prometheus metrics of the gateway, on a dedicated registry (one per app instance).

`MetricsMiddleware` labels requests by the ROUTE TEMPLATE (`/v1/wealth/clients/{id}/history`), never the
raw path, so label cardinality stays bounded; requests matching no route are labelled `<unmatched>`.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Scope

from services.gateway.observe import RequestObserver

SERVICE = "gateway"
UNMATCHED_ROUTE = "<unmatched>"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

__all__ = ["CONTENT_TYPE_LATEST", "UNMATCHED_ROUTE", "GatewayMetrics", "MetricsMiddleware", "route_template"]


class GatewayMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        self.requests_total = Counter(
            "pulse_http_requests_total",
            "HTTP requests answered, by method, route template and status code.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.request_duration = Histogram(
            "pulse_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template.",
            ["method", "route"],
            registry=self.registry,
        )
        self.db_pool_size = Gauge(
            "pulse_db_pool_size",
            "Connections currently open in the database pool.",
            ["service"],
            registry=self.registry,
        )
        self.db_pool_in_use = Gauge(
            "pulse_db_pool_in_use",
            "Connections of the database pool currently checked out.",
            ["service"],
            registry=self.registry,
        )
        self.page_regions = Counter(
            "pulse_page_regions_total",
            "Live regions of the dashboard's pages served: hit (shared, already built for this state of the read"
            " model), built, or unshared (not listening for changes, so built for one request).",
            ["outcome"],
            registry=self.registry,
        )
        for outcome in ("hit", "built", "unshared"):
            self.page_regions.labels(outcome=outcome)
        # Present (at 0) before the pool exists.
        self.db_pool_size.labels(service=SERVICE).set(0)
        self.db_pool_in_use.labels(service=SERVICE).set(0)

    def bind_pool(self, size: Callable[[], float], in_use: Callable[[], float]) -> None:
        """Read the pool gauges from these callables at every scrape."""
        self.db_pool_size.labels(service=SERVICE).set_function(size)
        self.db_pool_in_use.labels(service=SERVICE).set_function(in_use)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests_total.labels(method=method, route=route, status=str(status)).inc()
        self.request_duration.labels(method=method, route=route).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def route_template(scope: Scope) -> str:
    """The template of the route that answered (`/v1/wealth/clients/{id}/history`), never the raw path."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    # Not routed (e.g. an exception before routing): find the template ourselves, never use the raw path.
    app = scope.get("app")
    routes: list[BaseRoute] = list(getattr(getattr(app, "router", None), "routes", []) or [])
    for candidate in routes:
        match, _ = candidate.matches(scope)
        if match is not Match.NONE:
            template = getattr(candidate, "path", None)
            if isinstance(template, str):
                return template
    return UNMATCHED_ROUTE


class MetricsMiddleware(RequestObserver):
    """Count and time every HTTP request by method, route template and status."""

    def __init__(self, app: ASGIApp, metrics: GatewayMetrics) -> None:
        super().__init__(app)
        self.metrics = metrics

    def observed(self, scope: Scope, status: int, seconds: float) -> None:
        method = str(scope.get("method", ""))
        self.metrics.observe(method if method in _METHODS else "OTHER", route_template(scope), status, seconds)
