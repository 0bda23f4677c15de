"""The technician console in headless Chromium against a real simulate-mode daemon."""

from __future__ import annotations

import re

from playwright.async_api import BrowserContext, expect

from tests.browser.conftest import WatchedPage, login, open_page, row
from tests.conftest import SIMULATED_IDS, RunningDaemon, until


async def test_console_loads_clean_and_shows_every_device_ready(
    context: BrowserContext, sim_daemon: RunningDaemon
) -> None:
    watched = await open_page(context)
    page = watched.page
    response = await page.goto(sim_daemon.url + "/")
    assert response is not None
    assert response.ok
    headers = await response.all_headers()
    csp = headers["content-security-policy"]
    assert "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp
    assert headers["x-frame-options"] == "DENY"

    await login(watched, sim_daemon)
    await expect(page.locator("#devices tr")).to_have_count(len(SIMULATED_IDS))
    for device in SIMULATED_IDS:
        await expect(row(page, device).locator(".state")).to_have_text("ready")
    await expect(page.locator("#version")).to_have_text(re.compile(r"^v\d"))

    # The token is typed once: a reload (same tab) connects again from sessionStorage.
    await page.reload()
    await expect(page.locator("#conn")).to_contain_text("connected (seq")
    await expect(row(page, "scanner-1").locator(".state")).to_have_text("ready")
    assert await watched.problems() == []


async def test_a_scan_appears_in_the_live_log(console: WatchedPage, sim_daemon: RunningDaemon) -> None:
    await sim_daemon.sim("scanner-1", action="scan", data="4006381333931", symbology="EAN13")
    line = console.page.locator("#events li", has_text="4006381333931")
    await expect(line).to_contain_text("scanner.scan scanner-1")
    assert await console.problems() == []


async def test_unplug_shows_offline_with_the_reason_and_plug_brings_it_back(console: WatchedPage) -> None:
    scanner = row(console.page, "scanner-1")
    await scanner.get_by_role("button", name="Unplug", exact=True).click()
    await expect(scanner.locator(".state")).to_have_text("offline")
    await expect(scanner.locator(".state")).to_have_class(re.compile(r"\boffline\b"))
    await expect(scanner.locator(".reason")).to_have_text(re.compile(r"\S"))  # why, e.g. "cannot open …; retry in 1s"

    await scanner.get_by_role("button", name="Plug", exact=True).click()
    await expect(scanner.locator(".state")).to_have_text("ready")
    await expect(scanner.locator(".reason")).to_have_text("")
    assert await console.problems() == []


async def test_test_print_goes_through_the_jobs_api_onto_the_paper(
    console: WatchedPage, sim_daemon: RunningDaemon
) -> None:
    printer = row(console.page, "printer-1")
    await printer.get_by_role("button", name="Test print").click()
    await expect(printer.locator("output")).to_have_text(re.compile(r"^Test print job \w+: done$"))

    output = await sim_daemon.get("/api/v1/sim/printer-1/output")
    assert output.status == 200
    assert any("posd console test print" in line for line in output.body["lines"]), output.body
    assert any("Test item" in line for line in output.body["lines"]), output.body
    assert output.body["cuts"] >= 1

    await printer.get_by_role("button", name="Show paper").click()
    await expect(printer.locator("img.paper")).to_be_visible()
    assert await console.problems() == []


async def test_scale_display_drawer_health_and_support_bundle(console: WatchedPage, sim_daemon: RunningDaemon) -> None:
    page = console.page
    scale = row(page, "scale-1")
    await scale.get_by_label("Weight (kg)").fill("2.5")
    await scale.get_by_role("button", name="Set weight").click()
    await expect(scale.locator("output")).to_contain_text("Set weight:")
    await scale.get_by_role("button", name="Read weight").click()
    await expect(scale.locator("output")).to_have_text("2.5 kg (stable)")

    display = row(page, "display-1")
    await display.get_by_label("Line 1").fill("Total")
    await display.get_by_label("Line 2").fill("R$ 12,50")
    await display.get_by_role("button", name="Show text").click()
    await expect(display.locator("output")).to_contain_text("showing")
    simulator = sim_daemon.daemon.simulators["display-1"]
    await until(lambda: [line.strip() for line in simulator.output()["lines"]] == ["Total", "R$ 12,50"])
    shown = await sim_daemon.get("/api/v1/sim/display-1/output")
    assert [line.strip() for line in shown.body["lines"]] == ["Total", "R$ 12,50"]

    drawer = row(page, "drawer-1")
    await expect(drawer).to_contain_text("Audited")
    await drawer.get_by_role("button", name="Open drawer").click()
    await expect(drawer.locator("output")).to_contain_text("opened (audit record")
    audit = await sim_daemon.get("/api/v1/audit")
    last = audit.body["records"][-1]
    assert (last["action"], last["result"], last["reason"], last["token"]) == ("open", "opened", "other", "admin")
    assert last["origin"] == sim_daemon.origin

    printer = row(page, "printer-1")
    await printer.get_by_role("button", name="Health check").click()
    await expect(printer.locator("output")).to_have_text(re.compile(r"^healthy: "))

    async with page.expect_download() as download_info:
        await page.get_by_role("button", name="Download support bundle").click()
    download = await download_info.value
    assert download.suggested_filename.endswith(".zip")
    await expect(page.locator("#bundle-result")).to_contain_text("downloaded posd-support")
    assert await console.problems() == []
