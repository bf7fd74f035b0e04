"""The one error body of the gateway: `{"error": {"code": "...", "message": "..."}}` (CONTRACT §4).

Endpoints raise `ApiError` (or use the helpers `unauthorized`, `forbidden`, `not_found`,
`invalid_parameters`, `unavailable`); `install_error_handlers` maps those, Starlette's HTTP errors
(unknown route, wrong method), FastAPI's request validation errors and any unexpected exception
to that body. An unexpected exception is logged and answered with a 500 that leaks nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("services.gateway.errors")

# Codes by HTTP status, for errors raised without an explicit code.
_CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_parameters",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    """Shape of every error response (for OpenAPI)."""

    error: ErrorDetail


def _response(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


# `responses=` for routers/routes, so OpenAPI documents our body instead of FastAPI's defaults.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {
        **_response("Missing or invalid bearer token"),
        "headers": {
            "WWW-Authenticate": {"description": "`Bearer`", "required": True, "schema": {"type": "string"}},
        },
    },
    403: _response("Outside the caller's scope"),
    404: _response("Unknown scope or no data"),
    422: _response("Invalid parameters"),
}

# `responses=` for the routers reading the aggregator's read model (`Database.acquire` and `_read_model`).
READ_MODEL_RESPONSES: dict[int | str, dict[str, Any]] = {
    503: _response("Database unreachable, or the read model not created yet"),
}


class ApiError(Exception):
    """An error answered with our body."""

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.headers = dict(headers) if headers else None


def unauthorized(message: str = "missing or invalid bearer token") -> ApiError:
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"})


def forbidden(message: str = "outside the caller's scope") -> ApiError:
    return ApiError(403, "forbidden", message)


def not_found(message: str = "not found") -> ApiError:
    return ApiError(404, "not_found", message)


def invalid_parameters(message: str) -> ApiError:
    return ApiError(422, "invalid_parameters", message)


def unavailable(message: str = "service unavailable") -> ApiError:
    return ApiError(503, "unavailable", message)


def error_response(
    status_code: int,
    code: str,
    message: str,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        status_code=status_code,
        content={"error": {"code": code, "message": message}},
        headers=dict(headers) if headers else None,
    )


HtmlErrors = Callable[[Request, int, str, str], Awaitable[Response | None]]
"""Renders an error as a page for a request that wants one (None: answer with the JSON body)."""


def code_for_status(status_code: int) -> str:
    if status_code in _CODES:
        return _CODES[status_code]
    return "internal_error" if status_code >= 500 else "bad_request"


def _describe_validation_errors(errors: Sequence[Any]) -> str:
    parts: list[str] = []
    for err in errors:
        if not isinstance(err, Mapping):
            continue
        loc = ".".join(str(part) for part in err.get("loc", ()))
        msg = str(err.get("msg", "invalid"))
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts) or "invalid parameters"


async def _answer(
    request: Request, status_code: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    html: HtmlErrors | None = getattr(request.app.state, "html_errors", None)
    page = await html(request, status_code, code, message) if html is not None else None
    return page if page is not None else error_response(status_code, code, message, headers)


async def _api_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return await _answer(request, exc.status_code, exc.code, exc.message, exc.headers)


async def _http_exception_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    status_code = exc.status_code
    if status_code == 404:
        message = f"no route for {request.method} {request.url.path}"
        if isinstance(exc.detail, str) and exc.detail not in ("Not Found", ""):
            message = exc.detail
    elif isinstance(exc.detail, str) and exc.detail:
        message = exc.detail
    else:
        message = "request failed"
    if status_code >= 500:  # never leak details of a server-side failure
        message = "internal error"
    return await _answer(request, status_code, code_for_status(status_code), message, exc.headers)


async def _validation_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return await _answer(request, 422, "invalid_parameters", _describe_validation_errors(exc.errors()))


async def _unexpected_error_handler(request: Request, exc: Exception) -> JSONResponse:
    # Backstop only: `CatchAllMiddleware` normally answers (and logs) unexpected errors first.
    logger.error(
        "unhandled error on %s %s",
        request.method,
        request.url.path,
        exc_info=(type(exc), exc, exc.__traceback__),
    )
    return error_response(500, "internal_error", "internal error")


async def _page_or_body(scope: Scope, status_code: int, code: str, message: str) -> Response:
    app = scope.get("app")
    html: HtmlErrors | None = getattr(getattr(app, "state", None), "html_errors", None)
    page = None
    if html is not None:
        try:
            page = await html(Request(scope), status_code, code, message)
        except Exception:  # the page itself failed: the JSON body still answers
            logger.exception("error page failed")
    return page if page is not None else error_response(status_code, code, message)


class CatchAllMiddleware:
    """Outermost guard: log an unexpected exception once and answer our 500 body.

    Starlette's own server-error handling re-raises after answering (so the server logs the
    traceback a second time); this middleware swallows the exception instead. If the response had
    already started, nothing can be sent, and the exception propagates.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_tracking)
        except Exception:
            if started:
                raise
            logger.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            response = await _page_or_body(scope, 500, "internal_error", "internal error")
            await response(scope, receive, send)


def install_error_handlers(app: FastAPI, html: HtmlErrors | None = None) -> None:
    """Answer every error with our JSON body, or, where `html` renders one, with a page."""
    app.state.html_errors = html
    app.add_exception_handler(ApiError, _api_error_handler)
    app.add_exception_handler(StarletteHTTPException, _http_exception_handler)
    app.add_exception_handler(RequestValidationError, _validation_error_handler)
    app.add_exception_handler(Exception, _unexpected_error_handler)
