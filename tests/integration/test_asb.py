"""Automatic Status Back end to end: the real daemon and ESC/POS driver, the simulated printer over real TCP.

With ``status = "asb"`` the driver enables GS a after connecting; the printer then reports every change by
itself, so a paper end becomes a ``printer.status`` event without any DLE EOT poll in between (the liveness
poll is set to 30 s here, far beyond the test).
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator

import pytest

from drivers.escpos.simulator import EscposSimulator
from drivers.simulator import TcpEndpoint
from tests.conftest import RunningDaemon, StartDaemon, until

pytestmark = pytest.mark.timeout(60)

DLE_EOT = b"\x10\x04"
GS_A_ALL = b"\x1d\x61\x0f"


@pytest.fixture
async def tcp_printer() -> AsyncIterator[EscposSimulator]:
    """The simulated printer on a loopback TCP port (torn down after the daemon that uses it)."""
    simulator = EscposSimulator("asb-printer", TcpEndpoint())
    await simulator.start()
    yield simulator
    await simulator.stop()


async def start_asb_daemon(start_daemon: StartDaemon, printer: EscposSimulator, status: str) -> RunningDaemon:
    port = printer.transport_settings().model_dump()["port"]
    config = f"""
[[devices]]
id = "asb-printer"
driver = "escpos"
transport = {{ type = "tcp", host = "127.0.0.1", port = {port} }}
options = {{ status = "{status}", liveness_poll_s = 30.0, status_poll_s = 30.0 }}
"""
    return await start_daemon(config, simulate=False)


async def test_paper_end_reaches_printer_status_without_a_poll(
    tcp_printer: EscposSimulator, start_daemon: StartDaemon
) -> None:
    handle = await start_asb_daemon(start_daemon, tcp_printer, "asb")
    events = await handle.events("topics=printer.status,device.state,printer.job")
    await handle.wait_state(events, "asb-printer", "ready")
    await until(lambda: tcp_printer.paper_out.asb_items == 0x0F)  # the driver sent GS a 15
    polls = tcp_printer.received.count(DLE_EOT)

    await tcp_printer.control({"action": "fault", "paper": "end"})
    event = await events.next("printer.status", "asb-printer", lambda d: d["paper"] == "end")
    assert event["data"] == {"online": False, "paper": "end", "cover": "closed"}
    await handle.wait_state(events, "asb-printer", "error")
    assert (await handle.get("/api/v1/devices/asb-printer")).body["device"]["reason"] == "paper_end"
    await tcp_printer.control({"action": "fault", "paper": "near_end"})
    back = await events.next("printer.status", "asb-printer")
    assert back["data"] == {"online": True, "paper": "near_end", "cover": "closed"}
    await handle.wait_state(events, "asb-printer", "ready")
    # Both changes came by ASB: no status request went to the printer meanwhile.
    assert tcp_printer.received.count(DLE_EOT) == polls

    # A job starts with ESC @, which switches ASB off on some printers: the driver enables it again after.
    job = {"raw": base64.b64encode(b"\x1b@ASB JOB\n\x1dV\x00").decode()}
    created = (await handle.post("/api/v1/printers/asb-printer/jobs", job)).body["job"]
    await events.next("printer.job", where=lambda j: j["id"] == created["id"] and j["state"] == "done")
    assert "ASB JOB" in tcp_printer.paper_out.lines
    await until(lambda: b"\x1b@ASB JOB\n\x1dV\x00" + GS_A_ALL in tcp_printer.received)
    assert tcp_printer.paper_out.asb_items == 0x0F
    await tcp_printer.control({"action": "fault", "cover": "open"})
    opened = await events.next("printer.status", "asb-printer", lambda d: d["cover"] == "open")
    assert opened["data"] == {"online": False, "paper": "near_end", "cover": "open"}


class FallsSilent(EscposSimulator):
    """The simulated printer, plus the fault ASB alone cannot see: it stops answering, link still up
    (a serial printer switched off behind a USB-serial adapter)."""

    silent = False

    def send(self, data: bytes) -> None:
        if not self.silent:
            super().send(data)


@pytest.fixture
async def silent_printer() -> AsyncIterator[FallsSilent]:
    simulator = FallsSilent("asb-printer", TcpEndpoint())
    await simulator.start()
    yield simulator
    await simulator.stop()


async def test_with_asb_a_printer_that_falls_silent_is_found_by_the_liveness_poll(
    silent_printer: FallsSilent, start_daemon: StartDaemon
) -> None:
    port = silent_printer.transport_settings().model_dump()["port"]
    config = f"""
[[devices]]
id = "asb-printer"
driver = "escpos"
transport = {{ type = "tcp", host = "127.0.0.1", port = {port} }}
options = {{ status = "asb", liveness_poll_s = 0.1, reply_timeout_s = 0.2, status_poll_s = 30.0 }}
"""
    handle = await start_daemon(config, simulate=False)
    events = await handle.events("topics=device.state")
    await handle.wait_state(events, "asb-printer", "ready")
    await until(lambda: silent_printer.paper_out.asb_items == 0x0F)
    silent_printer.silent = True
    offline = await events.next("device.state", "asb-printer", lambda d: d["state"] == "offline")
    assert "does not answer status requests" in offline["data"]["reason"]


async def test_poll_mode_never_enables_asb(tcp_printer: EscposSimulator, start_daemon: StartDaemon) -> None:
    handle = await start_asb_daemon(start_daemon, tcp_printer, "poll")
    events = await handle.events("topics=device.state")
    await handle.wait_state(events, "asb-printer", "ready")
    await until(lambda: tcp_printer.received.count(DLE_EOT) >= 2)
    assert GS_A_ALL not in tcp_printer.received
    assert tcp_printer.paper_out.asb_items == 0


async def test_simulator_reports_by_asb_only_while_enabled(tcp_printer: EscposSimulator) -> None:
    """The device side on its own, through a raw socket: GS a on → a message at once and on each change;
    ESC @ → silent again (a DLE EOT reply is then the next thing the printer says)."""
    port = tcp_printer.transport_settings().model_dump()["port"]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(GS_A_ALL)
        assert await asyncio.wait_for(reader.readexactly(4), 5) == bytes.fromhex("10000000")
        await until(lambda: tcp_printer.paper_out.asb_items == 0x0F)
        await tcp_printer.control({"action": "fault", "cover": "open"})
        assert await asyncio.wait_for(reader.readexactly(4), 5) == bytes.fromhex("38000000")
        await tcp_printer.control({"action": "fault", "online": True})  # no change: no message
        await tcp_printer.control({"action": "fault", "cover": "closed"})
        assert await asyncio.wait_for(reader.readexactly(4), 5) == bytes.fromhex("10000000")
        writer.write(b"\x1b@")
        await until(lambda: tcp_printer.paper_out.asb_items == 0)
        await tcp_printer.control({"action": "fault", "paper": "near_end"})  # a change, but ASB is off
        writer.write(b"\x10\x04\x01")
        assert await asyncio.wait_for(reader.readexactly(1), 5) == b"\x12"  # DLE EOT 1 reply, no ASB before it
    finally:
        writer.close()
        await writer.wait_closed()


async def test_simulator_keeps_what_it_cannot_print_and_runs_it_on_recovery(tcp_printer: EscposSimulator) -> None:
    """Like a real printer: with the cover open, ESC p and text wait in the receive buffer and run when it
    closes (so a driver that sent a kick to an offline printer would open the drawer late, and a test sees it);
    DLE EOT is answered and DLE DC4 1 fires at once."""
    port = tcp_printer.transport_settings().model_dump()["port"]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        await tcp_printer.control({"action": "fault", "cover": "open"})
        writer.write(b"\x1b@HELD LINE\n\x1bp\x00\x19\xfa" + b"\x10\x04\x02")
        assert await asyncio.wait_for(reader.readexactly(1), 5) == b"\x16"  # DLE EOT 2: cover open (bit 2)
        assert (tcp_printer.drawer_open, tcp_printer.paper_out.lines) == (False, [])
        writer.write(b"\x10\x14\x01\x00\x01")  # the real-time pulse acts now
        await until(lambda: tcp_printer.drawer_open)
        assert tcp_printer.kicks == 1
        await tcp_printer.control({"action": "fault", "cover": "closed"})
        assert tcp_printer.paper_out.lines == ["HELD LINE"]
        assert tcp_printer.kicks == 2  # the held ESC p ran on recovery; the real-time pulse did not run twice
    finally:
        writer.close()
        await writer.wait_closed()
