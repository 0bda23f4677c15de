"""USB printers through pyusb: the real transport, driver, journal and API, with a pyusb backend standing in
for the bus (tests/integration/_usb_bus.py) and the real ESC/POS device logic behind its bulk endpoints."""

from __future__ import annotations

import asyncio
import base64
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import ValidationError

import drivers.transports.usb as usb_transport
from drivers.errors import TransportClosed, TransportTimeout
from drivers.escpos.simulator import EscposSimulator
from drivers.transports import UsbSettings, UsbTransport, make_transport
from tests.conftest import StartDaemon, until
from tests.integration._usb_bus import FakeUsbBus, FakeUsbPrinter, usb_printer_simulator

pytestmark = pytest.mark.timeout(60)

EPSON, TM_T20II = 0x04B8, 0x0E15
CUT = b"\x1dV\x00"


@pytest.fixture
def bus(monkeypatch: pytest.MonkeyPatch) -> FakeUsbBus:
    """The fake bus, installed as the backend the USB transport finds devices through."""
    fake = FakeUsbBus()
    monkeypatch.setattr(usb_transport, "backend_factory", lambda: fake)
    return fake


@pytest.fixture
async def printer(bus: FakeUsbBus) -> AsyncIterator[tuple[FakeUsbPrinter, EscposSimulator]]:
    device = FakeUsbPrinter(serial="SIM0001")
    simulator = usb_printer_simulator("usb-printer", bus, device)
    await simulator.start()
    yield device, simulator
    await simulator.stop()


def settings(**changes: Any) -> UsbSettings:
    return UsbSettings(vendor_id=EPSON, product_id=TM_T20II, **changes)


async def opened(**changes: Any) -> UsbTransport:
    transport = make_transport(settings(**changes))
    assert isinstance(transport, UsbTransport)
    await transport.open()
    return transport


def usb_threads() -> set[str]:
    return {t.name for t in threading.enumerate() if t.name.startswith("usb-")}


def raw_job(text: str) -> dict[str, str]:
    return {"raw": base64.b64encode(b"\x1b@" + text.encode() + b"\n" + CUT).decode()}


USB_PRINTER_CONFIG = """
[[devices]]
id = "usb-printer"
driver = "escpos"
transport = { type = "usb", vendor_id = 0x04b8, product_id = 0x0e15, serial = "SIM0001" }
options = { status_poll_s = 0.05 }
"""


# -- the transport on its own ---------------------------------------------------------------------------------
async def test_open_detaches_usblp_claims_and_close_releases_and_disposes(
    bus: FakeUsbBus, printer: tuple[FakeUsbPrinter, EscposSimulator]
) -> None:
    device, simulator = printer
    transport = await opened(serial="SIM0001")
    assert transport.is_open
    assert (bus.detached, bus.claims) == (1, 1)
    assert device.claimed_by is not None
    await transport.write(b"\x1b@HELLO USB\n" + CUT)
    await until(lambda: "HELLO USB" in simulator.paper_out.lines)
    await transport.write(b"\x10\x04\x04")  # DLE EOT 4: paper sensor
    assert await transport.read(2.0) == b"\x12"  # paper present: 0xx1xx10b with no sensor bits
    await transport.close()
    assert not transport.is_open
    assert (bus.releases, bus.closed_handles) == (1, 1)  # interface released, handle closed (disposed)
    assert device.claimed_by is None
    await until(lambda: not usb_threads())
    with pytest.raises(TransportClosed):
        await transport.write(b"x")


async def test_reads_and_writes_run_on_separate_threads_and_a_waiting_read_never_blocks_a_write(
    bus: FakeUsbBus, printer: tuple[FakeUsbPrinter, EscposSimulator]
) -> None:
    transport = await opened()
    try:
        reading = asyncio.create_task(transport.read(5.0))
        await until(lambda: bus.reads_in_progress > 0)  # a read is blocked inside libusb
        await transport.write(b"\x10\x04\x01")  # the write goes through meanwhile, and its reply ends the read
        assert await reading == b"\x12"
        assert bus.writes_during_read >= 1
        threads = {name: {thread for call, thread in bus.calls if call == name} for name in ("bulk_read", "bulk_write")}
        assert len(threads["bulk_read"]) == 1
        assert len(threads["bulk_write"]) == 1
        assert threads["bulk_read"] != threads["bulk_write"]
        assert threading.current_thread().name not in threads["bulk_read"] | threads["bulk_write"]
    finally:
        await transport.close()


async def test_every_transfer_has_a_bounded_nonzero_timeout_and_read_keeps_its_deadline(
    bus: FakeUsbBus, printer: tuple[FakeUsbPrinter, EscposSimulator]
) -> None:
    transport = await opened()
    try:
        with pytest.raises(TransportTimeout):
            await transport.read(0.3)  # nothing to read: a timeout, not a hang and not a loss
        assert transport.is_open
        assert bus.transfer_timeouts
        assert all(0 < timeout <= usb_transport.READ_SLICE_S * 1000 for timeout in bus.transfer_timeouts)
        reads = sum(1 for call, _ in bus.calls if call == "bulk_read")
        assert reads >= 3  # 0.3 s in slices of at most 0.1 s
    finally:
        await transport.close()


async def test_a_cancelled_read_loses_no_bytes(
    bus: FakeUsbBus, printer: tuple[FakeUsbPrinter, EscposSimulator]
) -> None:
    _, simulator = printer
    transport = await opened()
    try:
        reading = asyncio.create_task(transport.read(5.0))
        await until(lambda: bus.reads_in_progress > 0)
        reading.cancel()
        with pytest.raises(asyncio.CancelledError):
            await reading
        simulator.send(b"\x16")  # arrives while the abandoned transfer is still waiting
        assert await transport.read(2.0) == b"\x16"
    finally:
        await transport.close()


async def test_a_stalled_printer_times_the_write_out_without_losing_the_device(
    bus: FakeUsbBus, printer: tuple[FakeUsbPrinter, EscposSimulator]
) -> None:
    device, simulator = printer
    transport = await opened()
    try:
        device.accepting = False  # buffer full: every OUT packet is NAKed
        with pytest.raises(TransportTimeout):
            await transport.write(b"A" * 1000, timeout=0.3)
        assert transport.is_open
        assert all(timeout > 0 for timeout in bus.transfer_timeouts)
        device.accepting = True
        await transport.write(b"\x1b@AFTER STALL\n")
        await until(lambda: "AFTER STALL" in simulator.paper_out.lines)
    finally:
        await transport.close()


async def test_unplug_fails_reads_and_writes_as_closed(
    bus: FakeUsbBus, printer: tuple[FakeUsbPrinter, EscposSimulator]
) -> None:
    _, simulator = printer
    transport = await opened()
    try:
        reading = asyncio.create_task(transport.read(5.0))
        await until(lambda: bus.reads_in_progress > 0)
        await simulator.control({"action": "unplug"})
        with pytest.raises(TransportClosed, match="No such device"):
            await reading
        assert not transport.is_open
        with pytest.raises(TransportClosed):
            await transport.write(b"x")
    finally:
        await transport.close()
    with pytest.raises(TransportClosed, match="no USB device 04b8:0e15 serial SIM0001 is connected"):
        await opened(serial="SIM0001")


async def test_identity_by_serial_or_port_never_by_enumeration_order(bus: FakeUsbBus) -> None:
    first = FakeUsbPrinter(serial="AAA111", ports=(1, 2))
    second = FakeUsbPrinter(serial="BBB222", ports=(1, 3))
    simulators = [usb_printer_simulator(f"p{i}", bus, p) for i, p in enumerate((first, second))]
    for simulator in simulators:
        await simulator.start()
    try:
        with pytest.raises(TransportClosed, match=r"2 USB devices 04b8:0e15 are connected \(1-1.2, 1-1.3\)"):
            await opened()
        by_serial = await opened(serial="BBB222")
        await by_serial.write(b"\x1b@TO SECOND\n")
        await by_serial.close()
        by_port = await opened(usb_port="1-1.2")
        await by_port.write(b"\x1b@TO FIRST\n")
        await by_port.close()
        await until(
            lambda: "TO SECOND" in simulators[1].paper_out.lines and "TO FIRST" in simulators[0].paper_out.lines
        )
        assert "TO FIRST" not in simulators[1].paper_out.lines
        assert "TO SECOND" not in simulators[0].paper_out.lines
        # Devices opened only to read their serial number are closed again.
        assert first.claimed_by is None
        assert second.claimed_by is None
        with pytest.raises(TransportClosed, match="serial CCC333"):
            await opened(serial="CCC333")
    finally:
        for simulator in simulators:
            await simulator.stop()


async def test_a_serial_written_the_way_udev_writes_it_matches(bus: FakeUsbBus) -> None:
    # udev's ID_SERIAL_SHORT (what hot-plug configures) turns whitespace runs and "/" into "_".
    device = FakeUsbPrinter(serial=" SN 0001/A ")
    simulator = usb_printer_simulator("odd-serial", bus, device)
    await simulator.start()
    try:
        for spelling in (" SN 0001/A ", "SN_0001_A"):
            transport = await opened(serial=spelling)
            await transport.close()
        with pytest.raises(TransportClosed):
            await opened(serial="SN 0001/A")  # neither the descriptor's spelling nor udev's
    finally:
        await simulator.stop()


async def test_a_device_without_access_rights_is_named_with_the_reason(
    printer: tuple[FakeUsbPrinter, EscposSimulator],
) -> None:
    device, _ = printer
    device.permitted = False
    with pytest.raises(TransportClosed, match=r"cannot open USB device 04b8:0e15: Access denied"):
        await opened()
    # pyusb reports the failed string-descriptor read as "no langid (permission issue, …)".
    with pytest.raises(TransportClosed, match=r"could not read the serial of bus 1 address \d+: .*permission issue"):
        await opened(serial="SIM0001")
    await until(lambda: not usb_threads())  # a failed open leaves no executor threads behind


def test_settings_describe_the_device_and_refuse_bad_values() -> None:
    transport = make_transport(settings(serial="X1", usb_port="3-1.4"))
    assert transport.describe() == {
        "type": "usb",
        "vendor_id": "04b8",
        "product_id": "0e15",
        "interface": 0,
        "serial": "X1",
        "usb_port": "3-1.4",
    }
    for bad in ({"vendor_id": 0x10000}, {"usb_port": "/dev/usb/lp0"}, {"serial": ""}, {"endpoint": 1}):
        with pytest.raises(ValidationError):
            UsbSettings.model_validate({"vendor_id": EPSON, "product_id": TM_T20II, **bad})


# -- through the daemon -------------------------------------------------------------------------------------
async def test_job_printed_over_usb_and_status_read_back(
    printer: tuple[FakeUsbPrinter, EscposSimulator], start_daemon: StartDaemon
) -> None:
    _, simulator = printer
    handle = await start_daemon(USB_PRINTER_CONFIG, simulate=False)
    events = await handle.events("topics=printer.job,printer.status,device.state")
    await handle.wait_state(events, "usb-printer", "ready")
    device = (await handle.get("/api/v1/devices/usb-printer")).body["device"]
    assert device["transport"]["type"] == "usb"
    assert device["status"] == {"online": True, "paper": "ok", "cover": "closed"}

    response = await handle.post("/api/v1/printers/usb-printer/jobs", raw_job("PAID BY USB"))
    assert response.status == 202, response.body
    job_id = response.body["job"]["id"]
    done = await events.next("printer.job", where=lambda j: j["id"] == job_id and j["state"] == "done")
    assert done["data"]["copy"] is False
    assert simulator.paper_out.lines.count("PAID BY USB") == 1
    assert simulator.paper_out.cuts == 1

    # Status comes back over the IN endpoint: DLE EOT replies from the printer's paper sensor.
    await simulator.control({"action": "fault", "paper": "near_end"})
    near = await events.next("printer.status", "usb-printer", lambda d: d["paper"] == "near_end")
    assert near["data"] == {"online": True, "paper": "near_end", "cover": "closed"}


async def test_unplugged_usb_printer_holds_jobs_and_prints_them_once_after_replug(
    bus: FakeUsbBus, printer: tuple[FakeUsbPrinter, EscposSimulator], start_daemon: StartDaemon
) -> None:
    device, simulator = printer
    handle = await start_daemon(USB_PRINTER_CONFIG, simulate=False)
    events = await handle.events("topics=printer.job,device.state")
    await handle.wait_state(events, "usb-printer", "ready")
    first_address = device.attachment.address if device.attachment else None

    await simulator.control({"action": "unplug"})  # power cut: the device leaves the bus
    offline = await events.next("device.state", "usb-printer", lambda d: d["state"] == "offline")
    assert "No such device" in offline["data"]["reason"]
    ids: list[str] = []
    for number in (1, 2):
        response = await handle.post("/api/v1/printers/usb-printer/jobs", raw_job(f"HELD {number}"))
        assert response.status == 202
        ids.append(response.body["job"]["id"])
    held = await events.next("printer.job", where=lambda j: j["id"] == ids[0] and j["state"] == "held")
    assert held["data"]["reason"] == "offline"
    assert (await handle.get(f"/api/v1/jobs/{ids[1]}")).body["job"]["state"] == "queued"  # FIFO, behind it
    assert not any(line.startswith("HELD") for line in simulator.paper_out.lines)
    # Retries meanwhile find nothing on the bus, and leave nothing open behind them.
    await events.next("device.state", "usb-printer", lambda d: "no USB device 04b8:0e15" in d.get("reason", ""))
    assert device.claimed_by is None

    await simulator.control({"action": "plug"})  # power back: a new device instance at a new address
    assert device.attachment is not None
    assert device.attachment.address != first_address
    await handle.wait_state(events, "usb-printer", "ready")
    for job_id in ids:

        def done(j: dict[str, Any], job_id: str = job_id) -> bool:
            return bool(j["id"] == job_id and j["state"] == "done")

        await events.next("printer.job", where=done)
    assert [line for line in simulator.paper_out.lines if line.startswith("HELD")] == ["HELD 1", "HELD 2"]
    for job_id in ids:
        job = (await handle.get(f"/api/v1/jobs/{job_id}")).body["job"]
        assert (job["state"], job["copy"]) == ("done", False)
    devices = (await handle.get("/api/v1/devices")).body["devices"]
    assert [d["id"] for d in devices] == ["usb-printer"]  # the same device, reconnected
    # Every handle of the sessions before the power cut was disposed (python-escpos #437/#459): only the
    # current session's handle, on the new device instance, is still open.
    still_open = [h for h in bus.handles if not h.closed]
    assert len(bus.handles) >= 2
    assert len(still_open) == 1
    assert still_open[0].attachment is device.attachment
