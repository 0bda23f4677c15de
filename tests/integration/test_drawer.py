"""Cash drawers end to end: the real daemon, the real HTTP API, simulated printers and drawers on TCP and ptys.

What each test shows is what reached the simulated device (kicks, bytes), which events came, and what the
audit log holds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from daemon.config import load_config
from daemon.drawers import Requester
from drivers.errors import ConfigError
from drivers.escpos.driver import EscposPrinter
from drivers.escpos.kick_detect import describe_drawer_kicks
from drivers.escpos.simulator import EscposDrawerSimulator, EscposSimulator
from drivers.registry import DriverRegistry
from drivers.serial_drawer.simulator import SerialDrawerSimulator
from drivers.simulator import SimEnvironment
from drivers.transports import TcpSettings
from tests.conftest import EVENT_TIMEOUT, RunningDaemon, StartDaemon, wait_all_ready

pytestmark = pytest.mark.timeout(60)

FRONT = "front-counter-secret-0123456789"
MANAGER = "manager-secret-0123456789abcdef"
PRINT_ONLY = "print-only-secret-0123456789abc"
EVIL = "https://evil.example"

TOKENS = f"""
[tokens.front]
secret = "{FRONT}"
scopes = ["drawer", "display"]

[tokens.manager]
secret = "{MANAGER}"
scopes = ["drawer"]

[tokens.printing]
secret = "{PRINT_ONLY}"
scopes = ["print"]
"""


async def audit_until(
    handle: RunningDaemon, predicate: Callable[[list[dict[str, Any]]], bool], timeout: float = EVENT_TIMEOUT
) -> list[dict[str, Any]]:
    """The audit records once ``predicate`` holds for them (records written after an event lag it slightly)."""
    async with asyncio.timeout(timeout):
        while True:
            records: list[dict[str, Any]] = (await handle.get("/api/v1/audit?limit=1000")).body["records"]
            if predicate(records):
                return records
            await asyncio.sleep(0.01)


async def kicks(handle: RunningDaemon, printer: str = "printer-1") -> int:
    count: int = (await handle.get(f"/api/v1/sim/{printer}/output")).body["drawer"]["kicks"]
    return count


@pytest.fixture
async def secured(start_daemon: StartDaemon) -> RunningDaemon:
    handle = await start_daemon(TOKENS + '\n[drawers]\nno_sale_tokens = ["manager"]\nmax_opens = 3\n')
    await wait_all_ready(handle)
    return handle


async def rig(
    start_daemon: StartDaemon, tmp_path: Path, drawer_options: str, extra_config: str = ""
) -> tuple[RunningDaemon, EscposSimulator]:
    """A daemon with its own printer + drawer simulators, so the drawer's options can be set."""
    env = SimEnvironment(sim_dir=tmp_path / "rig")
    printer = EscposSimulator.create("printer-9", env)
    env.simulators["printer-9"] = printer
    drawer = EscposDrawerSimulator.create("drawer-9", env)
    await printer.start()
    await drawer.start()
    endpoint = printer.transport_settings()
    assert isinstance(endpoint, TcpSettings)
    port = endpoint.port
    handle = await start_daemon(
        f"""{extra_config}
[[devices]]
id = "printer-9"
driver = "escpos"
transport = {{ type = "tcp", host = "127.0.0.1", port = {port} }}

[[devices]]
id = "drawer-9"
driver = "escpos-drawer"
transport = {{ type = "printer", device = "printer-9" }}
options = {{ {drawer_options} }}
""",
        simulate=False,
    )
    # Registered as the daemon's simulators: the sim API reaches them and the daemon stops them.
    handle.daemon.simulators.update({"printer-9": printer, "drawer-9": drawer})
    stream = await handle.events("topics=device.state")
    await handle.wait_state(stream, "printer-9", "ready")
    await handle.wait_state(stream, "drawer-9", "ready")
    return handle, printer


# -- opening with the right scope -----------------------------------------------------------------------------
async def test_open_kicks_once_audits_once_and_senses_open_then_closed(secured: RunningDaemon) -> None:
    stream = await secured.events("topics=drawer.status,drawer.alert", token=FRONT)
    response = await secured.post(
        "/api/v1/drawers/drawer-1/open",
        {"reason": "sale", "operator": "ana", "reference": "S-1001"},
        token=FRONT,
    )
    assert response.status == 200, response.body
    assert response.body["opened"] is True
    assert response.body["result"] == "opened"
    # One ESC p reached the printer: pin 2 (m=0), 100 ms on (t1=50), 200 ms off (t2=100), the defaults.
    printer = secured.daemon.simulators["printer-1"]
    assert isinstance(printer, EscposSimulator)
    assert bytes(printer.received).count(b"\x1bp") == 1
    assert b"\x1bp\x00\x32\x64" in printer.received
    assert await kicks(secured) == 1
    assert (await stream.next("drawer.status", "drawer-1"))["data"] == {"opened": True}

    records = (await secured.get("/api/v1/audit")).body["records"]
    assert len(records) == 1
    record = records[0]
    assert record["id"] == response.body["audit_id"]
    assert {k: record[k] for k in ("action", "result", "device", "token", "origin", "operator", "reason")} == {
        "action": "open",
        "result": "opened",
        "device": "drawer-1",
        "token": "front",
        "origin": "none",
        "operator": "ana",
        "reason": "sale",
    }
    assert record["reference"] == "S-1001"
    assert record["remote"] == "127.0.0.1"

    await secured.sim("drawer-1", action="set", opened=False)
    assert (await stream.next("drawer.status", "drawer-1"))["data"] == {"opened": False}
    # The open was ours: no alert came before the close event.
    assert not [e for e in stream.seen if e["topic"] == "drawer.alert"]
    closed = await secured.post("/api/v1/drawers/drawer-1/wait-closed", {"timeout_ms": 1000}, token=FRONT)
    assert closed.body == {"closed": True}
    stats = (await secured.get("/api/v1/devices/drawer-1")).body["device"]["stats"]
    assert stats["DrawerGoodOpenCount"] == 1


async def test_wait_closed_times_out_then_sees_the_close(secured: RunningDaemon) -> None:
    assert (await secured.post("/api/v1/drawers/drawer-1/open", {"reason": "refund"}, token=FRONT)).status == 200
    still_open = await secured.post("/api/v1/drawers/drawer-1/wait-closed", {"timeout_ms": 50}, token=FRONT)
    assert still_open.body == {"closed": False}
    waiting = asyncio.create_task(
        secured.post("/api/v1/drawers/drawer-1/wait-closed", {"timeout_ms": 5000}, token=FRONT)
    )
    stream = await secured.events("topics=drawer.status")
    await secured.sim("drawer-1", action="set", opened=False)
    await stream.next("drawer.status", where=lambda d: d == {"opened": False})
    assert (await waiting).body == {"closed": True}


# -- refusals -------------------------------------------------------------------------------------------------
async def test_refused_attempts_never_kick_and_each_is_audited(secured: RunningDaemon) -> None:
    path = "/api/v1/drawers/drawer-1/open"
    sale = {"reason": "sale", "operator": "bob"}
    attempts = [
        (await secured.post(path, sale, token=PRINT_ONLY), 403, "insufficient_scope", "printing"),
        (await secured.post(path, sale, token=FRONT, headers={"Origin": EVIL}), 403, "forbidden_origin", "front"),
        (await secured.post(path, sale, token=None), 401, "unauthorized", None),
        (await secured.post(path, sale, token="not-a-real-token-0123456789"), 401, "unauthorized", None),
        (await secured.post(path, {"reason": "birthday"}, token=FRONT), 400, "invalid_request", "front"),
        (await secured.post(path, {"reason": "no_sale"}, token=FRONT), 403, "no_sale_not_allowed", "front"),
        (
            await secured.post(path, sale, token=FRONT, headers={"Host": "evil.example"}),
            403,
            "forbidden_host",
            "front",
        ),
    ]
    for response, status, code, _ in attempts:
        assert (response.status, response.body["code"]) == (status, code)
        assert response.headers["Content-Type"].startswith("application/problem+json")
    assert await kicks(secured) == 0

    records = (await secured.get("/api/v1/audit")).body["records"]
    assert [r["result"] for r in records] == ["refused"] * len(attempts)
    for record, (_, _, code, token) in zip(records, attempts, strict=True):
        assert record["detail"].startswith(code + ":")
        assert record["token"] == token
        assert record["device"] == "drawer-1"
    assert records[1]["origin"] == EVIL
    assert records[0]["operator"] == "bob"  # read from the refused request's body
    assert records[4]["reason"] == "birthday"
    assert records[5]["reason"] == "no_sale"
    assert (await secured.get("/api/v1/audit/verify")).body["ok"] is True


async def test_no_sale_is_for_the_tokens_allowed_it(secured: RunningDaemon) -> None:
    path = "/api/v1/drawers/drawer-1/open"
    refused = await secured.post(path, {"reason": "no_sale"}, token=FRONT)
    assert (refused.status, refused.body["code"]) == (403, "no_sale_not_allowed")
    assert await kicks(secured) == 0
    allowed = await secured.post(path, {"reason": "no_sale", "operator": "boss"}, token=MANAGER)
    assert (allowed.status, allowed.body["result"]) == (200, "opened")
    assert await kicks(secured) == 1
    records = (await secured.get("/api/v1/audit")).body["records"]
    assert [(r["token"], r["result"]) for r in records] == [("front", "refused"), ("manager", "opened")]
    assert refused.body["audit_id"] == records[0]["id"]


async def test_over_the_rate_limit_is_refused_with_retry_after(secured: RunningDaemon) -> None:
    path = "/api/v1/drawers/drawer-1/open"
    for n in range(3):  # max_opens = 3
        assert (await secured.post(path, {"reason": "sale", "reference": f"S-{n}"}, token=FRONT)).status == 200
        await secured.sim("drawer-1", action="set", opened=False)
    over = await secured.post(path, {"reason": "sale", "reference": "S-3"}, token=FRONT)
    assert (over.status, over.body["code"]) == (429, "rate_limited")
    assert 0 < over.body["retry_after_s"] <= 60
    assert 1 <= int(over.headers["Retry-After"]) <= 60
    assert await kicks(secured) == 3
    records = (await secured.get("/api/v1/audit")).body["records"]
    assert [r["result"] for r in records] == ["opened", "opened", "opened", "refused"]
    assert records[3]["reference"] == "S-3"
    assert records[3]["detail"].startswith("rate_limited:")


async def test_refusals_are_recorded_at_a_bounded_rate(start_daemon: StartDaemon) -> None:
    handle = await start_daemon(TOKENS + "\n[drawers]\nrefusal_records_per_minute = 2\n")
    await wait_all_ready(handle)
    for _ in range(5):
        response = await handle.post("/api/v1/drawers/drawer-1/open", {"reason": "sale"}, token=PRINT_ONLY)
        assert response.status == 403
    records = (await handle.get("/api/v1/audit")).body["records"]
    assert len(records) == 2  # the other three are counted, to be reported with the next recorded refusal
    assert await kicks(handle) == 0


# -- sensing ----------------------------------------------------------------------------------------------------
async def test_an_open_nobody_commanded_is_an_event_and_an_audit_record(secured: RunningDaemon) -> None:
    stream = await secured.events("topics=drawer.status,drawer.alert", token=FRONT)
    await secured.sim("drawer-1", action="set", opened=True)  # the key, or a hand under the till
    assert (await stream.next("drawer.status", "drawer-1"))["data"] == {"opened": True}
    assert (await stream.next("drawer.alert", "drawer-1"))["data"] == {"alert": "opened_unexpectedly"}
    records = await audit_until(secured, lambda rs: len(rs) >= 1)
    assert [(r["action"], r["result"], r["device"], r["token"]) for r in records] == [
        ("sensed", "opened_unexpectedly", "drawer-1", None)
    ]
    assert await kicks(secured) == 0


async def test_a_drawer_left_open_raises_an_alert_and_a_record(start_daemon: StartDaemon, tmp_path: Path) -> None:
    handle, _ = await rig(start_daemon, tmp_path, "open_alert_s = 0.3")
    stream = await handle.events("topics=drawer.alert")
    assert (await handle.post("/api/v1/drawers/drawer-9/open", {"reason": "float"})).body["opened"] is True
    alert = await stream.next("drawer.alert", "drawer-9")
    assert alert["data"]["alert"] == "open_too_long"
    assert alert["data"]["open_s"] >= 0.3
    records = await audit_until(handle, lambda rs: any(r["result"] == "open_too_long" for r in rs))
    assert [r["result"] for r in records] == ["opened", "open_too_long"]
    # Opened by our own kick: no "opened_unexpectedly".
    assert all(e["data"]["alert"] != "opened_unexpectedly" for e in stream.seen)


# -- at most once -------------------------------------------------------------------------------------------------
async def test_a_kick_while_the_printer_is_offline_expires_and_is_never_sent_later(
    start_daemon: StartDaemon, tmp_path: Path
) -> None:
    handle, printer = await rig(start_daemon, tmp_path, "kick_expiry_s = 0.5")
    states = await handle.events("topics=device.state&devices=printer-9")
    await handle.sim("printer-9", action="fault", online=False)
    await handle.wait_state(states, "printer-9", "error")

    expired = await handle.post("/api/v1/drawers/drawer-9/open", {"reason": "sale", "reference": "S-7"})
    assert (expired.status, expired.body["code"]) == (503, "drawer_kick_expired")
    assert expired.body["result"] == "expired"
    assert printer.kicks == 0

    await handle.sim("printer-9", action="fault", online=True)
    await handle.wait_state(states, "printer-9", "ready")
    # Bytes go out in order: once this test page has printed, anything queued before it has gone too.
    check = await handle.post("/api/v1/devices/printer-9/health", {"level": "external"})
    assert check.body["ok"] is True
    assert "posd test print" in printer.paper_out.lines
    assert printer.kicks == 0
    assert b"\x1bp" not in printer.received
    records = (await handle.get("/api/v1/audit")).body["records"]
    assert [(r["result"], r["reference"]) for r in records] == [("expired", "S-7")]
    assert records[0]["id"] == expired.body["audit_id"]


async def test_a_kick_while_the_printer_is_unplugged_expires_and_is_never_sent_later(
    start_daemon: StartDaemon, tmp_path: Path
) -> None:
    handle, printer = await rig(start_daemon, tmp_path, "kick_expiry_s = 0.5")
    states = await handle.events("topics=device.state")
    await handle.sim("printer-9", action="unplug")
    await states.next("device.state", "drawer-9", lambda d: d["state"] == "offline")

    expired = await handle.post("/api/v1/drawers/drawer-9/open", {"reason": "sale"})
    assert (expired.status, expired.body["code"]) == (503, "drawer_kick_expired")

    await handle.sim("printer-9", action="plug")
    await handle.wait_state(states, "drawer-9", "ready")
    assert (await handle.post("/api/v1/devices/printer-9/health", {"level": "external"})).body["ok"] is True
    assert "posd test print" in printer.paper_out.lines
    assert printer.kicks == 0
    assert b"\x1bp" not in printer.received


async def test_a_kick_while_the_printer_is_busy_expires_and_is_never_sent_later(
    start_daemon: StartDaemon, tmp_path: Path
) -> None:
    handle, printer = await rig(start_daemon, tmp_path, "kick_expiry_s = 0.4")
    driver = handle.daemon.manager.get("printer-9").driver
    assert isinstance(driver, EscposPrinter)
    # A long job holds the printer's I/O lock while its bytes go out; hold it the same way, past the expiry.
    async with driver._io_lock:
        expired = await handle.post("/api/v1/drawers/drawer-9/open", {"reason": "sale"})
    assert (expired.status, expired.body["code"]) == (503, "drawer_kick_expired")
    assert "busy" in expired.body["detail"]
    assert (await handle.post("/api/v1/devices/printer-9/health", {"level": "external"})).body["ok"] is True
    assert "posd test print" in printer.paper_out.lines
    assert printer.kicks == 0
    assert b"\x1bp" not in printer.received


async def test_realtime_kick_opens_at_paper_end(start_daemon: StartDaemon, tmp_path: Path) -> None:
    handle, printer = await rig(start_daemon, tmp_path, 'kick_command = "realtime", on_ms = 200')
    states = await handle.events("topics=device.state&devices=printer-9")
    await handle.sim("printer-9", action="fault", paper="end")
    await handle.wait_state(states, "printer-9", "error")
    opened = await handle.post("/api/v1/drawers/drawer-9/open", {"reason": "sale"})
    assert (opened.status, opened.body["opened"]) == (200, True)
    # DLE DC4 1 m t: pin 2 (m=0), 200 ms (t=2); never ESC p, which the stopped printer would queue.
    assert b"\x10\x14\x01\x00\x02" in printer.received
    assert b"\x1bp" not in printer.received
    assert printer.kicks == 1


async def test_a_drawer_that_does_not_open_is_reported_failed(start_daemon: StartDaemon, tmp_path: Path) -> None:
    handle, printer = await rig(start_daemon, tmp_path, "open_confirm_s = 0.3")
    printer.drawer_pin = 5  # the solenoid is on the other pin: the kick goes out, nothing opens
    response = await handle.post("/api/v1/drawers/drawer-9/open", {"reason": "sale"})
    assert response.status == 200
    assert (response.body["opened"], response.body["result"]) == (False, "failed")
    assert printer.kicks == 1
    records = (await handle.get("/api/v1/audit")).body["records"]
    assert records[0]["result"] == "failed"
    stats = (await handle.get("/api/v1/devices/drawer-9")).body["device"]["stats"]
    assert stats["DrawerFailedOpenCount"] == 1


# -- the standalone serial drawer ------------------------------------------------------------------------------
async def test_serial_drawer_opens_senses_and_alerts(start_daemon: StartDaemon, tmp_path: Path) -> None:
    env = SimEnvironment(sim_dir=tmp_path / "rig")
    box = SerialDrawerSimulator.create("till-drawer", env)
    await box.start()
    handle = await start_daemon(
        f"""
[[devices]]
id = "till-drawer"
driver = "serial-drawer"
transport = {{ type = "serial", port = "{tmp_path / "rig" / "till-drawer"}" }}
options = {{ poll_s = 0.05, reply_timeout_s = 0.1 }}
""",
        simulate=False,
    )
    handle.daemon.simulators["till-drawer"] = box
    stream = await handle.events("topics=device.state,drawer.status,drawer.alert")
    await handle.wait_state(stream, "till-drawer", "ready")

    response = await handle.post("/api/v1/drawers/till-drawer/open", {"reason": "pickup"})
    assert (response.status, response.body["opened"]) == (200, True)
    assert box.kicks == 1
    await stream.next("drawer.status", "till-drawer", lambda d: d == {"opened": True})
    await handle.sim("till-drawer", action="set", opened=False)
    await stream.next("drawer.status", "till-drawer", lambda d: d == {"opened": False})
    await handle.sim("till-drawer", action="set", opened=True)
    await stream.next("drawer.alert", "till-drawer", lambda d: d == {"alert": "opened_unexpectedly"})
    records = await audit_until(handle, lambda rs: len(rs) == 2)
    assert [r["result"] for r in records] == ["opened", "opened_unexpectedly"]

    await handle.sim("till-drawer", action="silent", silent=True)  # stops answering: the box is gone
    await stream.next("device.state", "till-drawer", lambda d: d["state"] == "offline")


async def test_an_unsensed_drawer_reports_sent_and_cannot_wait_for_close(
    start_daemon: StartDaemon, tmp_path: Path
) -> None:
    handle, printer = await rig(start_daemon, tmp_path, "sensed = false")
    response = await handle.post("/api/v1/drawers/drawer-9/open", {"reason": "sale"})
    assert response.status == 200
    assert (response.body["opened"], response.body["result"]) == (None, "sent")
    assert printer.kicks == 1
    waiting = await handle.post("/api/v1/drawers/drawer-9/wait-closed", {"timeout_ms": 100})
    assert (waiting.status, waiting.body["code"]) == (409, "not_supported")
    assert (await handle.get("/api/v1/devices/drawer-9")).body["device"]["status"] == {"opened": None}


def test_no_sale_tokens_must_name_configured_tokens(tmp_path: Path) -> None:
    config = tmp_path / "posd.toml"
    config.write_text(TOKENS + '\n[drawers]\nno_sale_tokens = ["manager", "owner"]\n')
    with pytest.raises(ConfigError, match=r"drawers\.no_sale_tokens: \['owner'\]"):
        load_config(config, DriverRegistry.builtin(), env={})
    config.write_text("[drawers]\nmax_opens = 0\n")
    with pytest.raises(ConfigError, match=r"drawers\.max_opens"):
        load_config(config, DriverRegistry.builtin(), env={})


# -- raw print jobs with a kick (the helpers issue 7 calls) ---------------------------------------------------------
async def test_a_raw_job_kick_is_expected_and_audited(secured: RunningDaemon) -> None:
    drawers = secured.daemon.drawers
    assert drawers.drawers_on("printer-1") == ["drawer-1"]
    assert drawers.drawers_on("scale-1") == []
    job = b"\x1b@Change\n\x1bp\x00\x32\x32"
    kicks = describe_drawer_kicks(job)
    assert kicks == "pin 2 100 ms"
    who = Requester(token="front", origin="none", remote="127.0.0.1", operator="ana", reference="S-77")
    record = await drawers.record_raw_job_kick("printer-1", who, kicks, job_id="job-1", result="sent")
    assert (record.action, record.result, record.device, record.token) == ("raw_job_kick", "sent", "drawer-1", "front")
    assert record.detail == "raw print job job-1 on printer-1: pin 2 100 ms"

    stream = await secured.events("topics=drawer.status,drawer.alert")
    drawers.expect_raw_kick("printer-1", within_s=5.0)
    await secured.sim("drawer-1", action="set", opened=True)  # the job's kick opened it
    await stream.next("drawer.status", "drawer-1", lambda d: d == {"opened": True})
    await secured.sim("drawer-1", action="set", opened=False)
    await stream.next("drawer.status", "drawer-1", lambda d: d == {"opened": False})
    assert not [e for e in stream.seen if e["topic"] == "drawer.alert"]
    # The expectation covered one open: the next one is unexpected again.
    await secured.sim("drawer-1", action="set", opened=True)
    await stream.next("drawer.alert", "drawer-1", lambda d: d == {"alert": "opened_unexpectedly"})
    records = await audit_until(secured, lambda rs: len(rs) == 2)
    assert [r["result"] for r in records] == ["sent", "opened_unexpectedly"]
    assert (await secured.get("/api/v1/audit/verify")).body["ok"] is True
