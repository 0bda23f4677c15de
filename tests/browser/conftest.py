"""Browser fixtures: Debian's chromium driven by Playwright's async API, on the test's own event loop.

Playwright's own browser builds are never downloaded: the system's ``chromium`` is launched by path. Without it
the browser tests skip — unless ``REQUIRE_BROWSER_TESTS=1`` (set by .ci/test, whose bootstrap installs chromium),
where a missing browser is a failure, so CI can never pass by silently skipping them.

One browser per test, not per module: the daemon fixtures (``start_daemon``, ``sim_daemon``) and the task-leak
check run on the test's function-scoped loop, and a Playwright connection belongs to the loop that opened it.
A launch costs about a second.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Error,
    Locator,
    Page,
    async_playwright,
    expect,
)

from tests.conftest import RunningDaemon

#: Playwright waits (expect, wait_for_function) in ms: generous for a loaded 2-core CI machine; a pass is fast.
WAIT_MS = 10_000

# Records CSP violations from the first script on: Chromium also logs them as console errors, but the DOM event
# says which directive and which URL, and cannot be confused with other errors.
CSP_RECORDER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  const where = `${e.sourceFile}:${e.lineNumber}`;
  window.__cspViolations.push(`${e.effectiveDirective} blocked ${e.blockedURI || "inline"} at ${where}`);
});
"""


def chromium_path() -> str:
    path = shutil.which("chromium")
    if path is not None:
        return path
    if os.environ.get("REQUIRE_BROWSER_TESTS") == "1":
        pytest.fail("REQUIRE_BROWSER_TESTS=1 but `chromium` is not on PATH (sh .ci/bootstrap test installs it)")
    pytest.skip("Debian's chromium is not installed (apt-get install chromium, or sh .ci/bootstrap test)")


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    executable = chromium_path()
    expect.set_options(timeout=WAIT_MS)
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=executable, headless=True)
        try:
            yield launched
        finally:
            await launched.close()


@dataclass
class WatchedPage:
    """A page with every console error, uncaught exception and CSP violation it produced."""

    page: Page
    errors: list[str] = field(default_factory=list)

    async def csp_violations(self) -> list[str]:
        found: list[str] = await self.page.evaluate("window.__cspViolations || []")
        return found

    async def problems(self) -> list[str]:
        return self.errors + await self.csp_violations()


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    # A fresh context per test: its own sessionStorage, so no test inherits another's token.
    ctx = await browser.new_context()
    ctx.set_default_timeout(WAIT_MS)
    try:
        yield ctx
    finally:
        await ctx.close()


async def open_page(context: BrowserContext) -> WatchedPage:
    page = await context.new_page()
    await page.add_init_script(CSP_RECORDER)
    watched = WatchedPage(page)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            watched.errors.append(f"console: {message.text} ({message.location.get('url', '')})")

    def on_page_error(error: Error) -> None:
        watched.errors.append(f"uncaught: {error}")

    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    return watched


async def login(watched: WatchedPage, handle: RunningDaemon) -> None:
    """Open the console and connect with the admin token, as a technician does."""
    page = watched.page
    await page.goto(handle.url + "/")
    await page.get_by_label("Token").fill(handle.token)
    await page.get_by_role("button", name="Connect").click()
    await expect(page.locator("#conn")).to_contain_text("connected (seq")


def row(page: Page, device: str) -> Locator:
    """The console's table row of one device."""
    return page.locator(f'tr[data-device="{device}"]')


@pytest.fixture
async def console(context: BrowserContext, sim_daemon: RunningDaemon) -> WatchedPage:
    """The console of a simulate-mode daemon, logged in with the admin token."""
    watched = await open_page(context)
    await login(watched, sim_daemon)
    return watched
