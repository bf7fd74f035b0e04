"""What the gateway's request observers share: an ASGI middleware that, once an HTTP request has been answered
(or has failed), hands its scope, status and duration to `observed`. The metrics and the access log are two."""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class RequestObserver:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def observed(self, scope: Scope, status: int, seconds: float) -> None:
        """Called once per HTTP request, after its response (or its failure)."""
        raise NotImplementedError

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500  # if the app raises before answering, the client gets a 500

        async def send_recording(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_recording)
        finally:
            self.observed(scope, status, time.perf_counter() - start)
