"""Signing in to the pages at the bank's OpenID Connect provider, as a person does it: Chromium on the
gateway's sign-in page, the provider's own login form (a real Keycloak), and back on the page first asked
for, signed in as that person with the role and scope the provider's directory gives them. The sign-in page
is screenshotted at 1440 and 375 px and checked with axe-core."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser

from tests.conftest import World
from tests.support.browser import Watch, axe_violations, horizontal_overflow, launch, screenshot
from tests.support.keycloak import KEYCLOAK, PASSWORD, Realm, keycloak, realm  # noqa: F401  # fixtures

pytestmark = pytest.mark.e2e

# What the bank's directory says of Nia, mapped into her tokens by the provider (PULSE_OIDC_CLAIMS' defaults).
NIA = {"pulse_role": "team_leader", "pulse_branch_id": "B1"}


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async for the_browser in launch():
        yield the_browser


async def test_a_person_signs_in_at_the_provider_and_lands_on_the_page_asked_for(
    world: World,
    realm: Realm,  # noqa: F811
    browser: Browser,
) -> None:
    world.service("aggregator")  # the read model the pages read (empty: the pages say so)
    gateway = world.service("gateway", start=False)
    await realm.add_client(
        "pulse-dashboard", audience="pulse-gateway", claims=NIA, redirect_uri=f"{gateway.url}/signin/oidc/callback"
    )
    await realm.add_user("nia")
    gateway.env.update({
        "PULSE_OIDC_ISSUER": realm.issuer,
        "PULSE_OIDC_AUDIENCE": "pulse-gateway",
        "PULSE_OIDC_CLIENT_ID": "pulse-dashboard",
    })  # fmt: skip
    gateway.start()
    asked_for = f"{gateway.url}/alerts"  # in her scope, and there whether or not the read model has data yet
    for width in (1440, 375):
        context = await browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)  # axe
        watch = Watch(gateway.url, elsewhere={KEYCLOAK})
        page = watch.attach(await context.new_page())
        await page.goto(asked_for)
        assert page.url.startswith(f"{gateway.url}/signin?next=")
        await screenshot(page, f"signin-with-provider-{width}")
        assert await axe_violations(page) == []
        assert await horizontal_overflow(page) == 0

        await page.get_by_role("link", name="Sign in with your organisation's account").click()
        await page.wait_for_url(f"{realm.issuer}/**")  # the provider's own page: the password goes there only
        await page.get_by_label("Username or email").fill("nia")
        await page.get_by_label("Password", exact=True).fill(PASSWORD)
        await page.get_by_role("button", name="Sign In").click()

        await page.wait_for_url(asked_for)
        assert (await page.locator(".who-name").inner_text()).strip() == "nia"
        session = {c["name"]: c for c in await context.cookies()}["pulse_session"]
        assert session["httpOnly"] is True
        assert "pulse_oidc" not in {c["name"] for c in await context.cookies(gateway.url)}  # the flow is over
        await screenshot(page, f"signed-in-at-provider-{width}")
        await context.close()
        watch.assert_clean()
    assert "code=" not in gateway.logs()  # the access log names routes, never a callback's code
