"""The usblp character-device transport (``type = "file"``), against a pseudo-terminal standing in for /dev/usb/lpN.

Why a pty and not a FIFO pair: /dev/usb/lpN is one node, opened read-write, polled for both directions, with a
small kernel buffer that makes non-blocking writes come back with EAGAIN, and a hang-up when the printer goes
(ENODEV there, EIO on a pty). A pty has all of that on one path; a FIFO pair needs two paths and a FIFO opened
read-write never sees its writer go. The ESC/POS simulator sits on the pty's master side (``PtyEndpoint``,
the same one the serial simulators use). What a pty cannot show: usblp's zero-length reads and the EINVAL
of a unidirectional printer (handled in drivers/transports/usblp.py, not exercised here).
"""

from __future__ import annotations

import base64
import os
import tty
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from drivers.errors import TransportClosed, TransportTimeout
from drivers.escpos.simulator import EscposSimulator
from drivers.simulator import PtyEndpoint
from drivers.transports import UsblpSettings, UsblpTransport, make_transport
from tests.conftest import StartDaemon, until

pytestmark = pytest.mark.timeout(60)

CUT = b"\x1dV\x00"


@pytest.fixture
async def lp_printer(tmp_path: Path) -> AsyncIterator[EscposSimulator]:
    simulator = EscposSimulator("lp-printer", PtyEndpoint(tmp_path / "lp0"))
    await simulator.start()
    yield simulator
    await simulator.stop()


def lp_path(simulator: EscposSimulator) -> str:
    endpoint = simulator.endpoint
    assert isinstance(endpoint, PtyEndpoint)
    return str(endpoint.link)


async def opened(path: str) -> UsblpTransport:
    transport = make_transport(UsblpSettings(path=path))
    assert isinstance(transport, UsblpTransport)
    await transport.open()
    return transport


def pty_capacity() -> int:
    """How many bytes a pty accepts from a non-blocking writer before EAGAIN (nobody reading)."""
    master, slave = os.openpty()
    try:
        tty.setraw(slave)
        os.set_blocking(slave, False)
        total = 0
        try:
            while True:
                total += os.write(slave, b"x" * 4096)
        except BlockingIOError:
            return total
    finally:
        os.close(master)
        os.close(slave)


async def test_job_and_status_through_the_character_device(lp_printer: EscposSimulator) -> None:
    transport = await opened(lp_path(lp_printer))
    try:
        assert transport.describe() == {"type": "file", "path": lp_path(lp_printer)}
        await transport.write(b"\x1b@ON USBLP\n" + CUT)
        await transport.write(b"\x10\x04\x01")
        assert await transport.read(2.0) == b"\x12"
        await until(lambda: "ON USBLP" in lp_printer.paper_out.lines)
        with pytest.raises(TransportTimeout):
            await transport.read(0.2)
        assert transport.is_open
    finally:
        await transport.close()


async def test_a_job_larger_than_the_kernel_buffer_goes_out_whole(lp_printer: EscposSimulator) -> None:
    lines = [f"LINE {n:06d}".encode() for n in range(60_000)]
    job = b"\x1b@" + b"\n".join(lines) + b"\n" + CUT
    assert len(job) > 4 * pty_capacity()  # so the non-blocking writes must have waited for room
    transport = await opened(lp_path(lp_printer))
    try:
        await transport.write(job, timeout=30.0)
        await until(lambda: len(lp_printer.received) == len(job), timeout=30.0)
        assert bytes(lp_printer.received) == job
        assert lp_printer.paper_out.lines[-1] == "LINE 059999"
        assert lp_printer.paper_out.cuts == 1
    finally:
        await transport.close()


async def test_unplug_is_seen_by_reads_and_writes(lp_printer: EscposSimulator) -> None:
    transport = await opened(lp_path(lp_printer))
    try:
        await lp_printer.control({"action": "unplug"})
        with pytest.raises(TransportClosed):
            await transport.read(5.0)
        assert not transport.is_open
        with pytest.raises(TransportClosed):
            await transport.write(b"\x1b@LOST\n")
    finally:
        await transport.close()
    with pytest.raises(TransportClosed, match="cannot open"):
        await opened(lp_path(lp_printer))


@pytest.mark.parametrize("target", ["regular", "/dev/null"])
async def test_nodes_the_event_loop_cannot_watch_are_refused(tmp_path: Path, target: str) -> None:
    path = tmp_path / "capture.prn" if target == "regular" else Path(target)
    if target == "regular":
        path.write_bytes(b"")
    with pytest.raises(TransportClosed, match="not a pollable character device"):
        await opened(str(path))


async def test_usblp_printer_through_the_daemon_holds_while_gone_and_prints_once_back(
    lp_printer: EscposSimulator, start_daemon: StartDaemon
) -> None:
    config = f"""
[[devices]]
id = "lp-printer"
driver = "escpos"
transport = {{ type = "file", path = "{lp_path(lp_printer)}" }}
options = {{ status_poll_s = 0.05 }}
"""
    handle = await start_daemon(config, simulate=False)
    events = await handle.events("topics=printer.job,printer.status,device.state")
    await handle.wait_state(events, "lp-printer", "ready")
    device = (await handle.get("/api/v1/devices/lp-printer")).body["device"]
    assert device["transport"] == {"type": "file", "path": lp_path(lp_printer)}

    job = {"raw": base64.b64encode(b"\x1b@BY USBLP\n" + CUT).decode()}
    first = (await handle.post("/api/v1/printers/lp-printer/jobs", job)).body["job"]
    await events.next("printer.job", where=lambda j: j["id"] == first["id"] and j["state"] == "done")
    await lp_printer.control({"action": "fault", "cover": "open"})
    cover = await events.next("printer.status", "lp-printer", lambda d: d["cover"] == "open")
    assert cover["data"] == {"online": False, "paper": "ok", "cover": "open"}
    await lp_printer.control({"action": "fault", "cover": "closed"})
    await handle.wait_state(events, "lp-printer", "ready")

    await lp_printer.control({"action": "unplug"})
    await events.next("device.state", "lp-printer", lambda d: d["state"] == "offline")
    held_job = {"raw": base64.b64encode(b"\x1b@WHILE UNPLUGGED\n" + CUT).decode()}
    second = (await handle.post("/api/v1/printers/lp-printer/jobs", held_job)).body["job"]
    held = await events.next("printer.job", where=lambda j: j["id"] == second["id"] and j["state"] == "held")
    assert held["data"]["reason"] == "offline"
    await lp_printer.control({"action": "plug"})
    await events.next("printer.job", where=lambda j: j["id"] == second["id"] and j["state"] == "done")
    assert lp_printer.paper_out.lines.count("BY USBLP") == 1
    assert lp_printer.paper_out.lines.count("WHILE UNPLUGGED") == 1
