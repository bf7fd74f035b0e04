"""The dashboard's pages and sessions on the real PostgreSQL and Kafka (CONTRACT §6), without a browser:
signing in (token URL, form, sign-out), the session cookie on the API and its CSRF rule, every page's
status for every role, and the pages' figures against the API's. What a person sees in a real browser is
tests/e2e/test_dashboard.py.

The read model is the one of the authorisation matrix (test_gateway_authorization.py): branch B1 with
officers O1 and O2, branch B2 with O3, wealth clients C1 and C2, one alert per scope, on 2025-03-02 and -03.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from services.gateway.app import create_app
from services.gateway.security import SESSION_COOKIE
from shared.auth import Role, issue_token
from shared.topics import Topic
from tests.integration.test_gateway_authorization import (
    SECRET,
    TOKENS,
    gateway_settings,
    kafka_topics,
    read_model_database,
)
from tests.support.kafka import Bus
from tests.support.pages import Figure, figures
from tests.support.stack import Stack

pytestmark = pytest.mark.integration

BASE = "http://gateway"
FOREIGN = "http://127.0.0.1:9999"  # another origin of the same site: its requests carry the session cookie
MINUS = "\u2212"


@dataclass
class Gateway:
    transport: httpx.ASGITransport
    bus: Bus

    def client(self, base_url: str = BASE) -> httpx.AsyncClient:
        """A browser of its own: a fresh cookie jar on the shared gateway."""
        return httpx.AsyncClient(transport=self.transport, base_url=base_url)


@pytest.fixture(scope="module")
async def gateway(stack: Stack) -> AsyncIterator[Gateway]:
    async with read_model_database(stack) as url, kafka_topics(stack) as prefix:
        app = create_app(gateway_settings(url, stack, prefix))
        bus = Bus(stack.kafka_bootstrap, prefix)
        async with app.router.lifespan_context(app):
            yield Gateway(httpx.ASGITransport(app), bus)
        await bus.close()


@pytest.fixture
async def http(gateway: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    async with gateway.client() as client:
        yield client


async def signed_in(http: httpx.AsyncClient, role: str) -> httpx.AsyncClient:
    response = await http.get("/", params={"token": TOKENS[role]})
    assert response.status_code == 303, response.text
    assert SESSION_COOKIE in http.cookies
    return http


def cookie_attributes(response: httpx.Response) -> dict[str, str]:
    header = response.headers["set-cookie"]
    name_value, *attributes = [part.strip() for part in header.split(";")]
    assert name_value.startswith(f"{SESSION_COOKIE}=")
    return {a.partition("=")[0].lower(): a.partition("=")[2] for a in attributes}


# --- signing in ---------------------------------------------------------------------------------------


async def test_a_token_url_starts_a_session_and_answers_the_same_url_without_the_token(
    http: httpx.AsyncClient,
) -> None:
    token = issue_token(Role.TEAM_LEADER, branch_id="B1", sub="nia@bank.test", secret=SECRET)  # 12 hours from now
    response = await http.get(f"/loans?scope=branch:B1&token={token}&range=30d")
    assert response.status_code == 303
    assert response.headers["location"] == "/loans?scope=branch:B1&range=30d"
    assert token not in response.headers["location"]
    attributes = cookie_attributes(response)
    assert "httponly" in attributes
    assert attributes["samesite"].lower() == "lax"
    assert attributes["path"] == "/"
    assert "secure" not in attributes  # plain HTTP here; see the HTTPS case below
    assert 12 * 3600 - 60 <= int(attributes["max-age"]) <= 12 * 3600  # expires with the token (12 h)
    assert http.cookies[SESSION_COOKIE] == token
    page = await http.get(response.headers["location"])
    assert page.status_code == 200
    assert "<h1>Branch B1</h1>" in page.text


async def test_over_https_the_cookie_is_secure(gateway: Gateway) -> None:
    async with gateway.client("https://gateway") as http:
        response = await http.get("/", params={"token": TOKENS["admin"]})
    assert "secure" in cookie_attributes(response)


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("not-a-jwt", "invalid"),
        (
            issue_token(Role.ADMIN, sub="ops@bank.test", secret="another-secret-0123456789abcdef-0123456789"),
            "invalid",
        ),
        (issue_token(Role.ADMIN, sub="ops@bank.test", secret=SECRET, ttl=dt.timedelta(minutes=-5)), "expired"),
    ],
)
async def test_a_bad_token_url_goes_to_the_sign_in_form_which_says_why(
    http: httpx.AsyncClient, token: str, reason: str
) -> None:
    response = await http.get("/wealth", params={"client": "C1", "token": token})
    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert location.path == "/signin"
    assert parse_qs(location.query) == {"next": ["/wealth?client=C1"], "reason": [reason]}
    assert SESSION_COOKIE not in http.cookies
    form = await http.get(response.headers["location"])
    assert form.status_code == 200
    assert ("has expired" if reason == "expired" else "is not valid") in form.text
    assert 'name="next" value="/wealth?client=C1"' in form.text


async def test_a_page_without_a_session_redirects_to_sign_in_and_back(http: httpx.AsyncClient) -> None:
    response = await http.get("/loans?scope=officer:O1&range=1y")
    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert (location.path, parse_qs(location.query)) == ("/signin", {"next": ["/loans?scope=officer:O1&range=1y"]})
    signed = await http.post(
        "/signin",
        data={"token": TOKENS["loan_officer"], "next": "/loans?scope=officer:O1&range=1y"},
        headers={"Origin": BASE},
    )
    assert signed.status_code == 303
    assert signed.headers["location"] == "/loans?scope=officer:O1&range=1y"
    assert (await http.get(signed.headers["location"])).status_code == 200


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/x", "/\\evil", "javascript:alert(1)"])
async def test_sign_in_only_returns_to_this_site(http: httpx.AsyncClient, next_url: str) -> None:
    signed = await http.post("/signin", data={"token": TOKENS["admin"], "next": next_url}, headers={"Origin": BASE})
    assert signed.headers["location"] == "/"


async def test_a_pasted_bad_token_is_refused_with_the_form_again(http: httpx.AsyncClient) -> None:
    response = await http.post("/signin", data={"token": "nope", "next": "/alerts"}, headers={"Origin": BASE})
    assert response.status_code == 401
    assert "That token is not valid" in response.text
    assert SESSION_COOKIE not in http.cookies


async def test_sign_in_and_sign_out_are_refused_from_another_origin(http: httpx.AsyncClient) -> None:
    response = await http.post("/signin", data={"token": TOKENS["admin"]}, headers={"Origin": FOREIGN})
    assert response.status_code == 403
    assert SESSION_COOKIE not in http.cookies
    await signed_in(http, "admin")
    assert (await http.post("/signout", headers={"Origin": FOREIGN})).status_code == 403
    assert SESSION_COOKIE in http.cookies


async def test_sign_out_ends_the_session(http: httpx.AsyncClient) -> None:
    await signed_in(http, "admin")
    response = await http.post("/signout", headers={"Origin": BASE})
    assert response.status_code == 303
    assert cookie_attributes(response)["max-age"] == "0"
    assert SESSION_COOKIE not in http.cookies
    assert (await http.get("/loans")).status_code == 303


@pytest.mark.parametrize(
    ("role", "home"),
    [
        ("admin", "/loans"),
        ("team_leader", "/loans?scope=branch:B1"),
        ("loan_officer", "/loans?scope=officer:O1"),
        ("client", "/wealth?client=C1"),
    ],
)
async def test_home_by_role(http: httpx.AsyncClient, role: str, home: str) -> None:
    await signed_in(http, role)
    response = await http.get("/")
    assert (response.status_code, response.headers["location"]) == (303, home)
    assert (await http.get(home)).status_code == 200


async def test_a_token_in_a_url_is_never_logged(http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    token = TOKENS["admin"]
    await http.get(f"/loans?token={token}")
    await http.get(f"/nowhere?token={token}")
    await http.get(f"/wealth?client=NOBODY&token={token}")
    # The test's own HTTP client logs the URLs it asks for; the gateway logs none of them.
    gateway = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    assert all(token not in record.getMessage() for record in gateway)
    assert all(token not in str(record.__dict__) for record in gateway)


# --- the API with the session cookie (CSRF) ----------------------------------------------------------


async def test_the_api_accepts_the_session_cookie(http: httpx.AsyncClient) -> None:
    bearer = await http.get("/v1/loans/summary?scope=branch:B1", headers={"Authorization": f"Bearer {TOKENS['admin']}"})
    await signed_in(http, "admin")
    cookie = await http.get("/v1/loans/summary?scope=branch:B1")
    assert cookie.status_code == 200
    assert cookie.text == bearer.text


async def _published(bus: Bus, topic: Topic, event_id: str) -> bool:
    records = await bus.read_until(topic, lambda seen: any(event_id.encode() in (r.value or b"") for r in seen))
    return any(json.loads(r.value or b"{}").get("event_id") == event_id for r in records)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/alerts/al-b1/ack", None),
        ("/v1/snapshots/requests", {"business_date": "2025-03-03", "force": False}),
    ],
)
async def test_a_state_change_with_the_cookie_must_come_from_the_gateways_own_origin(
    gateway: Gateway, http: httpx.AsyncClient, path: str, body: dict[str, Any] | None
) -> None:
    bus = gateway.bus
    await signed_in(http, "admin")
    for headers in ({}, {"Origin": FOREIGN}, {"Origin": "null"}, {"Referer": f"{FOREIGN}/page"}):
        refused = await http.post(path, json=body, headers=headers)
        assert refused.status_code == 403, (headers, refused.text)
        assert refused.json()["error"]["code"] == "forbidden"
    for headers in ({"Origin": BASE}, {"Referer": f"{BASE}/alerts"}, {"Sec-Fetch-Site": "same-origin"}):
        accepted = await http.post(path, json=body, headers=headers)
        assert accepted.status_code == 202, (headers, accepted.text)
        topic = Topic.ALERTS if "alerts" in path else Topic.CONTROL
        assert await _published(bus, topic, accepted.json()["event_id"])


async def test_a_bearer_token_needs_no_origin(gateway: Gateway) -> None:
    async with gateway.client() as http:
        response = await http.post("/v1/alerts/al-o1/ack", headers={"Authorization": f"Bearer {TOKENS['admin']}"})
    assert response.status_code == 202


async def test_mark_as_read_in_place_publishes_and_answers_the_row(gateway: Gateway, http: httpx.AsyncClient) -> None:
    bus = gateway.bus
    await signed_in(http, "team_leader")
    refused = await http.post("/alerts/al-o2/ack", headers={"Origin": FOREIGN, "HX-Request": "true"})
    assert refused.status_code == 403
    response = await http.post("/alerts/al-o2/ack", headers={"Origin": BASE, "HX-Request": "true"})
    assert response.status_code == 200, response.text
    assert response.text.lstrip().startswith('<tr data-alert-id="al-o2" data-status="open" data-acknowledged="true"')
    assert "Mark as read" not in response.text
    records = await bus.read_until(Topic.ALERTS, lambda seen: any(b'"al-o2"' in (r.value or b"") for r in seen))
    acks = [json.loads(r.value or b"{}") for r in records if b'"al-o2"' in (r.value or b"")]
    assert [a["data"]["acknowledged_by"] for a in acks] == ["nia@bank.test"]
    outside = await http.post("/alerts/al-b2/ack", headers={"Origin": BASE, "HX-Request": "true"})
    assert outside.status_code == 403  # another branch's alert


# --- pages: who sees what -----------------------------------------------------------------------------

PAGES: list[tuple[str, str, int]] = [
    # (role, page, status)
    ("admin", "/loans", 200),
    ("admin", "/loans?scope=branch:B2", 200),
    ("admin", "/loans?scope=officer:O3&range=all", 200),
    ("admin", "/loans?scope=branch:NOPE", 404),  # unknown scope
    ("admin", "/loans?date=2025-03-01", 404),  # a day without data
    ("admin", "/loans?scope=everything", 422),
    ("admin", "/loans?date=2025-02-30", 422),
    ("admin", "/loans?range=2y", 422),
    ("admin", "/wealth", 200),
    ("admin", "/wealth?client=C2&date=2025-03-02", 200),
    ("admin", "/wealth?client=NOBODY", 404),
    ("admin", "/wealth?date=2024-01-01", 404),
    ("admin", "/alerts?status=all&severity=warning&type=high_par&unread=true", 200),
    ("admin", "/alerts?status=closed", 422),
    ("admin", "/snapshots/new", 200),
    ("team_leader", "/loans", 200),
    ("team_leader", "/loans?scope=officer:O2", 200),
    ("team_leader", "/loans?scope=all", 403),
    ("team_leader", "/loans?scope=branch:B2", 403),
    ("team_leader", "/loans?scope=officer:O3", 403),  # an officer of another branch
    ("team_leader", "/alerts?scope=officer:O1", 200),
    ("team_leader", "/alerts?scope=branch:B2", 403),
    ("team_leader", "/wealth", 403),
    ("team_leader", "/snapshots/new", 403),
    ("loan_officer", "/loans", 200),
    ("loan_officer", "/loans?scope=officer:O2", 403),
    ("loan_officer", "/loans?scope=branch:B1", 403),
    ("loan_officer", "/alerts", 200),
    ("loan_officer", "/wealth?client=ALL", 403),
    ("client", "/wealth", 200),
    ("client", "/wealth?client=C1", 200),
    ("client", "/wealth?client=C2", 403),
    ("client", "/wealth?client=ALL", 403),
    ("client", "/loans", 403),
    ("client", "/alerts", 403),
    ("client", "/snapshots/new", 403),
]


@pytest.mark.parametrize(("role", "page", "status"), PAGES, ids=[f"{r}-{p}-{s}" for r, p, s in PAGES])
async def test_every_page_answers_each_role_as_the_api_would(
    http: httpx.AsyncClient, role: str, page: str, status: int
) -> None:
    await signed_in(http, role)
    response = await http.get(page)
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store"
    assert "default-src 'self'" in response.headers["content-security-policy"]
    if status != 200:
        assert f"Error {status}" in response.text
        assert '<a href="/">Back to your dashboard</a>' in response.text


async def test_an_unknown_page_is_a_404_page_for_a_browser_and_json_for_the_api(http: httpx.AsyncClient) -> None:
    page = await http.get("/nowhere", headers={"Accept": "text/html,application/xhtml+xml"})
    assert (page.status_code, page.headers["content-type"].split(";")[0]) == (404, "text/html")
    api = await http.get("/v1/nowhere")
    assert (api.status_code, api.json()["error"]["code"]) == (404, "not_found")


# --- pages: the API's figures -------------------------------------------------------------------------


def by_metric(found: list[Figure], **row: str) -> dict[str, Figure]:
    return {f.metric: f for f in found if all(f.row.get(k) == v for k, v in row.items())}


def json_text(value: Any) -> str:
    """How the API writes a value, as text (what `data-value` holds)."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


async def api(http: httpx.AsyncClient, path: str) -> Any:
    response = await http.get(path)
    assert response.status_code == 200, response.text
    return json.loads(response.text, parse_float=Decimal)


async def test_the_loans_page_shows_the_apis_figures_formatted_for_people(http: httpx.AsyncClient) -> None:
    await signed_in(http, "admin")
    page = await http.get("/loans?scope=branch:B1&range=all")
    summary = await api(http, "/v1/loans/summary?scope=branch:B1")
    cards = by_metric([f for f in figures(page.text) if not f.row and "loans-history" not in f.within])
    for name, value in summary.items():
        if name in ("scope", "as_of", "revision"):
            continue
        assert cards[name].value == json_text(value), name
    # The seeded figures (test_gateway_authorization.loan_row), rounded by the API and written for people:
    # total_disbursed 2.345 → 2.35; total_outstanding 168000.005 → 168000.01 → "168,000.01";
    # par_30 13.392857… → 13.3929 → "13.39%"; growth −2.00005 → −2.0001 → "−2.00%", negative;
    # health_score 49.995 → 50.00 (its category, from the unrounded score, stays critical).
    assert (cards["total_disbursed"].value, cards["total_disbursed"].text) == ("2.35", "2.35")
    assert (cards["total_outstanding"].value, cards["total_outstanding"].text) == ("168000.01", "168,000.01")
    assert (cards["par_30"].value, cards["par_30"].text) == ("13.3929", "13.39%")
    assert (cards["growth_rate"].value, cards["growth_rate"].text) == ("-2.0001", f"{MINUS}2.00%")
    assert "negative" in cards["growth_rate"].classes
    assert (cards["health_score"].value, cards["health_score"].text) == ("50.00", "50.00")
    assert (cards["health_category"].value, cards["health_category"].text) == ("critical", "Critical")
    assert (cards["total_clients"].value, cards["total_clients"].text) == ("12", "12")


async def test_the_loans_page_lists_the_apis_officers_and_history(http: httpx.AsyncClient) -> None:
    await signed_in(http, "admin")
    found = figures((await http.get("/loans?range=all")).text)
    officers = await api(http, "/v1/loans/officers")
    assert [o["officer_id"] for o in officers] == ["O1", "O2", "O3"]  # equal health: by id
    for officer in officers:
        row = by_metric(found, **{"data-officer-id": officer["officer_id"]})
        assert set(row) == {"health_score", *row}  # health first, then the list's columns
        for name, figure in row.items():
            assert figure.value == json_text(officer[name]), (officer["officer_id"], name)
    history = await api(http, "/v1/loans/history?scope=all")
    table = [f for f in found if "loans-history" in f.within]  # newest day first, a row per day
    columns = 7  # display.LOAN_CHART_SERIES
    assert len(table) == columns * len(history)
    newest_first = list(reversed(history))
    for i, day in enumerate(newest_first):
        for figure in table[i * columns : (i + 1) * columns]:
            assert figure.value == json_text(day[figure.metric]), (day["as_of"], figure.metric)


async def test_the_wealth_page_shows_the_apis_figures(http: httpx.AsyncClient) -> None:
    await signed_in(http, "admin")
    for client in ("ALL", "C1"):
        page = await http.get(f"/wealth?client={client}")
        summary = await api(http, f"/v1/wealth/summary?client={client}")
        found = figures(page.text)
        cards = by_metric([f for f in found if not f.row and "wealth-history" not in f.within])
        cards.pop("client_count", None)
        assert set(cards) == set(summary["summary"])
        for name, value in summary["summary"].items():
            assert cards[name].value == json_text(value), (client, name)
        allocations = (
            ("asset-allocation", summary["asset_allocation"]),
            ("bank-allocation", summary["bank_allocation"]),
        )
        for key, entries in allocations:
            rows = [f for f in found if key in f.within]
            assert [(f.row["data-name"], f.metric, f.value) for f in rows] == [
                (e["name"], m, json_text(e[m])) for e in entries for m in ("value", "percent")
            ]
    # The seeded client C1 (loan_row's wealth twin): its monthly percent is null: "n/a" with a reason.
    cards = by_metric(
        [f for f in figures((await http.get("/wealth?client=C1")).text) if "wealth-history" not in f.within]
    )
    assert (cards["monthly_return_percent"].value, cards["monthly_return_percent"].text) == ("", "n/a")
    assert cards["monthly_return_percent"].title
    # period_return_dollar −0.005 → −0.01 (half-up, away from zero), a negative return.
    assert (cards["period_return_dollar"].value, cards["period_return_dollar"].text) == ("-0.01", f"{MINUS}0.01")
    assert "negative" in cards["period_return_dollar"].classes


async def test_the_alerts_page_shows_the_apis_alerts(http: httpx.AsyncClient) -> None:
    await signed_in(http, "team_leader")
    page = await http.get("/alerts?status=all")
    listed = await api(http, "/v1/alerts?status=all")
    rows = re.findall(r'<tr data-alert-id="([^"]+)" data-status="([^"]+)"', page.text)
    assert rows == [(a["alert_id"], a["status"]) for a in listed]
    assert [a["alert_id"] for a in listed] == ["al-b1", "al-o1", "al-o2"]  # B1's: never all, never B2's


async def test_a_live_region_is_refetched_and_unchanged_is_a_204(http: httpx.AsyncClient) -> None:
    await signed_in(http, "admin")
    page = await http.get("/loans?scope=branch:B2")
    version = re.search(r'data-version="([0-9a-f]+)"', page.text)
    assert version is not None
    fragment = await http.get("/loans?scope=branch:B2", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert fragment.text.startswith('<div id="live"')
    assert "<html" not in fragment.text
    unchanged = await http.get(
        "/loans?scope=branch:B2", headers={"HX-Request": "true", "X-Pulse-Version": version.group(1)}
    )
    assert unchanged.status_code == 204
    stale = await http.get("/loans?scope=branch:B2", headers={"HX-Request": "true", "X-Pulse-Version": "0" * 16})
    assert stale.status_code == 200


async def test_static_assets_are_served_versioned_and_compressed(http: httpx.AsyncClient) -> None:
    await signed_in(http, "admin")
    page = await http.get("/loans")
    urls = re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text)
    assert {u.split("?")[0] for u in urls} == {
        "/static/favicon.svg",
        "/static/pulse.css",
        "/static/htmx.min.js",
        "/static/htmx-sse.min.js",
        "/static/echarts.min.js",
        "/static/pulse.js",
    }
    for url in urls:
        response = await http.get(url, headers={"Accept-Encoding": "gzip"})
        assert response.status_code == 200, url
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert response.headers["content-encoding"] == "gzip"
        assert (await http.get(url, headers={"If-None-Match": response.headers["etag"]})).status_code == 304
    assert (await http.get("/static/nothing.js")).status_code == 404


async def test_an_expired_session_is_sent_to_sign_in_saying_so(http: httpx.AsyncClient) -> None:
    http.cookies.set(
        SESSION_COOKIE, issue_token(Role.ADMIN, sub="ops@bank.test", secret=SECRET, ttl=dt.timedelta(minutes=-2))
    )
    response = await http.get("/alerts")
    assert response.status_code == 303
    assert parse_qs(urlsplit(response.headers["location"]).query) == {"next": ["/alerts"], "reason": ["expired"]}
    # A page's live region asking without a session loads the sign-in page as a whole (htmx), not inside.
    refresh = await http.get("/alerts", headers={"HX-Request": "true"})
    assert refresh.status_code == 401
    assert refresh.headers["hx-redirect"].startswith("/signin?next=%2Falerts")
