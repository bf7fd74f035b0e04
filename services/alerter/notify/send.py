"""One delivery attempt: an email over SMTP (aiosmtplib) or a signed webhook POST (httpx).

Success returns; every failure (refused, timed out, unreachable, a non-2xx answer, a redirect) raises
`DeliveryError`, whose message is recorded as the delivery's last error.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from email.message import EmailMessage
from email.utils import formatdate
from typing import Protocol

import aiosmtplib
import httpx

from services.alerter.notify.plan import Delivery
from services.alerter.notify.signing import signature
from shared.settings import Settings

SMTP_TIMEOUT = 10.0
USER_AGENT = "Pulse-Webhooks/1"
ERROR_BODY_BYTES = 200


class DeliveryError(Exception):
    """A failed attempt; the delivery is retried until its deadline."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class EmailContent(Protocol):
    """What an email needs: a `Delivery`, or a weekly summary."""

    @property
    def recipient(self) -> str: ...
    @property
    def subject(self) -> str | None: ...
    @property
    def body_text(self) -> str | None: ...
    @property
    def body_html(self) -> str | None: ...


def email_message(settings: Settings, d: EmailContent, *, message_id: str | None = None) -> EmailMessage:
    """A multipart/alternative message: the plain-text part, then the HTML part."""
    msg = EmailMessage()
    msg["From"] = settings.smtp_from
    msg["To"] = d.recipient
    msg["Subject"] = d.subject or "[Pulse] notification"
    msg["Date"] = formatdate(usegmt=True)
    if message_id is not None:
        # Stable across retries: mail systems can drop a duplicate of an at-least-once delivery.
        msg["Message-ID"] = f"<{message_id}@pulse>"
        msg["X-Pulse-Delivery"] = message_id
    msg.set_content(d.body_text or "")
    if d.body_html:
        msg.add_alternative(d.body_html, subtype="html")
    return msg


async def send_email(settings: Settings, d: EmailContent, *, timeout: float = SMTP_TIMEOUT) -> None:  # noqa: ASYNC109
    """Send `d` to its recipient through the configured SMTP server (STARTTLS and login when configured)."""
    message_id = d.delivery_id if isinstance(d, Delivery) else None
    try:
        msg = email_message(settings, d, message_id=message_id)
    except ValueError as exc:  # e.g. an address or header the email library refuses
        raise DeliveryError(f"email not composable: {exc}") from exc
    try:
        await aiosmtplib.send(
            msg,
            sender=settings.smtp_from,
            recipients=[d.recipient],
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username or None,
            password=settings.smtp_password if settings.smtp_username else None,
            # STARTTLS is required, not attempted: a server that does not offer it fails the attempt.
            start_tls=settings.smtp_tls == "starttls",
            use_tls=settings.smtp_tls == "tls",
            tls_context=tls_context(settings.smtp_ca_file) if settings.smtp_tls != "none" else None,
            timeout=timeout,
        )
    except aiosmtplib.SMTPException as exc:
        raise DeliveryError(f"SMTP: {type(exc).__name__}: {exc}"[:2000]) from exc
    except (OSError, TimeoutError) as exc:
        raise DeliveryError(f"SMTP {settings.smtp_host}:{settings.smtp_port}: {type(exc).__name__}: {exc}") from exc


def tls_context(ca_file: str | None) -> ssl.SSLContext:
    """Certificates checked against the system's CAs, or only against those of `ca_file` (PEM)."""
    return ssl.create_default_context(cafile=ca_file)


def webhook_headers(d: Delivery, secrets: list[str], *, now: float | None = None) -> dict[str, str]:
    if d.payload is None:
        raise DeliveryError("a webhook delivery without a payload")
    if not secrets:
        raise DeliveryError("no secret for this URL (it is no longer in PULSE_WEBHOOKS)")
    timestamp = int(time.time() if now is None else now)
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Pulse-Signature": signature(secrets, timestamp, d.delivery_id, d.payload),
        "X-Pulse-Delivery": d.delivery_id,
        "X-Pulse-Event": d.alert_event,
    }


async def post_webhook(
    d: Delivery,
    secrets: list[str],
    *,
    timeout: float,  # noqa: ASYNC109  (also bounds each phase of the request inside httpx)
    client: httpx.AsyncClient,
) -> None:
    """POST `d.payload` exactly as it is, signed with each of `secrets` at this moment, through `client` (the
    worker's, which checks certificates against PULSE_WEBHOOK_CA_FILE or the system's CAs). 2xx is
    delivered; anything else raises `DeliveryError`.

    Redirects are never followed (the URL comes from configuration only). `timeout` bounds the whole
    attempt, connecting included.
    """
    headers = webhook_headers(d, secrets)
    try:
        async with asyncio.timeout(timeout):
            await _post(client, d, headers, timeout)
    except DeliveryError:
        raise
    except TimeoutError as exc:
        raise DeliveryError(f"no answer within {timeout:g} s") from exc
    except httpx.TimeoutException as exc:
        raise DeliveryError(f"timed out ({type(exc).__name__}) within {timeout:g} s") from exc
    except (httpx.HTTPError, httpx.InvalidURL, OSError) as exc:
        raise DeliveryError(f"{type(exc).__name__}: {exc}"[:2000]) from exc


async def _post(client: httpx.AsyncClient, d: Delivery, headers: dict[str, str], request_timeout: float) -> None:
    request = client.build_request("POST", d.recipient, content=d.payload, headers=headers, timeout=request_timeout)
    response = await client.send(request, stream=True, follow_redirects=False)
    try:
        status = response.status_code
        if 200 <= status < 300:
            return
        snippet = b""
        async for chunk in response.aiter_raw():
            snippet += chunk
            if len(snippet) >= ERROR_BODY_BYTES:
                break
        detail = snippet[:ERROR_BODY_BYTES].decode("utf-8", "replace").strip()
        if response.is_redirect:
            where = response.headers.get("location", "")
            raise DeliveryError(f"HTTP {status} redirect to {where!r} not followed"[:2000])
        raise DeliveryError(f"HTTP {status}" + (f": {detail}" if detail else ""))
    finally:
        await response.aclose()
