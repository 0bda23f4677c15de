"""api/static/posd.js in Chromium: calls and errors, the Origin wall, resuming the event stream after a drop.

The client runs inside real pages, loaded from the daemon's own origin (the console page) or from a page of a
foreign origin served by a second HTTP server; its state is read back through ``window.probe``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from playwright.async_api import BrowserContext, Page, WebSocket

from tests.browser.conftest import WAIT_MS, open_page
from tests.conftest import SIMULATED_IDS, RunningDaemon, StartDaemon, wait_all_ready

POSD_JS = Path(__file__).resolve().parents[2] / "api" / "static" / "posd.js"

# Loads posd.js from moduleUrl into the page and subscribes; everything the subscription reports is recorded
# in window.probe, which the test polls with wait_for_function.
START_CLIENT = """
async ({ moduleUrl, baseUrl, token, topics, initialMs }) => {
  const { Posd, PosdError } = await import(moduleUrl);
  const posd = new Posd({ baseUrl, token });
  const probe = { events: [], statuses: [], gaps: [], errors: [], order: [] };
  Object.assign(window, { posd, probe, PosdError });
  probe.subscription = posd.subscribe({
    topics,
    backoff: { initialMs, maxMs: 2000 },
    onEvent: (e) => { probe.events.push(e); probe.order.push("event"); },
    onStatus: (s) => probe.statuses.push(s),
    onGap: (g) => { probe.gaps.push(g); probe.order.push("gap"); },
    onError: (e) => probe.errors.push(e.code),
  });
}
"""

# Runs one client call in the page; answers {ok, value} or the PosdError's fields.
CALL = """
async ([method, args]) => {
  try {
    return { ok: true, value: await window.posd[method](...args) };
  } catch (e) {
    return { ok: false, isPosdError: e instanceof window.PosdError, status: e.status, code: e.code,
             title: e.title, detail: e.detail };
  }
}
"""


async def call(page: Page, method: str, *args: Any) -> dict[str, Any]:
    result: dict[str, Any] = await page.evaluate(CALL, [method, list(args)])
    return result


async def start_client(
    page: Page, module_url: str, base_url: str, token: str, topics: list[str], *, initial_ms: int = 300
) -> None:
    await page.evaluate(
        START_CLIENT,
        {"moduleUrl": module_url, "baseUrl": base_url, "token": token, "topics": topics, "initialMs": initial_ms},
    )


async def wait_for(page: Page, condition: str) -> None:
    """Wait (in the page) until a JS expression over ``probe`` is true."""
    await page.wait_for_function(f"() => {condition}", timeout=WAIT_MS)


async def probe(page: Page, expression: str) -> Any:
    return await page.evaluate(f"() => {expression}")


def record_websockets(page: Page) -> list[WebSocket]:
    """Every WebSocket the page opens, in order (its URL shows the query the client resumed with)."""
    sockets: list[WebSocket] = []

    def opened(socket: WebSocket) -> None:  # Playwright wraps handlers: a bound builtin like list.append won't do
        sockets.append(socket)

    page.on("websocket", opened)
    return sockets


def drop_connections(handle: RunningDaemon) -> None:
    """Cut every client connection at the server, as a network failure would: no close frame, a TCP reset."""
    for connection in handle.http.runner_server().connections:
        if connection.transport is not None:
            connection.transport.abort()


def scan_data(label: str) -> dict[str, Any]:
    return {"data": label, "symbology": "EAN13", "aim": "]E0", "raw": f"]E0{label}", "gs1": None}


async def own_origin_page(context: BrowserContext, handle: RunningDaemon) -> Page:
    # The console page gives a document on the daemon's origin; in a fresh context it has no token and stays idle.
    watched = await open_page(context)
    await watched.page.goto(handle.url + "/")
    return watched.page


@pytest.fixture
async def foreign_site() -> AsyncIterator[str]:
    """An ordinary web site on another port (so another origin) that serves a page and its own copy of posd.js."""
    script = POSD_JS.read_bytes()

    async def page(request: web.Request) -> web.Response:
        return web.Response(text="<!doctype html><title>elsewhere</title><p>another site</p>", content_type="text/html")

    async def posd_js(request: web.Request) -> web.Response:
        return web.Response(body=script, content_type="text/javascript")

    app = web.Application()
    app.router.add_get("/", page)
    app.router.add_get("/posd.js", posd_js)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        host, port = runner.addresses[0][:2]
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


async def test_client_calls_and_problem_errors_on_the_daemons_origin(
    context: BrowserContext, sim_daemon: RunningDaemon
) -> None:
    page = await own_origin_page(context, sim_daemon)
    await start_client(page, "/static/posd.js", "", sim_daemon.token, ["scanner.scan", "display.state"])
    await wait_for(page, "probe.statuses.some((s) => s.state === 'open')")

    devices = await call(page, "devices")
    assert devices["ok"], devices
    assert sorted(d["id"] for d in devices["value"]) == sorted(SIMULATED_IDS)

    await sim_daemon.sim("scale-1", action="set", value=0.75, unit="kg", stable=True)
    weight = await call(page, "readWeight", "scale-1")
    assert weight["value"]["value"] == 0.75, weight
    shown = await call(page, "displayText", "display-1", ["Hello", "world"])
    assert shown == {"ok": True, "value": {"ok": True}}
    await wait_for(page, "probe.events.some((e) => e.topic === 'display.state')")
    job = await call(page, "print", "printer-1", {"blocks": [{"type": "text", "text": "from posd.js"}]})
    assert job["ok"], job
    assert job["value"]["state"] in ("queued", "sending", "done")
    opened = await call(page, "openDrawer", "drawer-1", "sale", {"operator": "ana", "reference": "sale-1"})
    assert opened["ok"], opened
    assert opened["value"]["result"] == "opened"

    # A problem+json answer becomes a PosdError with its fields.
    wrong_kind = await call(page, "readWeight", "printer-1")
    assert wrong_kind["isPosdError"]
    assert (wrong_kind["status"], wrong_kind["code"]) == (409, "wrong_device_kind")
    assert wrong_kind["title"]
    assert "printer-1" in wrong_kind["detail"]
    bad_reason = await call(page, "openDrawer", "drawer-1", "because")
    assert (bad_reason["status"], bad_reason["code"]) == (400, "invalid_request")

    await sim_daemon.sim("scanner-1", action="scan", data="7891000315507", symbology="EAN13")
    await wait_for(page, "probe.events.some((e) => e.topic === 'scanner.scan' && e.data.data === '7891000315507')")

    # A wrong token: the stream is refused for good (no retry loop), the calls with the token's 401.
    await page.evaluate("() => { probe.subscription.close(); window.posd.token = 'wrong'; }")
    unauthorized = await call(page, "devices")
    assert (unauthorized["status"], unauthorized["code"]) == (401, "unauthorized")
    await page.evaluate(
        "() => { probe.statuses.length = 0; probe.subscription = window.posd.subscribe({"
        "onStatus: (s) => probe.statuses.push(s), onError: (e) => probe.errors.push(e.code) }); }"
    )
    await wait_for(page, "probe.errors.includes('unauthorized')")
    assert [s["state"] for s in await probe(page, "probe.statuses")] == ["closed"]


async def test_a_foreign_origin_cannot_use_the_api_or_the_event_stream(
    context: BrowserContext, sim_daemon: RunningDaemon, foreign_site: str
) -> None:
    # The same code on the daemon's own origin works...
    own = await own_origin_page(context, sim_daemon)
    await start_client(own, "/static/posd.js", "", sim_daemon.token, ["scanner.scan"])
    await wait_for(own, "probe.statuses.some((s) => s.state === 'open')")
    assert (await call(own, "devices"))["ok"]

    # ...and on another origin it is refused, even holding the admin token (a page that stole it, or a web site
    # the cashier browses to: neither may drive the till's devices).
    elsewhere = (await open_page(context)).page
    sockets = record_websockets(elsewhere)
    await elsewhere.goto(foreign_site + "/")
    await start_client(elsewhere, foreign_site + "/posd.js", sim_daemon.url, sim_daemon.token, ["scanner.scan"])

    refused = await call(elsewhere, "devices")
    assert refused["isPosdError"]
    assert (refused["status"], refused["code"]) == (0, "network_error"), refused
    drawer = await call(elsewhere, "openDrawer", "drawer-1", "other")
    assert (drawer["status"], drawer["code"]) == (0, "network_error"), drawer
    # The daemon refused it by Origin (the preflight), and the drawer's audit log has the attempt.
    audit = await sim_daemon.get("/api/v1/audit")
    last = audit.body["records"][-1]
    assert (last["result"], last["origin"], last["device"]) == ("refused", foreign_site, "drawer-1"), last
    assert "is not allowed" in last["detail"], last

    # The WebSocket upgrade is refused too (403): the client never gets a hello and keeps retrying, slower.
    await wait_for(elsewhere, "probe.statuses.filter((s) => s.state === 'reconnecting').length >= 2")
    assert sockets
    assert sockets[0].url.startswith(sim_daemon.url.replace("http://", "ws://") + "/api/v1/events")
    statuses = await probe(elsewhere, "probe.statuses")
    assert not any(s["state"] == "open" for s in statuses), statuses
    assert await probe(elsewhere, "probe.events.length") == 0
    await elsewhere.evaluate("() => probe.subscription.close()")

    # Meanwhile the own-origin client still gets live events.
    await sim_daemon.sim("scanner-1", action="scan", data="4006381333931", symbology="EAN13")
    await wait_for(own, "probe.events.some((e) => e.data.data === '4006381333931')")


async def test_a_configured_origin_imports_the_client_from_the_daemon_and_uses_it(
    context: BrowserContext, start_daemon: StartDaemon, foreign_site: str
) -> None:
    """The docs' example: a POS page on an origin in server.allowed_origins loads posd.js from the daemon."""
    handle = await start_daemon(f'[server]\nallowed_origins = ["{foreign_site}"]\n')
    await wait_all_ready(handle)
    page = (await open_page(context)).page
    await page.goto(foreign_site + "/")
    await start_client(page, handle.url + "/static/posd.js", handle.url, handle.token, ["scanner.scan"])
    await wait_for(page, "probe.statuses.some((s) => s.state === 'open')")
    devices = await call(page, "devices")
    assert devices["ok"], devices
    assert len(devices["value"]) == len(SIMULATED_IDS)
    await handle.sim("scanner-1", action="scan", data="4006381333931", symbology="EAN13")
    await wait_for(page, "probe.events.some((e) => e.data.data === '4006381333931')")


async def test_the_client_resumes_with_since_after_the_server_drops_it(
    context: BrowserContext, sim_daemon: RunningDaemon
) -> None:
    page = await own_origin_page(context, sim_daemon)
    sockets = record_websockets(page)
    await start_client(page, "/static/posd.js", "", sim_daemon.token, ["scanner.scan"])
    await wait_for(page, "probe.statuses.some((s) => s.state === 'open')")

    await sim_daemon.sim("scanner-1", action="scan", data="4006381333931", symbology="EAN13")
    await wait_for(page, "probe.events.length === 1")
    before_drop = await probe(page, "probe.events[0].seq")

    # Drop the connection and publish two scans in the same step, before the loop can run again: they happen
    # while the client is certainly disconnected, so it can only get them by resuming.
    drop_connections(sim_daemon)
    bus = sim_daemon.daemon.bus
    missed = [bus.publish("scanner.scan", "scanner-1", scan_data(code)).seq for code in ("96385074", "5901234123457")]

    await wait_for(page, "probe.events.length === 3")
    await wait_for(page, "probe.statuses.filter((s) => s.state === 'open').length === 2")
    await sim_daemon.sim("scanner-1", action="scan", data="7891000315507", symbology="EAN13")
    await wait_for(page, "probe.events.length === 4")

    events = await probe(page, "probe.events")
    seqs = [e["seq"] for e in events]
    assert seqs[1:3] == missed
    assert seqs == sorted(set(seqs)), "no event twice, none out of order"
    assert [e["data"]["data"] for e in events] == ["4006381333931", "96385074", "5901234123457", "7891000315507"]
    assert await probe(page, "probe.gaps") == []
    assert len(sockets) == 2
    assert f"since={before_drop}" in sockets[1].url
    assert "topics=scanner.scan" in sockets[1].url
    reconnect = [s for s in await probe(page, "probe.statuses") if s["state"] in ("reconnecting", "open")]
    assert [s["state"] for s in reconnect] == ["open", "reconnecting", "open"]
    assert reconnect[2]["seq"] >= missed[-1], "the missed scans came by replay, before the new hello's seq"


async def test_the_client_reports_a_gap_when_the_missed_events_are_gone(
    context: BrowserContext, start_daemon: StartDaemon
) -> None:
    ring_size = 10_000  # the smallest ring the configuration allows
    handle = await start_daemon(f"[events]\nring_size = {ring_size}\n")
    await wait_all_ready(handle)
    page = await own_origin_page(context, handle)
    await start_client(page, "/static/posd.js", "", handle.token, ["scanner.scan"])
    await wait_for(page, "probe.statuses.some((s) => s.state === 'open')")
    since = await probe(page, "probe.subscription.lastSeq")

    # While the client is away, more events than the ring holds (of a topic it does not even follow).
    drop_connections(handle)
    bus = handle.daemon.bus
    for n in range(ring_size + 1):
        bus.publish("display.state", "display-1", {"lines": [f"line {n}", ""]})
    oldest_held = bus.latest_seq - ring_size + 1

    await wait_for(page, "probe.gaps.length === 1")
    [gap] = await probe(page, "probe.gaps")
    # "to" is the oldest event still held: this, or later if the daemon published more before the reconnection.
    assert gap["from"] == since
    assert oldest_held <= gap["to"] <= bus.latest_seq
    await handle.sim("scanner-1", action="scan", data="4006381333931", symbology="EAN13")
    await wait_for(page, "probe.events.length === 1")
    assert await probe(page, "probe.order") == ["gap", "event"]
