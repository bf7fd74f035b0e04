"""One-time sign-in links and revoked tokens, on the real PostgreSQL: a link opens one session of the gateway's
own and is worthless afterwards (even to two browsers at once), it is never an API token, and a revoked
token is refused before it expires."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
import pytest

from services.gateway.app import create_app
from services.gateway.security import SESSION_COOKIE
from shared.auth import SIGNIN_AUDIENCE, Role, issue_token, verify_token
from tests.integration.test_gateway_authorization import SECRET, gateway_settings, kafka_topics, read_model_database
from tests.support.kafka import eventually
from tests.support.stack import ROOT, Stack

pytestmark = pytest.mark.integration

BASE = "http://gateway"


@dataclass
class Gateway:
    transport: httpx.ASGITransport
    database_url: str  # the administrator's

    def browser(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=self.transport, base_url=BASE)


@pytest.fixture(scope="module")
async def gateway(stack: Stack) -> AsyncIterator[Gateway]:
    async with read_model_database(stack) as url, kafka_topics(stack) as prefix:
        settings = gateway_settings(url, stack, prefix).model_copy(update={"revocations_refresh_seconds": 0.1})
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            conn = await asyncpg.connect(url)
            try:
                # The gateway creates its tables in the background once the database answers.
                await eventually(lambda: conn.fetchval("SELECT to_regclass('gateway.revoked_tokens') IS NOT NULL"))
            finally:
                await conn.close()
            yield Gateway(httpx.ASGITransport(app), url)


def link(**changes: object) -> str:
    options: dict[str, object] = {
        "sub": "nia@bank.test",
        "branch_id": "B1",
        "secret": SECRET,
        "audience": SIGNIN_AUDIENCE,
        "ttl": dt.timedelta(minutes=15),
    }
    return issue_token(Role.TEAM_LEADER, **{**options, **changes})  # type: ignore[arg-type]


def sent_to_sign_in(response: httpx.Response) -> str | None:
    """The reason the sign-in form is shown for, if the response sends there."""
    location = urlsplit(response.headers.get("location", ""))
    if location.path != "/signin":
        return None
    return str(parse_qs(location.query).get("reason", [""])[0])


async def test_a_link_opens_one_session_of_the_gateways_own(gateway: Gateway) -> None:
    the_link = link()
    async with gateway.browser() as browser:
        response = await browser.get(f"/loans?scope=branch:B1&token={the_link}")
        assert response.status_code == 303
        assert response.headers["location"] == "/loans?scope=branch:B1"
        session = browser.cookies[SESSION_COOKIE]
        assert session != the_link
        claims = verify_token(session, SECRET)  # an API token: the session works on the API too
        assert (claims.sub, claims.role, claims.branch_id) == ("nia@bank.test", Role.TEAM_LEADER, "B1")
        assert claims.iat is not None
        assert claims.exp - claims.iat == dt.timedelta(hours=12)  # PULSE_SESSION_HOURS, not the link's minutes
        assert (await browser.get("/loans?scope=branch:B1")).status_code == 200
        assert (await browser.get("/v1/loans/summary", params={"scope": "branch:B1"})).status_code == 200

    async with gateway.browser() as someone_else:  # the same link again, from the browser history, a log, ...
        again = await someone_else.get(f"/loans?token={the_link}")
        assert sent_to_sign_in(again) == "used"
        assert SESSION_COOKIE not in someone_else.cookies
        form = await someone_else.get(again.headers["location"])
        assert "has been used already" in form.text


async def test_two_browsers_opening_one_link_at_once_get_one_session(gateway: Gateway) -> None:
    the_link = link()
    browsers = [gateway.browser() for _ in range(4)]
    try:
        responses = await asyncio.gather(*(b.get(f"/?token={the_link}") for b in browsers))
        reasons = sorted(str(sent_to_sign_in(r)) for r in responses)
        assert reasons == ["None", "used", "used", "used"]
        assert sum(SESSION_COOKIE in b.cookies for b in browsers) == 1
    finally:
        for b in browsers:
            await b.aclose()


async def test_an_expired_link_opens_nothing(gateway: Gateway) -> None:
    async with gateway.browser() as browser:
        response = await browser.get(f"/?token={link(ttl=dt.timedelta(minutes=-2))}")
        assert sent_to_sign_in(response) == "expired"


async def test_a_link_is_not_an_api_token(gateway: Gateway) -> None:
    async with gateway.browser() as api:
        response = await api.get("/v1/whoami", headers={"Authorization": f"Bearer {link()}"})
        assert response.status_code == 401
        assert "wrong audience" in response.json()["error"]["message"]


async def test_a_revoked_token_is_refused_before_it_expires(gateway: Gateway) -> None:
    token = issue_token(Role.ADMIN, sub="ops@bank.test", secret=SECRET)
    bearer = {"Authorization": f"Bearer {token}"}
    async with gateway.browser() as api:
        assert (await api.get("/v1/whoami", headers=bearer)).status_code == 200
        result = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "cli.main", "revoke", token, "--reason", "laptop stolen"],
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": gateway.database_url},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        claims = verify_token(token, SECRET)
        assert f"revoked {claims.jti}" in result.stdout

        async def refused() -> bool:
            return (await api.get("/v1/whoami", headers=bearer)).status_code == 401

        await eventually(refused, timeout=5)
        body = (await api.get("/v1/whoami", headers=bearer)).json()
        assert "token revoked" in body["error"]["message"]
        # Another token of the same person is not affected.
        other = issue_token(Role.ADMIN, sub="ops@bank.test", secret=SECRET)
        assert (await api.get("/v1/whoami", headers={"Authorization": f"Bearer {other}"})).status_code == 200
    conn = await asyncpg.connect(gateway.database_url)
    try:
        row = await conn.fetchrow("SELECT expires_at, reason FROM gateway.revoked_tokens WHERE jti = $1", claims.jti)
    finally:
        await conn.close()
    assert row is not None
    assert (row["expires_at"], row["reason"]) == (claims.exp, "laptop stolen")
