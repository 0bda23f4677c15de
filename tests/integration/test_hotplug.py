"""Hot-plug end to end: recorded udev events replayed through the handler the netlink monitor feeds, with a
serial scanner simulator on a real pty as the device that comes and goes — so attaching is a real open, and
a scan travels the real driver.

The recordings are in the format of `udevadm monitor --udev --property` with the properties udev reports for a
CDC-ACM scanner (usb_id, path_id and 61-posd.rules applied). They were written for these tests, not captured
from hardware: this machine has no USB devices. /dev paths are re-rooted into the test's directory.

The supervisor's backoff is set to 60 s, far beyond the event timeouts: a device that comes back within them
was reconnected by the hot-plug event, not by a retry timer.
"""

from __future__ import annotations

import gc
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from api.server import HttpServer
from daemon.config import load_config
from daemon.hotplug import ReplaySource, parse_udevadm_monitor
from daemon.service import Daemon
from drivers.registry import DriverRegistry
from drivers.serial_scanner.simulator import SerialScannerSimulator
from drivers.simulator import PtyEndpoint
from tests.conftest import RunningDaemon, stop, until

pytestmark = pytest.mark.timeout(90)

SLOW_SUPERVISOR = """
[supervisor]
backoff_initial_s = 60
backoff_max_s = 60
"""

NEWLAND_ADD = """\
UDEV  [5123.482911] add      /devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0/tty/ttyACM0 (tty)
ACTION=add
DEVPATH=/devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0/tty/ttyACM0
SUBSYSTEM=tty
DEVNAME=/dev/ttyACM0
SEQNUM=4127
USEC_INITIALIZED=5123471236
ID_BUS=usb
ID_MODEL=HR22
ID_MODEL_ENC=HR22
ID_MODEL_ID=1a06
ID_SERIAL=Newland_HR22_N21A08613
ID_SERIAL_SHORT=N21A08613
ID_VENDOR=Newland
ID_VENDOR_ENC=Newland
ID_VENDOR_ID=1eab
ID_REVISION=0100
ID_TYPE=generic
ID_USB_INTERFACES=:020201:0a0000:
ID_USB_INTERFACE_NUM=00
ID_USB_DRIVER=cdc_acm
ID_VENDOR_FROM_DATABASE=Fujian Newland Computer Co., Ltd
ID_MODEL_FROM_DATABASE=HR3290 corded/HR22 Barcode scanner engine (Serial CDC)
ID_PATH=pci-0000:00:14.0-usb-0:2:1.0
ID_PATH_TAG=pci-0000_00_14_0-usb-0_2_1_0
ID_MM_CANDIDATE=1
POSD_KIND=scanner
POSD_DRIVER=serial-scanner
POSD_PROFILE=usb-serial
POSD_NAME=scanner-newland-1a06
POSD_LINK=posd/scanner-newland-1a06-N21A08613
DEVLINKS=/dev/serial/by-path/pci-0000:00:14.0-usb-0:2:1.0 /dev/posd/scanner-newland-1a06-N21A08613 \
/dev/serial/by-id/usb-Newland_HR22_N21A08613-if00
TAGS=:systemd:
CURRENT_TAGS=:systemd:
MAJOR=166
MINOR=0

"""
NEWLAND_REMOVE = NEWLAND_ADD.replace("] add      ", "] remove   ").replace("ACTION=add", "ACTION=remove")
# The same scanner plugged back into another port: the kernel names it ttyACM1 this time.
NEWLAND_ADD_AGAIN = NEWLAND_ADD.replace("ttyACM0", "ttyACM1").replace("SEQNUM=4127", "SEQNUM=4163")
NEWLAND_ID = "scanner-newland-1a06-n21a08613"
NEWLAND_LINK = "posd/scanner-newland-1a06-N21A08613"


def recorded(text: str) -> list[dict[str, str]]:
    # udevadm prints DEVLINKS on one line; the recordings wrap it with a backslash for the line length.
    return parse_udevadm_monitor(text.replace("\\\n", ""))


@dataclass
class Till:
    handle: RunningDaemon
    replay: ReplaySource
    dev: Path

    def scanner(self, link: str) -> SerialScannerSimulator:
        return SerialScannerSimulator("scanner", PtyEndpoint(self.dev / link, serial={"baudrate": 115200}))

    def state(self, device_id: str) -> str | None:
        try:
            return self.handle.daemon.manager.get(device_id).state.value
        except Exception:
            return None


StartTill = Callable[..., Awaitable[Till]]


@pytest.fixture
async def start_till(tmp_path: Path) -> AsyncIterator[StartTill]:
    """A daemon whose hot-plug source replays recorded udev events, /dev re-rooted into tmp_path/dev."""
    tills: list[Till] = []

    async def start(config_toml: str = "") -> Till:
        dev = tmp_path / "dev"
        dev.mkdir(exist_ok=True)
        config_file = tmp_path / "posd.toml"
        config_toml = config_toml.replace("{dev}", str(dev))  # paths under the re-rooted /dev
        config_file.write_text(f'state_dir = "{tmp_path / "state"}"\n{SLOW_SUPERVISOR}{config_toml}')
        registry = DriverRegistry.builtin()
        loaded = load_config(config_file, registry, env={}, overrides={"server": {"port": 0}})
        replay = ReplaySource(dev_root=dev)
        daemon = Daemon(loaded, registry, hotplug_source=replay)
        await daemon.start()
        http = HttpServer(daemon)
        await http.start()
        till = Till(RunningDaemon(daemon, http, aiohttp.ClientSession(), daemon.admin_token), replay, dev)
        tills.append(till)
        return till

    yield start
    for till in tills:
        await stop(till.handle)


async def test_discovered_scanner_attaches_goes_offline_and_reattaches_with_the_same_id(start_till: StartTill) -> None:
    till = await start_till()
    handle = till.handle
    states = await handle.events("topics=device.state")
    scans = await handle.events("topics=scanner.scan")
    scanner = till.scanner(NEWLAND_LINK)
    try:
        # Plugged in: udev has made its links, then announces the device.
        await scanner.start()
        till.replay.play(recorded(NEWLAND_ADD))
        await states.next("device.state", NEWLAND_ID, lambda d: d["state"] == "ready")
        device = (await handle.get(f"/api/v1/devices/{NEWLAND_ID}")).body["device"]
        assert device["driver"] == "serial-scanner"
        assert device["name"] == "Newland HR200 / HR22 / HR3290 / EM20xx / FM100 engines, USB serial (CDC) mode"
        assert device["transport"]["port"] == str(till.dev / NEWLAND_LINK)
        await scanner.control({"action": "scan", "data": "7891000315507", "symbology": "EAN13"})
        scan = await scans.next("scanner.scan", NEWLAND_ID)
        assert scan["data"]["data"] == "7891000315507"

        # Unplugged: the pty hangs up and udev announces the removal.
        await scanner.stop()
        till.replay.play(recorded(NEWLAND_REMOVE))
        offline = await states.next("device.state", NEWLAND_ID, lambda d: d["state"] == "offline")
        assert offline["data"]["reason"]

        # Plugged back (as ttyACM1 this time): the same id, connected again without waiting out the backoff.
        await scanner.start()
        till.replay.play(recorded(NEWLAND_ADD_AGAIN))
        await states.next("device.state", NEWLAND_ID, lambda d: d["state"] == "ready")
        await scanner.control({"action": "scan", "data": "5901234123457", "symbology": "EAN13"})
        assert (await scans.next("scanner.scan", NEWLAND_ID))["data"]["data"] == "5901234123457"
        ids = [d["id"] for d in (await handle.get("/api/v1/devices")).body["devices"]]
        assert ids == [NEWLAND_ID]
    finally:
        await scanner.stop()


async def test_configured_scanner_is_marked_offline_and_retried_at_once(start_till: StartTill) -> None:
    """A device in posd.toml by its stable link: remove → offline at once, add → reconnected (backoff is 60 s)."""
    link = "serial/by-id/usb-Newland_HR22_N21A08613-if00"
    till = await start_till(
        f'[[devices]]\nid = "front-scanner"\ndriver = "serial-scanner"\n'
        f'transport = {{ type = "serial", port = "{{dev}}/{link}" }}\n'
    )
    handle = till.handle
    states = await handle.events("topics=device.state&devices=front-scanner")
    scanner = till.scanner(link)
    try:
        # Not plugged in at start: offline, and the next retry is a minute away.
        await handle.wait_state(states, "front-scanner", "offline")
        await scanner.start()
        till.replay.play(recorded(NEWLAND_ADD))
        await states.next("device.state", "front-scanner", lambda d: d["state"] == "ready")
        # Configured devices are not discovered twice.
        assert [d["id"] for d in (await handle.get("/api/v1/devices")).body["devices"]] == ["front-scanner"]

        await scanner.stop()
        till.replay.play(recorded(NEWLAND_REMOVE))
        await states.next("device.state", "front-scanner", lambda d: d["state"] == "offline")
        await scanner.start()
        till.replay.play(recorded(NEWLAND_ADD))
        await states.next("device.state", "front-scanner", lambda d: d["state"] == "ready")
    finally:
        await scanner.stop()


async def test_without_posd_rules_a_device_back_under_another_name_keeps_its_id(start_till: StartTill) -> None:
    """No /dev/posd link (rules not installed), no by-id link: the kernel name is used, and may change."""
    bare = "\n".join(line for line in NEWLAND_ADD.splitlines() if not line.startswith(("DEVLINKS", "/dev/"))) + "\n"
    till = await start_till()
    states = await till.handle.events(f"topics=device.state&devices={NEWLAND_ID}")
    first, second = till.scanner("ttyACM0"), till.scanner("ttyACM1")
    try:
        await first.start()
        till.replay.play(recorded(bare))
        await states.next("device.state", NEWLAND_ID, lambda d: d["state"] == "ready")
        await first.stop()
        till.replay.play(recorded(bare.replace("ACTION=add", "ACTION=remove")))
        await states.next("device.state", NEWLAND_ID, lambda d: d["state"] == "offline")
        await second.start()
        till.replay.play(recorded(bare.replace("ttyACM0", "ttyACM1")))
        await states.next("device.state", NEWLAND_ID, lambda d: d["state"] == "ready")
        device = (await till.handle.get(f"/api/v1/devices/{NEWLAND_ID}")).body["device"]
        assert device["transport"]["port"] == str(till.dev / "ttyACM1")
    finally:
        await first.stop()
        await second.stop()


EPSON_USB_ADD = """\
UDEV  [7311.204551] add      /devices/pci0000:00/0000:00:14.0/usb1/1-3 (usb)
ACTION=add
DEVPATH=/devices/pci0000:00/0000:00:14.0/usb1/1-3
SUBSYSTEM=usb
DEVNAME=/dev/bus/usb/001/007
DEVTYPE=usb_device
PRODUCT=4b8/e15/100
TYPE=0/0/0
BUSNUM=001
DEVNUM=007
SEQNUM=5012
ID_BUS=usb
ID_VENDOR=EPSON
ID_VENDOR_ID=04b8
ID_MODEL=TM-T20II
ID_MODEL_ID=0e15
ID_SERIAL=EPSON_TM-T20II_TXBF012345
ID_SERIAL_SHORT=TXBF012345
ID_USB_INTERFACES=:070102:
ID_PATH=pci-0000:00:14.0-usb-0:3
ID_PATH_TAG=pci-0000_00_14_0-usb-0_3
POSD_KIND=printer
POSD_DRIVER=escpos
POSD_PROFILE=TM-T20II
POSD_NAME=printer-epson-0e15
DEVLINKS=/dev/posd/printer-epson-0e15-TXBF012345
MAJOR=189
MINOR=6

"""


async def test_known_usb_printer_is_added_with_the_usb_transport_and_goes_offline_on_remove(
    start_till: StartTill,
) -> None:
    """A USB printer (libusb, found by ids and serial): added with the table's driver; there is no USB bus
    here, so it cannot connect — what is shown is the id, the transport it was given, and remove → offline."""
    till = await start_till()
    states = await till.handle.events("topics=device.state")
    till.replay.play(recorded(EPSON_USB_ADD))
    printer_id = "printer-epson-0e15-txbf012345"
    device = (await till.handle.get(f"/api/v1/devices/{printer_id}")).body["device"]
    assert device["driver"] == "escpos"
    config = till.handle.daemon.manager.get(printer_id).resolved.config
    assert config.transport.model_dump()["vendor_id"] == 0x04B8
    assert config.transport.model_dump()["product_id"] == 0x0E15
    assert config.transport.model_dump()["serial"] == "TXBF012345"
    till.replay.play(recorded(EPSON_USB_ADD.replace("ACTION=add", "ACTION=remove")))
    await till.handle.wait_state(states, printer_id, "offline")


async def test_configured_usb_printer_is_matched_by_ids_and_serial(start_till: StartTill) -> None:
    till = await start_till(
        '[[devices]]\nid = "receipt"\ndriver = "escpos"\n'
        'transport = { type = "usb", vendor_id = 0x04b8, product_id = 0x0e15, serial = "TXBF012345" }\n'
    )
    other_serial = EPSON_USB_ADD.replace("TXBF012345", "TXBF999999")
    till.replay.play(recorded(other_serial))  # another TM-T20II: discovered as its own device, not "receipt"
    ids = sorted(d.device_id for d in till.handle.daemon.manager.devices())
    assert ids == ["printer-epson-0e15-txbf999999", "receipt"]
    till.replay.play(recorded(EPSON_USB_ADD))  # ours: no second device
    assert sorted(d.device_id for d in till.handle.daemon.manager.devices()) == ids


async def test_events_of_unknown_or_other_devices_change_nothing(start_till: StartTill) -> None:
    till = await start_till()
    unknown = NEWLAND_ADD.replace("ID_VENDOR_ID=1eab", "ID_VENDOR_ID=dead")
    keyboard_node = NEWLAND_ADD.replace("SUBSYSTEM=tty", "SUBSYSTEM=input")  # a scanner id, wrong kind of node
    no_ids = "\n".join(line for line in NEWLAND_ADD.splitlines() if not line.startswith("ID_"))
    till.replay.play(recorded(unknown + keyboard_node + no_ids + NEWLAND_REMOVE))
    assert till.handle.daemon.manager.devices() == []
    assert till.handle.daemon.hotplug is not None
    assert till.handle.daemon.hotplug.discovered == frozenset()


def _open_fds() -> dict[str, str]:
    """fd → what it is (file, pty, socket:[inode], …)."""
    fds = {}
    for fd in os.listdir("/proc/self/fd"):
        try:
            fds[fd] = os.readlink(f"/proc/self/fd/{fd}")
        except FileNotFoundError:  # the directory's own fd, closed by now
            continue
    return fds


async def test_storm_of_100_plug_unplug_cycles_leaks_no_tasks_or_fds(start_till: StartTill) -> None:
    """100 × (unplug + remove, plug + add): the same device comes back each time; nothing accumulates.

    Tasks are checked by the suite's leak check (every async test); file descriptors here.
    """
    till = await start_till()
    manager = till.handle.daemon.manager
    scanner = till.scanner(NEWLAND_LINK)
    add, remove = recorded(NEWLAND_ADD), recorded(NEWLAND_REMOVE)
    try:
        await scanner.start()
        till.replay.play(add)
        await until(lambda: till.state(NEWLAND_ID) == "ready")
        gc.collect()  # what earlier tests left for the collector must not count either way
        fds_before = _open_fds()
        for cycle in range(100):
            await scanner.stop()
            till.replay.play(remove)
            await until(lambda: till.state(NEWLAND_ID) == "offline")
            await scanner.start()
            till.replay.play(add)
            try:
                await until(lambda: till.state(NEWLAND_ID) == "ready")
            except TimeoutError:
                raise AssertionError(f"cycle {cycle}: {manager.get(NEWLAND_ID).describe()}") from None
        assert [d.device_id for d in manager.devices()] == [NEWLAND_ID]
        gc.collect()
        fds_after = _open_fds()
        # No more descriptors than before (numbers and pipe inodes may be reused differently).
        assert len(fds_after) <= len(fds_before), (
            sorted(set(fds_after.items()) - set(fds_before.items())),
            sorted(set(fds_before.items()) - set(fds_after.items())),
        )
        # The scanner still works after the storm.
        scans = await till.handle.events("topics=scanner.scan")
        await scanner.control({"action": "scan", "data": "ABC-123", "symbology": "CODE128"})
        assert (await scans.next("scanner.scan", NEWLAND_ID))["data"]["data"] == "ABC-123"
    finally:
        await scanner.stop()


async def test_real_udev_monitor_enumerates_present_devices_and_stops_cleanly() -> None:
    """The netlink source with the real libudev: what is already plugged in arrives as "add" through the same
    handler, and stopping releases the socket. (No udev daemon runs here, so no live event can be shown.)"""
    from daemon.hotplug import SUBSYSTEMS, UdevEvent, UdevMonitor

    fds_before = len(_open_fds())
    seen: list[UdevEvent] = []
    monitor = UdevMonitor()
    await monitor.start(seen.append)
    assert len(_open_fds()) > fds_before  # the netlink socket
    present = set(os.listdir("/sys/class/tty"))
    assert present, "this machine has tty devices in sysfs"
    assert {event.subsystem for event in seen} <= set(SUBSYSTEMS)
    assert {event.action for event in seen} == {"add"}
    tty_nodes = {Path(event.devname).name for event in seen if event.subsystem == "tty" and event.devname}
    assert tty_nodes <= present
    assert tty_nodes  # e.g. tty, ttyS0 …: every one with a device node was enumerated
    await monitor.stop()
    import gc

    gc.collect()  # libudev closes the socket when pyudev's monitor object is released
    assert len(_open_fds()) == fds_before
