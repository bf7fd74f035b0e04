"""The dashboard in a real browser (CONTRACT §6), on the real stack: the demo's loan and wealth books, at a
small size, published to Kafka and taken in by the five services running as processes.

Checked as a person would meet it: signing in by the printed URL and out again; every figure on every page
type equal to the API's and formatted for people; each role's pages and its 403 and 404 pages; a
cross-origin request refused; marking an alert as read in place; a published event shown on an open page
without a reload; no console errors and no request to another origin; no sideways scrolling at 375 px;
every control reachable by keyboard; no WCAG 2.1 AA violation that axe-core finds. Screenshots of every
page at 1440 and 375 px go to .local/screenshots/ (git-ignored).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import http.server
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page

from cli.demo.command import DERIVED, wait_for_read_model
from cli.demo.loans import build_loan_book
from cli.demo.wealth import build_wealth_book
from shared.auth import Role, issue_token
from shared.events.envelope import make_envelope
from shared.kafka.connection import KafkaConnection
from shared.topics import Topic, key_for
from tests.conftest import World, open_world
from tests.support.browser import (
    Watch,
    axe_violations,
    horizontal_overflow,
    launch,
    screenshot,
    unreachable_by_keyboard,
)
from tests.support.kafka import Bus, eventually
from tests.support.stack import JWT_SECRET, Stack, free_port

pytestmark = pytest.mark.e2e

TODAY = dt.date(2026, 6, 15)  # the demo leads up to the day before: a fixed book, whatever the date
LAST_DAY = TODAY - dt.timedelta(days=1)
MINUS = "\u2212"

# What kind of figure each API field is, to check its text independently of the pages' own formatting.
MONEY = {
    "total_disbursed", "total_outstanding", "total_collected", "total_aum", "estimated_annual_income", "value",
    "inception_dollar_performance", "period_return_dollar", "monthly_return_dollar", "ytd_return_dollar",
    "total_value", "net_external_flows",
}  # fmt: skip
PERCENT = {
    "par_30", "par_60", "par_90", "default_rate", "collection_rate", "portfolio_yield", "growth_rate", "percent",
    "inception_return_pct", "period_return_percent", "monthly_return_percent", "ytd_return_percent",
}  # fmt: skip
SIGNED = {
    "growth_rate", "inception_dollar_performance", "inception_return_pct", "period_return_dollar",
    "period_return_percent", "monthly_return_dollar", "monthly_return_percent", "ytd_return_dollar",
    "ytd_return_percent", "net_external_flows",
}  # fmt: skip
COUNTS = {
    "total_clients", "active_clients", "total_loans", "active_loans", "new_clients_30d", "exited_clients_30d",
    "client_count",
}  # fmt: skip


def for_people(metric: str, value: str) -> str:
    """The text a person should see for an API value: separators, 2 decimals, %, a sign, n/a."""
    if value == "":
        return "n/a"
    if metric in COUNTS:
        return f"{int(value):,}"
    if metric == "health_category":
        return value.capitalize()
    number = Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    text = f"{abs(number):,.2f}" + ("%" if metric in PERCENT else "")
    if number < 0 or (Decimal(value) < 0 and metric in SIGNED):
        return MINUS + text
    return ("+" + text) if metric in SIGNED and number > 0 else text


def expected_sign(metric: str, value: str) -> str | None:
    if metric not in SIGNED or value == "":
        return None
    number = Decimal(value)
    return "positive" if number > 0 else "negative" if number < 0 else "zero"


# --- the stack with the demo books --------------------------------------------------------------------


@dataclass
class Dashboard:
    url: str
    world: World
    secret: str
    branch: str
    officer: str  # a deteriorating officer of `branch`: they have alerts
    other_officer: str  # an officer of another branch
    client: str
    loan_events: list[dict[str, Any]]
    wealth_events: list[dict[str, Any]]
    gateway_log: Path

    @property
    def tokens(self) -> dict[str, str]:
        return {
            "admin": issue_token(Role.ADMIN, sub="tester@bank.test", secret=self.secret),
            "team_leader": issue_token(
                Role.TEAM_LEADER, branch_id=self.branch, sub="tester@bank.test", secret=self.secret
            ),
            "loan_officer": issue_token(
                Role.LOAN_OFFICER, officer_id=self.officer, sub="tester@bank.test", secret=self.secret
            ),
            "client": issue_token(Role.CLIENT, client_id=self.client, sub="tester@bank.test", secret=self.secret),
        }

    async def api(self, path: str, role: str = "admin") -> Any:
        async with httpx.AsyncClient(base_url=self.url, timeout=30) as http:
            response = await http.get(path, headers={"Authorization": f"Bearer {self.tokens[role]}"})
        assert response.status_code == 200, (path, response.text)
        return json.loads(response.text, parse_float=str, parse_int=str)


def _topic_of(event_type: str) -> Topic:
    if event_type in ("business_day.closed", "snapshot.requested"):
        return Topic.CONTROL
    if event_type in ("client.onboarded", "portfolio.valued", "cash_flow.recorded"):
        return Topic.WEALTH_EVENTS
    return Topic.LOAN_EVENTS


async def publish(bus: Bus, envelopes: list[dict[str, Any]]) -> None:
    for envelope in envelopes:
        topic = _topic_of(envelope["event_type"])
        await bus.send(topic, envelope, key=key_for(topic, envelope["event_type"], envelope["data"]))


@pytest.fixture(scope="module")
async def dashboard(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Dashboard]:
    async with open_world(stack, tmp_path_factory.mktemp("dashboard")) as world:
        for name in ("snapshotter", "returns", "aggregator", "alerter", "gateway"):
            world.service(name, start=False)
        for process in world.processes:
            process.start(wait=False)
        for process in world.processes:
            process.wait_healthy()
        loans = build_loan_book(7, today=TODAY, months=4, officers_per_branch=3, clients=300, loans=450)
        wealth = build_wealth_book(7, today=TODAY, months=3, clients=6)
        await publish(world.bus, [e for e in loans.events if e["event_type"] != "business_day.closed"])
        await publish(world.bus, wealth.events)
        await publish(world.bus, [e for e in loans.events if e["event_type"] == "business_day.closed"])
        groups = [("snapshotter", t) for t in (Topic.LOAN_EVENTS, Topic.WEALTH_EVENTS, Topic.CONTROL)]
        await wait_for_read_model(KafkaConnection(stack.kafka_bootstrap), world.prefix, [*groups, *DERIVED], 300)
        officer = loans.deteriorating_officers[0]
        branch = next(o.branch_id for o in loans.officers if o.officer_id == officer)
        other = next(o.officer_id for o in loans.officers if o.branch_id != branch and o.role == "loan_officer")
        gateway = world.processes[-1]
        yield Dashboard(
            gateway.url,
            world,
            JWT_SECRET,
            branch,
            officer,
            other,
            wealth.client_ids[0],
            loans.events,
            wealth.events,
            gateway.log_path,
        )


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async for the_browser in launch():
        yield the_browser


@dataclass
class Visit:
    context: BrowserContext
    page: Page
    watch: Watch


async def visit(browser: Browser, dashboard: Dashboard, role: str, width: int = 1440, **options: Any) -> Visit:
    """A browser context signed in as `role` the way a person is: by opening the sign-in URL."""
    context = await browser.new_context(viewport={"width": width, "height": 900}, **options)
    watch = Watch(dashboard.url)
    page = watch.attach(await context.new_page())
    await page.goto(f"{dashboard.url}/?token={dashboard.tokens[role]}")
    return Visit(context, page, watch)


@pytest.fixture
async def visits(browser: Browser, dashboard: Dashboard) -> AsyncIterator[list[Visit]]:
    """Contexts opened by a test, closed after it; their pages must have stayed clean."""
    opened: list[Visit] = []
    yield opened
    for opened_visit in opened:
        await opened_visit.context.close()
    for opened_visit in opened:
        opened_visit.watch.assert_clean()


async def page_figures(page: Page) -> list[dict[str, Any]]:
    """Every figure on the page: metric, value, visible text, classes, title and the row it is in."""
    return list(
        await page.evaluate(
            """() => [...document.querySelectorAll('[data-metric]')].filter(e => e.getClientRects().length
              || e.closest('details')).map(e => {
                const clone = e.cloneNode(true); clone.querySelectorAll('.sr-only').forEach(s => s.remove());
                const row = e.closest('tr'); const table = e.closest('table');
                return {metric: e.dataset.metric, value: e.dataset.value, text: clone.textContent.trim(),
                        classes: [...e.classList], title: e.getAttribute('title'),
                        officer: row && row.dataset.officerId || null, alert: row && row.dataset.alertId || null,
                        scope: row && row.dataset.scope || null, name: row && row.dataset.name || null,
                        year: row && row.dataset.year || null, table: table && (table.id || 'unnamed') || null};
              })"""
        )
    )


def check_formatting(found: list[dict[str, Any]]) -> None:
    for f in found:
        if f["metric"] in ("health_category",):
            continue
        expected = "n/a" if f["value"] == "" else for_people(f["metric"], f["value"])
        if f["metric"] == "health_score":
            expected = for_people("health_score", f["value"])
        assert f["text"] == expected, f
        sign = expected_sign(f["metric"], f["value"])
        if sign is not None:
            assert sign in f["classes"], f
        if f["value"] == "":
            assert f["title"], f  # n/a says why


# --- the tests ----------------------------------------------------------------------------------------


async def test_sign_in_by_the_printed_url_and_sign_out(
    browser: Browser, dashboard: Dashboard, visits: list[Visit]
) -> None:
    seen = await visit(browser, dashboard, "team_leader")
    visits.append(seen)
    page = seen.page
    assert page.url == f"{dashboard.url}/loans?scope=branch:{dashboard.branch}"  # home, and no token
    cookies = {c["name"]: c for c in await seen.context.cookies()}
    session = cookies["pulse_session"]
    assert session["httpOnly"] is True
    assert session["sameSite"] == "Lax"
    assert await page.evaluate("document.cookie") == ""  # out of reach of scripts
    await page.get_by_role("button", name="Sign out").click()
    await page.wait_for_url("**/signin**")
    assert "You are signed out." in await page.locator("main").inner_text()
    await page.goto(f"{dashboard.url}/alerts")
    assert page.url.startswith(f"{dashboard.url}/signin?next=")
    # Signing in again by pasting a token returns to the page asked for.
    await page.get_by_label("Token").fill(dashboard.tokens["team_leader"])
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{dashboard.url}/alerts")
    for token in dashboard.tokens.values():
        assert token not in dashboard.gateway_log.read_text()


PAGES = [
    ("admin", "/loans"),
    ("admin", "/loans?scope=branch:{branch}&range=30d"),
    ("admin", "/loans?scope=officer:{officer}&range=all"),
    ("team_leader", "/loans?scope=branch:{branch}"),
    ("loan_officer", "/loans?scope=officer:{officer}&range=1y"),
    ("admin", "/wealth?client=ALL"),
    ("client", "/wealth?client={client}"),
    ("admin", "/alerts?status=all"),
]


@pytest.mark.parametrize(("role", "path"), PAGES, ids=[f"{r} {p}" for r, p in PAGES])
async def test_every_figure_is_the_apis_formatted_for_people(
    browser: Browser, dashboard: Dashboard, visits: list[Visit], role: str, path: str
) -> None:
    path = path.format(branch=dashboard.branch, officer=dashboard.officer, client=dashboard.client)
    seen = await visit(browser, dashboard, role)
    visits.append(seen)
    response = await seen.page.goto(dashboard.url + path)
    assert response is not None
    assert response.status == 200
    found = await page_figures(seen.page)
    assert found
    check_formatting(found)
    query = dict(part.split("=", 1) for part in path.partition("?")[2].split("&") if part)
    if path.startswith("/loans"):
        scope = query.get("scope", "all")
        summary = await dashboard.api(f"/v1/loans/summary?scope={scope}", role)
        cards = {f["metric"]: f for f in found if f["table"] is None and f["alert"] is None}
        for name, value in summary.items():
            if name not in ("scope", "as_of", "revision"):
                assert cards[name]["value"] == value, name
        if not scope.startswith("officer:"):
            branch = scope.partition(":")[2] or None
            officers = await dashboard.api("/v1/loans/officers" + (f"?branch={branch}" if branch else ""), role)
            rows = [f for f in found if f["officer"]]
            assert list(dict.fromkeys(f["officer"] for f in rows)) == [o["officer_id"] for o in officers]
            by_id = {o["officer_id"]: o for o in officers}
            for f in rows:
                assert f["value"] == by_id[f["officer"]][f["metric"]], f
        start = _range_start(summary["as_of"], query.get("range", "90d"))
        history = await dashboard.api(
            f"/v1/loans/history?scope={scope}&to={summary['as_of']}" + (f"&from={start}" if start else ""), role
        )
        table = [f for f in found if f["table"] == "loans-history"]
        assert len(table) == 7 * len(history)
        for i, day in enumerate(reversed(history)):
            for f in table[i * 7 : (i + 1) * 7]:
                assert f["value"] == day[f["metric"]], (day["as_of"], f)
    elif path.startswith("/wealth"):
        client = query.get("client", "ALL")
        summary = await dashboard.api(f"/v1/wealth/summary?client={client}", role)
        cards = {f["metric"]: f for f in found if f["table"] is None}
        for name, value in summary["summary"].items():
            assert cards[name]["value"] == (value if value is not None else ""), name
        for table_id, key in (("asset-allocation", "asset_allocation"), ("bank-allocation", "bank_allocation")):
            shown = [(f["name"], f["metric"], f["value"]) for f in found if f["table"] == table_id]
            assert shown == [(e["name"], m, e[m] or "") for e in summary[key] for m in ("value", "percent")]
        bonds = [(f["year"], f["value"]) for f in found if f["table"] == "bond-maturity"]
        assert bonds == [(e["year"], e["value"]) for e in summary["bond_maturity"]]
        if client != "ALL":
            history = await dashboard.api(f"/v1/wealth/clients/{client}/history", role)
            table = [f for f in found if f["table"] == "wealth-history"]
            assert len(table) == 5 * len(history)
            newest = list(reversed(history))
            for f in table[:5]:
                assert f["value"] == (newest[0][f["metric"]] or ""), f
    else:
        alerts = await dashboard.api("/v1/alerts?status=all", role)
        rows = await seen.page.locator("tr[data-alert-id]").evaluate_all(
            "rows => rows.map(r => [r.dataset.alertId, r.dataset.status])"
        )
        assert rows == [[a["alert_id"], a["status"]] for a in alerts]
        assert any(a["scope"] == f"officer:{dashboard.officer}" for a in alerts)  # the demo's alerts are there


def _range_start(as_of: str, range_: str) -> str | None:
    days = {"30d": 30, "90d": 90, "1y": 365}.get(range_)
    if days is None:  # all: from the first day with data
        return None
    return (dt.date.fromisoformat(as_of) - dt.timedelta(days=days - 1)).isoformat()


ERRORS = [
    ("team_leader", "/loans?scope=all", 403),
    ("team_leader", "/loans?scope=officer:{other}", 403),
    ("loan_officer", "/loans?scope=branch:{branch}", 403),
    ("client", "/loans", 403),
    ("client", "/wealth?client=ALL", 403),
    ("admin", "/loans?scope=officer:NOBODY", 404),
    ("admin", "/loans?date=2020-01-01", 404),
    ("admin", "/wealth?client=NOBODY", 404),
    ("admin", "/loans?date=2026-02-30", 422),
]


@pytest.mark.parametrize(("role", "path", "status"), ERRORS, ids=[f"{r} {p} {s}" for r, p, s in ERRORS])
async def test_pages_outside_a_scope_or_without_data_say_so(
    browser: Browser, dashboard: Dashboard, role: str, path: str, status: int
) -> None:
    context = await browser.new_context()
    try:
        page = await context.new_page()
        await page.goto(f"{dashboard.url}/?token={dashboard.tokens[role]}")
        path = path.format(branch=dashboard.branch, other=dashboard.other_officer)
        response = await page.goto(dashboard.url + path)
        assert response is not None
        assert response.status == status
        assert f"Error {status}" in await page.locator("main").inner_text()
        assert await page.get_by_role("link", name="Back to your dashboard").count() == 1
    finally:
        await context.close()


class _Sibling(http.server.BaseHTTPRequestHandler):
    """Another site's page on the same host (so, the same site): it makes the browser post to the gateway."""

    target = ""

    def do_GET(self) -> None:
        body = (
            '<!doctype html><html lang="en"><title>elsewhere</title><body>'
            f'<form id="f" method="post" action="{self.target}/snapshots/new">'
            '<input name="business_date" value="2026-06-14"><input name="force" value="true"></form>'
            "<script>document.getElementById('f').submit()</script></body></html>"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def sibling(dashboard: Dashboard) -> Iterator[str]:
    port = free_port()
    handler = type("Handler", (_Sibling,), {"target": dashboard.url})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()


async def test_a_state_change_from_another_origin_is_refused(
    browser: Browser, dashboard: Dashboard, visits: list[Visit], sibling: str
) -> None:
    seen = await visit(browser, dashboard, "admin")
    visits.append(seen)
    seen.watch.elsewhere.add(sibling)
    page = seen.page
    async with page.expect_navigation(url=f"{dashboard.url}/snapshots/new") as navigation:
        await page.goto(sibling)
    response = await navigation.value
    assert response is not None
    assert response.status == 403
    assert "cross-origin request refused" in (await page.locator("main").inner_text()).lower()
    # The same form on the gateway's own page goes through, and publishes.
    await page.goto(f"{dashboard.url}/snapshots/new")
    await page.get_by_label("Business day").fill("2026-06-14")
    await page.get_by_role("button", name="Request snapshots").click()
    await page.wait_for_url("**/snapshots/new?requested=**")
    event_id = page.url.partition("requested=")[2].partition("&")[0]
    records = await dashboard.world.bus.read_until(
        Topic.CONTROL, lambda seen_records: any(event_id.encode() in (r.value or b"") for r in seen_records)
    )
    requests = [json.loads(r.value or b"{}") for r in records if b"snapshot.requested" in (r.value or b"")]
    assert [r["event_id"] for r in requests] == [event_id]  # the cross-origin one never reached the broker
    assert seen.watch.errors == [
        "console: Failed to load resource: the server responded with a status of 403 (Forbidden)"
    ]
    seen.watch.errors.clear()


async def test_mark_as_read_in_place(browser: Browser, dashboard: Dashboard, visits: list[Visit]) -> None:
    seen = await visit(browser, dashboard, "loan_officer")
    visits.append(seen)
    page = seen.page
    await page.goto(f"{dashboard.url}/alerts")
    await page.evaluate("window.__notReloaded = true")
    row = page.locator("tr[data-alert-id][data-acknowledged=false]").first
    alert_id = await row.get_attribute("data-alert-id")
    assert alert_id is not None
    await row.get_by_role("button", name="Mark as read").click()
    target = page.locator(f'tr[data-alert-id="{alert_id}"]')
    await target.locator(".read-mark").wait_for()
    assert await target.get_attribute("data-acknowledged") == "true"
    assert await page.evaluate("window.__notReloaded") is True

    async def acknowledged() -> bool:
        alerts = await dashboard.api("/v1/alerts?status=all", "loan_officer")
        return any(a["alert_id"] == alert_id and a["acknowledged"] is True for a in alerts)

    await eventually(acknowledged, timeout=20)
    assert await page.evaluate("window.__notReloaded") is True


async def test_an_open_page_shows_a_published_event_without_a_reload(
    browser: Browser, dashboard: Dashboard, visits: list[Visit]
) -> None:
    seen = await visit(browser, dashboard, "admin")
    visits.append(seen)
    page = seen.page
    await page.goto(f"{dashboard.url}/wealth?client=ALL")
    await page.evaluate("window.__notReloaded = true")
    aum = page.locator('[data-metric="total_aum"]').first
    before = await aum.get_attribute("data-value")
    # A custodian restates one client's valuation of the latest date: one more position of 1,000,000.
    valued = [
        e
        for e in dashboard.wealth_events
        if e["event_type"] == "portfolio.valued" and e["data"]["client_id"] == dashboard.client
    ][-1]
    positions = [*valued["data"]["positions"], {
        "instrument_id": "XS0000000001", "asset_class": "Cash", "custodian": "UBS", "market_value": "1000000.00",
    }]  # fmt: skip
    restated = make_envelope(
        "portfolio.valued",
        {**valued["data"], "positions": positions},
        source="custody",
        occurred_at=dt.datetime.now(dt.UTC),
    )
    start = time.monotonic()
    await publish(dashboard.world.bus, [restated])
    expected = (Decimal(before or "0") + Decimal("1000000.00")).quantize(Decimal("0.01"))
    await page.wait_for_function(
        "value => document.querySelector('[data-metric=total_aum]').dataset.value === value",
        arg=format(expected, "f"),
        timeout=15_000,
    )
    elapsed = time.monotonic() - start
    assert elapsed < 5, f"shown after {elapsed:.1f} s"
    assert await page.evaluate("window.__notReloaded") is True
    summary = await dashboard.api("/v1/wealth/summary?client=ALL")
    assert summary["summary"]["total_aum"] == format(expected, "f")
    assert await aum.inner_text() == for_people("total_aum", format(expected, "f"))


LAYOUT_PAGES = [
    ("admin", "/loans", "loans-all"),
    ("admin", "/loans?scope=branch:{branch}", "loans-branch"),
    ("loan_officer", "/loans?scope=officer:{officer}", "loans-officer"),
    ("admin", "/wealth?client=ALL", "wealth-all"),
    ("client", "/wealth?client={client}", "wealth-client"),
    ("admin", "/alerts", "alerts"),
    ("admin", "/snapshots/new", "snapshots-new"),
    ("admin", "/loans?scope=branch:NOWHERE", "error-404"),
]


@pytest.mark.parametrize("width", [1440, 375])
@pytest.mark.parametrize(("role", "path", "name"), LAYOUT_PAGES, ids=[n for _, _, n in LAYOUT_PAGES])
async def test_every_page_is_usable_by_everyone(
    browser: Browser, dashboard: Dashboard, visits: list[Visit], role: str, path: str, name: str, width: int
) -> None:
    seen = await visit(browser, dashboard, role, width=width, bypass_csp=True)  # axe is injected
    visits.append(seen)
    page = seen.page
    path = path.format(branch=dashboard.branch, officer=dashboard.officer, client=dashboard.client)
    await page.goto(dashboard.url + path)
    await page.wait_for_load_state("networkidle")
    if await page.locator("[data-chart]").count():
        await page.locator("[data-chart] svg").first.wait_for()
    await screenshot(page, f"{name}-{width}")
    assert await horizontal_overflow(page) == 0
    assert await axe_violations(page) == []
    if width == 1440:
        assert await unreachable_by_keyboard(page) == []
    if name == "error-404":
        seen.watch.errors = [e for e in seen.watch.errors if "status of 404" not in e]
    await asyncio.sleep(0)


async def test_csv_export_of_a_chosen_range(browser: Browser, dashboard: Dashboard, visits: list[Visit]) -> None:
    seen = await visit(browser, dashboard, "team_leader")
    visits.append(seen)
    page = seen.page
    start, end = (LAST_DAY - dt.timedelta(days=6)).isoformat(), LAST_DAY.isoformat()
    await page.get_by_label("From", exact=True).fill(start)
    await page.get_by_label("To", exact=True).fill(end)
    async with page.expect_download() as downloading:
        await page.get_by_role("button", name="Download CSV").click()
    download = await downloading.value
    # The API names it loans-branch:<id>-…; a browser saves a ':' (not allowed in Windows names) as '_'.
    assert download.suggested_filename == f"loans-branch_{dashboard.branch}-{start}-{end}.csv"
    path = await download.path()
    async with httpx.AsyncClient(base_url=dashboard.url) as http:
        api = await http.get(
            "/v1/loans/export.csv",
            params={"scope": f"branch:{dashboard.branch}", "from": start, "to": end},
            headers={"Authorization": f"Bearer {dashboard.tokens['team_leader']}"},
        )
    assert path.read_bytes() == api.content
    assert api.content.count(b"\r\n") == 1 + 7  # the header, then one line per day
