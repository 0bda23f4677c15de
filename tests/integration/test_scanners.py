"""Scanners end to end: the real daemon and drivers, simulators typing through the same path a real device does.

Keyboard wedge: the simulator writes ``struct input_event`` records for its layout on a pty that the
driver opens as its event node. HID POS: 64-byte reports on a pty opened as the hidraw node. Serial:
CR-terminated lines on a pty opened as the serial port.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from daemon.config import load_config
from drivers.errors import ConfigError, TransportClosed
from drivers.hidpos.codec import encode_reports
from drivers.hidpos.simulator import HidPosScannerSimulator
from drivers.registry import DriverRegistry
from drivers.serial_scanner.simulator import SerialScannerSimulator
from drivers.simulator import SimEnvironment, Simulator
from drivers.transports import EvdevSettings, EvdevTransport
from drivers.transports.evdev import EVIOCGRAB
from drivers.wedge.codec import InputEvent
from drivers.wedge.driver import WedgeScanner
from drivers.wedge.simulator import WedgeScannerSimulator
from tests.codecs._keyboard import Keys
from tests.conftest import EventStream, RunningDaemon, StartDaemon

pytestmark = pytest.mark.timeout(60)

GS = "\x1d"
GTIN14 = "04006381333931"


def toml_value(value: Any) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)


@dataclass
class Rig:
    daemon: RunningDaemon
    simulators: dict[str, Simulator]
    stream: EventStream

    async def scan(self, device: str, **control: Any) -> dict[str, Any]:
        await self.simulators[device].control({"action": "scan", **control})
        event = await self.stream.next("scanner.scan", device)
        return event["data"]  # type: ignore[no-any-return]


RigFactory = Callable[..., Awaitable[Rig]]


@pytest.fixture
async def rig(start_daemon: StartDaemon, tmp_path: Path) -> AsyncIterator[RigFactory]:
    """Start scanner simulators and a daemon configured for them: ``await rig({id: (driver, sim, options)})``."""
    started: list[Simulator] = []

    async def make(devices: dict[str, tuple[str, Simulator, dict[str, Any]]]) -> Rig:
        config = ""
        for device_id, (driver, simulator, options) in devices.items():
            await simulator.start()
            started.append(simulator)
            transport = simulator.transport_settings().model_dump()
            config += f'[[devices]]\nid = "{device_id}"\ndriver = "{driver}"\ntransport = {toml_value(transport)}\n'
            if options:
                config += f"options = {toml_value(options)}\n"
        daemon = await start_daemon(config, simulate=False)
        stream = await daemon.events("topics=scanner.scan,device.state")
        for device_id in devices:
            await daemon.wait_state(stream, device_id, "ready")
        return Rig(daemon, {device_id: sim for device_id, (_, sim, _) in devices.items()}, stream)

    yield make
    for simulator in started:
        await simulator.stop()


def env(tmp_path: Path) -> SimEnvironment:
    return SimEnvironment(sim_dir=tmp_path / "sim")


async def three_scanners(rig: RigFactory, tmp_path: Path, layout: str = "fr", variant: str = "") -> Rig:
    wedge = WedgeScannerSimulator.create("wedge-1", env(tmp_path))
    await wedge.control({"action": "layout", "layout": layout, "variant": variant})
    wedge.send_aim = True
    return await rig(
        {
            "wedge-1": ("wedge-scanner", wedge, {"layout": layout, "variant": variant}),
            "hid-1": ("hidpos-scanner", HidPosScannerSimulator.create("hid-1", env(tmp_path)), {}),
            "serial-1": ("serial-scanner", SerialScannerSimulator.create("serial-1", env(tmp_path)), {}),
        }
    )


# What each symbology sends and must come out as: (data, symbology sent, data out, symbology out, gs1).
SCANS = [
    ("7891000315507", "EAN13", "7891000315507", "EAN13", None),
    ("96385074", "EAN8", "96385074", "EAN8", None),
    ("036000291452", "UPCA", "036000291452", "UPCA", None),
    ("ABC-123/xyz", "CODE128", "ABC-123/xyz", "CODE128", None),
    (
        f"01{GTIN14}3103000750" + f"10LOT-7{GS}17261231" + "21SN42",
        "GS1_128",
        f"01{GTIN14}3103000750" + f"10LOT-7{GS}17261231" + "21SN42",
        "GS1_128",
        {"01": GTIN14, "3103": "000750", "10": "LOT-7", "17": "261231", "21": "SN42"},
    ),
    ("https://example.com/p?id=42", "QR", "https://example.com/p?id=42", "QR", None),
    (
        f"01{GTIN14}10ABC{GS}17251231",
        "GS1_QR",
        f"01{GTIN14}10ABC{GS}17251231",
        "GS1_QR",
        {"01": GTIN14, "10": "ABC", "17": "251231"},
    ),
]


async def test_every_scanner_kind_reports_symbology_label_and_gs1_fields(rig: RigFactory, tmp_path: Path) -> None:
    setup = await three_scanners(rig, tmp_path)
    for device in ("wedge-1", "hid-1", "serial-1"):
        for sent, symbology, data, symbology_out, gs1 in SCANS:
            event = await setup.scan(device, data=sent, symbology=symbology)
            aim = {"EAN13": "]E0", "EAN8": "]E4", "UPCA": "]E0", "CODE128": "]C0", "GS1_128": "]C1"}.get(
                symbology, {"QR": "]Q1", "GS1_QR": "]Q3"}.get(symbology)
            )
            assert aim is not None, symbology
            raw = aim + ("0" + sent if symbology == "UPCA" else sent)
            assert event == {"data": data, "symbology": symbology_out, "aim": aim, "raw": raw, "gs1": gs1}, device
        stats = (await setup.daemon.get(f"/api/v1/devices/{device}")).body["device"]["stats"]
        assert stats["GoodScanCount"] == len(SCANS)


@pytest.mark.parametrize(("layout", "variant"), [("us", ""), ("br", "abnt2"), ("de", ""), ("es", "")])
async def test_wedge_scanner_on_each_layout(rig: RigFactory, tmp_path: Path, layout: str, variant: str) -> None:
    wedge = WedgeScannerSimulator.create("wedge-1", env(tmp_path))
    await wedge.control({"action": "layout", "layout": layout, "variant": variant})
    setup = await rig({"wedge-1": ("wedge-scanner", wedge, {"layout": layout, "variant": variant})})
    text = "Ab-9/?_@#[]{}~^`'\"" + {"br": "ção", "de": "äß", "es": "ñ¿"}.get(layout, "")
    event = await setup.scan("wedge-1", data=text)
    assert (event["data"], event["raw"], event["symbology"]) == (text, text, "UNKNOWN")


async def test_two_scans_50_ms_apart_stay_two_events(rig: RigFactory, tmp_path: Path) -> None:
    wedge = WedgeScannerSimulator.create("wedge-1", env(tmp_path))
    serial = SerialScannerSimulator.create("serial-1", env(tmp_path))
    setup = await rig(
        {
            "wedge-1": ("wedge-scanner", wedge, {"gap_ms": 30}),
            "serial-1": ("serial-scanner", serial, {}),
        }
    )
    # The second scan's keys start 50 ms after the first scan's Enter, and both reach the driver in one read.
    first = wedge.scan_events("4006381333931")
    second = wedge.typist.type("96385074", first[-1].time + 0.050, enter=True)
    wedge.send_events(first + second)
    assert (await setup.stream.next("scanner.scan", "wedge-1"))["data"]["data"] == "4006381333931"
    assert (await setup.stream.next("scanner.scan", "wedge-1"))["data"]["data"] == "96385074"
    # Serial: two labels back to back in one write.
    serial.send(serial.frame("4006381333931", "EAN13") + serial.frame("96385074", "EAN8"))
    assert (await setup.stream.next("scanner.scan", "serial-1"))["data"]["data"] == "4006381333931"
    assert (await setup.stream.next("scanner.scan", "serial-1"))["data"]["data"] == "96385074"


async def test_wedge_node_disappears_and_comes_back(rig: RigFactory, tmp_path: Path) -> None:
    setup = await rig({"wedge-1": ("wedge-scanner", WedgeScannerSimulator.create("wedge-1", env(tmp_path)), {})})
    await setup.simulators["wedge-1"].control({"action": "unplug"})
    offline = await setup.stream.next("device.state", "wedge-1", lambda d: d["state"] == "offline")
    assert "retry in" in offline["data"]["reason"]
    await setup.simulators["wedge-1"].control({"action": "plug"})
    await setup.daemon.post("/api/v1/devices/wedge-1/reconnect")
    await setup.stream.next("device.state", "wedge-1", lambda d: d["state"] == "ready")
    assert (await setup.scan("wedge-1", data="5901234123457"))["symbology"] == "EAN13"


async def test_wedge_scanner_with_two_event_nodes(rig: RigFactory, tmp_path: Path) -> None:
    wedge = WedgeScannerSimulator.with_nodes("wedge-1", env(tmp_path), 2)
    setup = await rig({"wedge-1": ("wedge-scanner", wedge, {})})
    device = (await setup.daemon.get("/api/v1/devices/wedge-1")).body["device"]
    assert len(device["transport"]["paths"]) == 2
    wedge.send_events(wedge.scan_events("12345"), node=1)
    assert (await setup.stream.next("scanner.scan", "wedge-1"))["data"]["data"] == "12345"
    wedge.send_events(wedge.scan_events("678"), node=0)
    assert (await setup.stream.next("scanner.scan", "wedge-1"))["data"]["data"] == "678"


async def test_unmappable_key_is_reported_and_the_next_scan_decodes(rig: RigFactory, tmp_path: Path) -> None:
    wedge = WedgeScannerSimulator.create("wedge-1", env(tmp_path))
    setup = await rig({"wedge-1": ("wedge-scanner", wedge, {})})
    await wedge.control({"action": "keys", "codes": [2, 0x2FF, 3, 28]})  # 1, (nothing), 2, Enter
    state = await setup.stream.next("device.state", "wedge-1", lambda d: "reason" in d)
    assert state["data"]["state"] == "ready"
    assert "key 767" in state["data"]["reason"]
    assert (await setup.scan("wedge-1", data="96385074"))["symbology"] == "EAN8"
    # The good scan clears the reason.
    await setup.stream.next("device.state", "wedge-1", lambda d: d == {"state": "ready"})
    stats = (await setup.daemon.get("/api/v1/devices/wedge-1")).body["device"]["stats"]
    assert (stats["GoodScanCount"], stats["CommunicationErrorCount"]) == (1, 1)


async def test_scan_without_terminator_is_dropped_and_reported(rig: RigFactory, tmp_path: Path) -> None:
    wedge = WedgeScannerSimulator.create("wedge-1", env(tmp_path))
    serial = SerialScannerSimulator.create("serial-1", env(tmp_path))
    setup = await rig(
        {
            "wedge-1": ("wedge-scanner", wedge, {"incomplete_timeout_s": 0.2}),
            "serial-1": ("serial-scanner", serial, {"incomplete_timeout_s": 0.2}),
        }
    )
    await wedge.control({"action": "type", "text": "12345"})
    state = await setup.stream.next("device.state", "wedge-1", lambda d: "reason" in d)
    assert "'12345'" in state["data"]["reason"]
    assert "no end of scan" in state["data"]["reason"]
    assert (await setup.scan("wedge-1", data="4006381333931"))["data"] == "4006381333931"
    # Garbage on the serial line: dropped and reported, the next scan decodes.
    await serial.control({"action": "noise", "hex": "ff00fe"})
    state = await setup.stream.next("device.state", "serial-1", lambda d: "reason" in d)
    assert "no terminator" in state["data"]["reason"]
    assert (await setup.scan("serial-1", data="4006381333931", symbology="EAN13"))["symbology"] == "EAN13"


async def test_hid_multi_report_qr_is_one_scan(rig: RigFactory, tmp_path: Path) -> None:
    hid = HidPosScannerSimulator.create("hid-1", env(tmp_path))
    setup = await rig({"hid-1": ("hidpos-scanner", hid, {})})
    url = "https://example.com/" + "x" * 200
    result = await hid.control({"action": "scan", "data": url, "symbology": "QR"})
    assert result["reports"] == 4
    event = (await setup.stream.next("scanner.scan", "hid-1"))["data"]
    assert (event["data"], event["symbology"], event["aim"]) == (url, "QR", "]Q1")


async def test_hid_scan_whose_last_report_never_comes_is_dropped_and_reported(rig: RigFactory, tmp_path: Path) -> None:
    hid = HidPosScannerSimulator.create("hid-1", env(tmp_path))
    setup = await rig({"hid-1": ("hidpos-scanner", hid, {"incomplete_timeout_s": 0.2})})
    first, *_ = encode_reports(b"]Q1", b"y" * 150)
    await hid.control({"action": "report", "hex": first.hex()})
    state = await setup.stream.next("device.state", "hid-1", lambda d: "reason" in d)
    assert "did not arrive" in state["data"]["reason"]
    # The scanner keeps working: the next whole scan decodes.
    assert (await setup.scan("hid-1", data="4006381333931", symbology="EAN13"))["symbology"] == "EAN13"


async def test_bad_check_digit_is_reported_as_unknown(rig: RigFactory, tmp_path: Path) -> None:
    setup = await rig({"serial-1": ("serial-scanner", SerialScannerSimulator.create("serial-1", env(tmp_path)), {})})
    event = await setup.scan("serial-1", data="7891000315508", symbology="EAN13")
    assert event == {
        "data": "7891000315508",
        "symbology": "UNKNOWN",
        "aim": "]E0",
        "raw": "]E07891000315508",
        "gs1": None,
    }


async def test_serial_frames_whole_split_and_byte_by_byte(rig: RigFactory, tmp_path: Path) -> None:
    serial = SerialScannerSimulator.create("serial-1", env(tmp_path))
    setup = await rig({"serial-1": ("serial-scanner", serial, {"suffix": "CRLF"})})
    serial.suffix = b"\r\n"
    labels = [("4006381333931", "EAN13"), ("ABC-1", "CODE128"), ("96385074", "EAN8")]
    stream = b"".join(serial.frame(data, symbology) for data, symbology in labels)
    for pieces in ([stream], [stream[:7], stream[7:30], stream[30:]], [stream[i : i + 1] for i in range(len(stream))]):
        for piece in pieces:
            serial.send(piece)
        for data, symbology in labels:
            event = (await setup.stream.next("scanner.scan", "serial-1"))["data"]
            assert (event["data"], event["symbology"]) == (data, symbology)


def test_unknown_layout_is_a_config_error_naming_it(tmp_path: Path) -> None:
    config = tmp_path / "posd.toml"
    config.write_text(
        '[[devices]]\nid = "wedge-1"\ndriver = "wedge-scanner"\n'
        'transport = { type = "evdev", paths = ["/dev/input/event3"] }\n'
        'options = { layout = "fr", variant = "azerty-nope" }\n'
    )
    with pytest.raises(ConfigError) as caught:
        load_config(config, DriverRegistry.builtin(), env={})
    message = str(caught.value)
    assert "devices[0] (id 'wedge-1').options.variant" in message
    assert "fr(azerty-nope)" in message
    config.write_text(config.read_text().replace('layout = "fr", variant = "azerty-nope"', 'layout = "klingon"'))
    with pytest.raises(ConfigError, match=r"options\.layout: .*'klingon'"):
        load_config(config, DriverRegistry.builtin(), env={})


def test_evdev_grab_request_number() -> None:
    # linux/input.h: #define EVIOCGRAB _IOW('E', 0x90, int) → dir 1 (write) << 30 | size 4 << 16 | 'E' << 8 | 0x90.
    assert EVIOCGRAB == 0x40044590


async def test_evdev_transport_grabs_real_nodes_and_says_why_it_cannot(tmp_path: Path) -> None:
    # /dev/null is a character device like /dev/input/eventN, but refuses the EVIOCGRAB ioctl: the open fails,
    # naming the node, instead of silently reading without exclusivity.
    transport = EvdevTransport(EvdevSettings(paths=["/dev/null"]))
    with pytest.raises(TransportClosed, match=r"/dev/null.*(ioctl|tty)"):
        await transport.open()
    assert not transport.is_open
    missing = EvdevTransport(EvdevSettings(paths=[str(tmp_path / "event9")]))
    with pytest.raises(TransportClosed, match="event9"):
        await missing.open()
    # grab = false (a simulator's pty): no ioctl at all.
    master, slave = os.openpty()
    try:
        no_grab = EvdevTransport(EvdevSettings(paths=[os.ttyname(slave)], grab=False))
        await no_grab.open()
        assert no_grab.is_open
        await no_grab.close()
    finally:
        os.close(master)
        os.close(slave)


async def test_the_wedge_read_loop_consumes_recorded_event_sequences(rig: RigFactory, tmp_path: Path) -> None:
    # The driver's read loop takes any async iterator of event batches: here a recording, played into the
    # running daemon's driver (its events reach the real bus and this WebSocket client).
    wedge = WedgeScannerSimulator.create("wedge-1", env(tmp_path))
    setup = await rig({"wedge-1": ("wedge-scanner", wedge, {"incomplete_timeout_s": 0.2})})
    driver = setup.daemon.daemon.manager.get("wedge-1").driver
    assert isinstance(driver, WedgeScanner)
    keys = Keys()
    for code in (2, 3, 4):  # 1 2 3
        keys.tap(code)
    keys.enter()
    recording = keys.events
    resume = asyncio.Event()

    async def play() -> AsyncIterator[list[InputEvent]]:
        yield recording[:5]  # a scan split across reads …
        yield recording[5:]
        yield Keys().tap(30).events  # … then "a" with no Enter, and the device goes quiet
        await resume.wait()
        yield Keys().tap(48).enter().events

    consumer = asyncio.create_task(driver.consume(play()))
    assert (await setup.stream.next("scanner.scan", "wedge-1"))["data"]["data"] == "123"
    state = await setup.stream.next("device.state", "wedge-1", lambda d: "reason" in d)
    assert "'a'" in state["data"]["reason"]  # dropped after incomplete_timeout_s, while the source stays open
    resume.set()
    assert (await setup.stream.next("scanner.scan", "wedge-1"))["data"]["data"] == "b"
    await asyncio.wait_for(consumer, 5.0)  # the recording ended: the loop returns (device lost)
