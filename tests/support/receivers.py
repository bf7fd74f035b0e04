"""Real notification receivers for tests: an SMTP server (aiosmtpd) that keeps what it accepts, and a
webhook receiver speaking HTTP/1.1 that can fail, hang or redirect on demand; either over TLS with a
certificate of the tests' own CA (trustme)."""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import ssl
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from services.alerter.notify.signing import verify
from tests.support.stack import free_port

# --- the SMTP server -------------------------------------------------------------------------------------


@dataclass
class LocalCA:
    """A certificate authority of the tests' own, and a server certificate from it for 127.0.0.1."""

    ca: trustme.CA
    ca_file: Path  # what a client is told to trust (PULSE_SMTP_CA_FILE, PULSE_WEBHOOK_CA_FILE)

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        return context


@pytest.fixture(scope="session")
def local_ca(tmp_path_factory: pytest.TempPathFactory) -> LocalCA:
    ca = trustme.CA()
    ca_file = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return LocalCA(ca, ca_file)


@dataclass
class Mail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    tls: bool  # the message came over an encrypted connection


class Inbox:
    """aiosmtpd handler that keeps every message it accepts (it runs in the controller's thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._mails: list[Mail] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        raw = envelope.original_content or b""
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            # Over STARTTLS or TLS from the first byte alike, the transport is then an encrypted one.
            encrypted = server.transport is not None and server.transport.get_extra_info("ssl_object") is not None
            self._mails.append(Mail(str(envelope.mail_from), [str(r) for r in envelope.rcpt_tos], message, encrypted))
        return "250 Message accepted for delivery"

    @property
    def mails(self) -> list[Mail]:
        with self._lock:
            return list(self._mails)


@contextlib.contextmanager
def smtp_server(**options: Any) -> Iterator[tuple[Inbox, int]]:
    """An SMTP server on a free port; `options` go to aiosmtpd (`tls_context` + `require_starttls` for
    STARTTLS, `ssl_context` for TLS from the first byte)."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    """A plain-text SMTP server (no STARTTLS)."""
    with smtp_server() as server:
        yield server


# --- the HTTP receiver -----------------------------------------------------------------------------------


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    at: float  # time.monotonic(), to measure the time between requests
    received: float  # time.time(), the moment a receiver checks the signature's age against

    def signed_by(self, secrets: list[str]) -> bool:
        """The signature verifies under one of `secrets`, as a receiver checks it when the request arrives."""
        header = self.headers.get("x-pulse-signature")
        return verify(secrets, header, self.headers.get("x-pulse-delivery", ""), self.body, now=self.received)


@dataclass
class Receiver:
    """A webhook receiver speaking plain HTTP/1.1 (one request per connection). Per path it can answer 500
    to the first N requests, never answer, or redirect."""

    fail_first: dict[str, int] = field(default_factory=dict)
    hang: set[str] = field(default_factory=set)
    redirect: dict[str, str] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    port: int = 0
    tls: ssl.SSLContext | None = None  # serve HTTPS with this context
    _server: asyncio.Server | None = None
    _handlers: set[asyncio.Task[None]] = field(default_factory=set)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=self.tls)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    def url(self, path: str) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}{path}"

    def to(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            await self._serve(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass  # includes a client that refused our certificate
        finally:
            self._handlers.discard(task)
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request_line = (await reader.readline()).decode("latin-1").rstrip("\r\n")
        if not request_line:
            return
        method, target, _version = request_line.split(" ", 2)
        headers: dict[str, str] = {}
        while True:
            line = (await reader.readline()).decode("latin-1").rstrip("\r\n")
            if not line:
                break
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        self.requests.append(Request(method, target, headers, body, time.monotonic(), time.time()))
        seen = len(self.to(target))
        if target in self.hang:
            await reader.read()  # until the client gives up and closes the connection
            return
        if target in self.redirect:
            status, extra = "302 Found", f"Location: {self.redirect[target]}\r\n"
        elif seen <= self.fail_first.get(target, 0):
            status, extra = "500 Internal Server Error", ""
        else:
            status, extra = "200 OK", ""
        text = b"ok" if status.startswith("200") else b"not now"
        writer.write(
            f"HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {len(text)}\r\n{extra}"
            "Connection: close\r\n\r\n".encode()
            + text
        )
        await writer.drain()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    the_receiver = Receiver()
    await the_receiver.start()
    try:
        yield the_receiver
    finally:
        await the_receiver.stop()
