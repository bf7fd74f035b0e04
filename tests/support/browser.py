"""A real browser for the tests: Playwright driving Debian's Chromium (../shared/notes/browser-tests.md).

`make test` installs Chromium where it is missing (deploy/local/ensure-chromium.sh); Playwright's own browser
download cannot reach its servers here, so it is never used. `Watch` records what a person would not want on
a page: console errors, uncaught exceptions, requests to another origin, failed requests.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, Request, async_playwright

from tests.support.stack import ROOT

SCREENSHOTS = Path(os.environ.get("PULSE_SCREENSHOTS", ROOT / ".local" / "screenshots"))
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
# As root (sessions and CI), Chromium needs --no-sandbox; the others keep it off this machine's closed network.
ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium() -> str:
    path = os.environ.get("PULSE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("Chromium is not installed: run `make test` (or deploy/local/ensure-chromium.sh) first")
    return path


async def launch() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium(), args=ARGS)
        try:
            yield browser
        finally:
            await browser.close()


@dataclass
class Watch:
    """What went wrong on a page, as a person's browser saw it."""

    origin: str
    errors: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    elsewhere: set[str] = field(default_factory=set)  # other origins a test visits on purpose

    def attach(self, page: Page) -> Page:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))
        page.on("request", self._request)
        page.on("requestfailed", self._failed)
        return page

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text}")

    def _request(self, request: Request) -> None:
        parts = urlsplit(request.url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if parts.scheme in ("http", "https", "ws", "wss") and origin != self.origin and origin not in self.elsewhere:
            self.foreign.append(request.url)

    def _failed(self, request: Request) -> None:
        # An event stream or a live refresh cut short by leaving the page is not a failure of the page.
        if "/events" in request.url or request.failure == "net::ERR_ABORTED":
            return
        self.errors.append(f"request failed: {request.url} {request.failure}")

    def assert_clean(self) -> None:
        assert self.errors == [], self.errors
        assert self.foreign == [], f"requests to another origin: {self.foreign}"


async def screenshot(page: Page, name: str) -> Path:
    """A full-page screenshot under .local/screenshots (git-ignored), to be looked at."""
    path = SCREENSHOTS / f"{name}.png"  # playwright makes the folder
    await page.screenshot(path=str(path), full_page=True)
    return path


async def axe_violations(page: Page) -> list[str]:
    """WCAG 2.1 A and AA violations that axe-core finds on the page (its context must bypass the page's CSP,
    which rightly refuses the injected script)."""
    await page.add_script_tag(path=str(AXE))
    result = await page.evaluate(
        "async () => (await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a',"
        " 'wcag21aa']}})).violations.map(v => v.id + ': ' + v.help + ' — ' + v.nodes.slice(0, 3).map(n =>"
        " n.target.join(' ')).join(', '))"
    )
    return list(result)


async def horizontal_overflow(page: Page) -> int:
    """How many pixels the page is wider than the window (0: nothing to scroll sideways)."""
    return int(await page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


# The controls a keyboard must reach: visible, and not inside a closed <details> (whose summary is reached).
_CONTROLS = (
    "() => [...document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, summary,"
    ' [tabindex]:not([tabindex="-1"])\')].filter(e => e.getClientRects().length'
    " && !(e.closest('details:not([open])') && e.tagName !== 'SUMMARY'))"
)


async def unreachable_by_keyboard(page: Page, presses: int = 400) -> list[str]:
    """The visible links, buttons and fields that pressing Tab from the top never reaches."""
    await page.evaluate(
        "() => { window.__reached = new Set();"
        " document.addEventListener('focusin', e => window.__reached.add(e.target)); }"
    )
    await page.locator("body").focus()
    for _ in range(presses):
        await page.keyboard.press("Tab")
        if await page.evaluate(f"({_CONTROLS})().every(e => window.__reached.has(e))"):
            return []
    missed: list[str] = await page.evaluate(
        f"({_CONTROLS})().filter(e => !window.__reached.has(e)).map(e => e.outerHTML.slice(0, 120))"
    )
    return missed
