"""GET /metrics: who may scrape it, and that its figures follow what really happens on the devices."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
from typing import Any

import pytest
from aiohttp.test_utils import make_mocked_request
from prometheus_client.parser import text_string_to_metric_families

from api.guard import is_local_tool
from api.metrics import CONTENT_TYPE
from api.server import HttpServer
from tests.conftest import SIMULATED_IDS, Response, RunningDaemon, StartDaemon

SCANNER_TOKEN = "scanner-only-secret-0123456789"
MONITOR_TOKEN = "monitoring-admin-secret-0123456789"

TOKENS = f"""
[tokens.scanner-app]
secret = "{SCANNER_TOKEN}"
scopes = ["scanner"]

[tokens.monitor]
secret = "{MONITOR_TOKEN}"
scopes = ["admin"]
"""


class Metrics:
    """A scrape, parsed by prometheus_client's own parser (an independent check of the format)."""

    def __init__(self, text: str) -> None:
        self.families = {family.name: family for family in text_string_to_metric_families(text)}

    def value(self, sample: str, default: float | None = None, **labels: str) -> float:
        found = [
            s.value
            for family in self.families.values()
            for s in family.samples
            if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items())
        ]
        if not found and default is not None:
            return default
        assert len(found) == 1, f"{sample}{labels}: {found}"
        return found[0]

    def device_state(self, device: str) -> str:
        family = self.families["posd_device_state"]
        states = [s.labels["state"] for s in family.samples if s.labels["device"] == device and s.value == 1.0]
        assert len(states) == 1, states
        return states[0]


async def scrape(handle: RunningDaemon, token: str | None = None) -> Metrics:
    response = await handle.get("/metrics", token=token)
    assert response.status == 200, response.body
    assert response.headers["Content-Type"] == CONTENT_TYPE
    assert isinstance(response.body, bytes)
    return Metrics(response.body.decode())


def refused(response: Response, status: int, code: str) -> None:
    assert (response.status, response.body["code"]) == (status, code), response.body
    assert response.headers["Content-Type"].startswith("application/problem+json")


@pytest.fixture
async def monitored(start_daemon: StartDaemon) -> RunningDaemon:
    return await start_daemon(TOKENS, simulate=False)


# -- access ---------------------------------------------------------------------------------------------------
async def test_loopback_client_without_token_may_scrape(monitored: RunningDaemon) -> None:
    metrics = await scrape(monitored)
    assert metrics.value("posd_info", version=monitored.daemon.version, simulate="false") == 1.0
    # A user typing the URL into a browser on the till: Sec-Fetch-Site "none", no Origin.
    typed = await monitored.get("/metrics", token=None, headers={"Sec-Fetch-Site": "none"})
    assert typed.status == 200


async def test_admin_tokens_may_scrape(monitored: RunningDaemon) -> None:
    for token in ("admin", MONITOR_TOKEN):
        assert (await monitored.get("/metrics", token=token)).status == 200


async def test_foreign_origin_is_refused_with_or_without_token(monitored: RunningDaemon) -> None:
    for token in (None, "admin"):
        response = await monitored.get("/metrics", token=token, headers={"Origin": "https://evil.example"})
        refused(response, 403, "forbidden_origin")
        assert "Access-Control-Allow-Origin" not in response.headers


async def test_browser_requests_without_token_are_unauthorized(monitored: RunningDaemon) -> None:
    # The daemon's own console origin passes the Origin check, but a browser page still needs a token.
    own = await monitored.get("/metrics", token=None, headers={"Origin": monitored.origin})
    refused(own, 401, "unauthorized")
    # <img src="http://127.0.0.1:…/metrics"> on any web page: no Origin, but the browser marks it cross-site.
    for site in ("cross-site", "same-site", "same-origin"):
        marked = await monitored.get("/metrics", token=None, headers={"Sec-Fetch-Site": site})
        refused(marked, 401, "unauthorized")


async def test_wrong_scope_or_unknown_token_is_refused(monitored: RunningDaemon) -> None:
    # A token, once sent, is judged even from loopback: a misconfigured scraper learns why.
    scoped = await monitored.get("/metrics", token=SCANNER_TOKEN)
    refused(scoped, 403, "insufficient_scope")
    assert scoped.body["required_scope"] == "admin"
    refused(await monitored.get("/metrics", token="not-a-token"), 401, "unauthorized")


async def test_dns_rebinding_host_is_refused(monitored: RunningDaemon) -> None:
    port = monitored.http.port
    for host in (f"attacker.example:{port}", f"127.0.0.1.nip.io:{port}"):
        for token in (None, "admin"):
            response = await monitored.get("/metrics", token=token, headers={"Host": host})
            refused(response, 403, "forbidden_host")


def _non_loopback_ipv4() -> str | None:
    """This machine's address on its default route, if it has one (a UDP connect sends nothing)."""
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_DGRAM)) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
        except OSError:
            return None
        address: str = probe.getsockname()[0]
    return None if address.startswith("127.") else address


async def test_peer_on_the_network_needs_a_token(monitored: RunningDaemon) -> None:
    address = _non_loopback_ipv4()
    if address is None:
        pytest.skip("no non-loopback IPv4 address on this machine")
    # A second listener on that address; the client connects from it too, so the TCP peer is not loopback.
    # The Host header names loopback, so only the peer rule can refuse.
    lan = HttpServer(monitored.daemon, host=address, port=0)
    await lan.start()
    try:
        headers = {"Host": f"127.0.0.1:{lan.port}"}
        url = f"{lan.url}/metrics"
        async with monitored.session.get(url, headers=headers) as response:
            assert response.status == 401
            assert (await response.json(content_type=None))["code"] == "unauthorized"
        async with monitored.session.get(
            url, headers={**headers, "Authorization": f"Bearer {monitored.token}"}
        ) as response:
            assert response.status == 200
    finally:
        await lan.stop()


class _Transport:
    """Stands in for an asyncio transport: only the peer address matters here."""

    def __init__(self, peer: Any) -> None:
        self._peer = peer

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._peer if name == "peername" else default


@pytest.mark.parametrize(
    ("peer", "local"),
    [
        (("127.0.0.1", 50000), True),
        (("127.8.9.10", 50000), True),
        (("::1", 50000, 0, 0), True),
        (("::ffff:127.0.0.1", 50000, 0, 0), True),
        (("192.168.1.20", 50000), False),
        (("10.0.0.7", 50000), False),
        (("::ffff:10.0.0.7", 50000, 0, 0), False),
        (("fe80::1", 50000, 0, 2), False),
        ("", False),  # a Unix socket
        (None, False),
    ],
)
def test_only_a_loopback_peer_counts_as_local(peer: Any, local: bool) -> None:
    request = make_mocked_request("GET", "/metrics", transport=_Transport(peer))
    assert is_local_tool(request) is local
    with_origin = make_mocked_request(
        "GET", "/metrics", headers={"Origin": "http://127.0.0.1:7117"}, transport=_Transport(peer)
    )
    assert is_local_tool(with_origin) is False


# -- content ---------------------------------------------------------------------------------------------------
async def test_scrape_shows_every_device_ready_and_the_process(sim_daemon: RunningDaemon) -> None:
    metrics = await scrape(sim_daemon)
    for device in SIMULATED_IDS:
        assert metrics.device_state(device) == "ready"
    kinds = {s.labels["kind"] for s in metrics.families["posd_device_state"].samples}
    assert kinds == {"printer", "drawer", "scanner", "scale", "display"}
    assert metrics.value("posd_uptime_seconds") > 0
    assert metrics.value("process_resident_memory_bytes") > 10_000_000
    for name, family in metrics.families.items():
        if name.startswith("posd_"):
            assert family.documentation, name
            # The parser strips a counter's _total; every counter sample must carry it.
            if family.type == "counter":
                assert all(s.name == name + "_total" for s in family.samples), name
    assert metrics.families["posd_device_statistic"].type == "counter"


async def test_scan_counts_on_the_scanner_and_the_event_bus(sim_daemon: RunningDaemon) -> None:
    before = await scrape(sim_daemon)
    scans = await sim_daemon.events("topics=scanner.scan")
    await sim_daemon.sim("scanner-1", action="scan", data="7891000315507", symbology="EAN13")
    await scans.next("scanner.scan", "scanner-1")
    after = await scrape(sim_daemon)
    good = "posd_device_statistic_total"
    assert (
        after.value(good, device="scanner-1", statistic="GoodScanCount")
        == before.value(good, 0.0, device="scanner-1", statistic="GoodScanCount") + 1
    )
    assert after.value("posd_events_published_total") >= before.value("posd_events_published_total") + 1
    assert after.value("posd_event_subscribers") == before.value("posd_event_subscribers") + 1
    assert after.value("posd_websocket_clients") == before.value("posd_websocket_clients") + 1


async def test_print_jobs_are_counted_by_state(sim_daemon: RunningDaemon) -> None:
    def jobs(metrics: Metrics, state: str) -> float:
        return metrics.value("posd_print_jobs", printer="printer-1", state=state)

    before = await scrape(sim_daemon)
    assert jobs(before, "held") == 0
    events = await sim_daemon.events("topics=printer.job,device.state&devices=printer-1")
    await sim_daemon.sim("printer-1", action="fault", paper="end")
    await sim_daemon.wait_state(events, "printer-1", "error")
    document = {"document": {"blocks": [{"type": "text", "text": "METRICS"}, {"type": "cut"}]}}
    created = await sim_daemon.post("/api/v1/printers/printer-1/jobs", document)
    assert created.status == 202
    job_id = created.body["job"]["id"]
    await events.next("printer.job", where=lambda j: j["id"] == job_id and j["state"] == "held")
    held = await scrape(sim_daemon)
    assert jobs(held, "held") == 1
    assert jobs(held, "done") == jobs(before, "done")

    await sim_daemon.sim("printer-1", action="fault", paper="ok")
    await events.next("printer.job", where=lambda j: j["id"] == job_id and j["state"] == "done")
    done = await scrape(sim_daemon)
    assert jobs(done, "held") == 0
    assert jobs(done, "done") == jobs(before, "done") + 1


async def test_unplug_and_plug_show_in_the_device_state(sim_daemon: RunningDaemon) -> None:
    states = await sim_daemon.events("topics=device.state&devices=scanner-1")
    await sim_daemon.sim("scanner-1", action="unplug")
    await states.next("device.state", where=lambda d: d["state"] == "offline")
    unplugged = await scrape(sim_daemon)
    assert unplugged.device_state("scanner-1") == "offline"
    assert unplugged.value("posd_device_state", device="scanner-1", state="ready") == 0.0
    assert unplugged.device_state("scale-1") == "ready"  # the others are untouched

    await sim_daemon.sim("scanner-1", action="plug")
    await states.next("device.state", where=lambda d: d["state"] == "ready")
    assert (await scrape(sim_daemon)).device_state("scanner-1") == "ready"


async def test_drawer_open_adds_an_audit_record(sim_daemon: RunningDaemon) -> None:
    before = (await scrape(sim_daemon)).value("posd_audit_records_total")
    opened = await sim_daemon.post("/api/v1/drawers/drawer-1/open", {"reason": "sale"})
    assert opened.status == 200, opened.body
    after = (await scrape(sim_daemon)).value("posd_audit_records_total")
    assert after == opened.body["audit_id"] == before + 1


async def test_too_slow_subscriber_is_counted(start_daemon: StartDaemon) -> None:
    handle = await start_daemon("[events]\nsubscriber_hard_limit = 5\n", simulate=False)
    bus = handle.daemon.bus
    stalled = bus.subscribe().subscriber  # never reads
    for number in range(5):
        bus.publish("scanner.scan", "scanner-1", {"data": str(number)})
    assert stalled.close_reason is not None
    metrics = await scrape(handle)
    assert metrics.value("posd_event_subscribers_cut_total") == 1
    assert metrics.value("posd_events_dropped_total") == 5
    assert metrics.value("posd_event_subscribers") == 0


# -- contract and cost -------------------------------------------------------------------------------------------
async def test_openapi_documents_metrics(start_daemon: StartDaemon) -> None:
    handle = await start_daemon(simulate=False)
    document = (await handle.get("/api/v1/openapi.json", token=None)).body
    operation = document["paths"]["/metrics"]["get"]
    assert operation["tags"] == ["daemon"]
    assert "text/plain; version=0.0.4" in operation["responses"]["200"]["content"]
    assert operation["security"] == [{"bearer": ["admin"]}, {}]
    assert operation["x-posd-scope"] == "admin"
    assert {"401", "403"} <= set(operation["responses"])


def test_prometheus_client_is_not_loaded_at_start() -> None:
    """Idle memory: the library loads on the first scrape, never with the daemon and its API."""
    code = (
        "import sys, daemon.cli, api.server, api.app, api.metrics\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('prometheus_client'))\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
