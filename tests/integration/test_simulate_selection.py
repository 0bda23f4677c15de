"""Simulate mode with a chosen set of devices: every simulatable driver at once, and a custom till.

Real drivers talk to their simulators over real ptys, hidraw/evdev-shaped ptys and TCP sockets; each kind does one
round trip through the sim API, the way a technician would try it.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import pytest

from daemon.config import SimulateConfig, SimulatedDeviceConfig, load_config, resolve_simulation
from daemon.service import Daemon
from daemon.simulate import start_simulators
from drivers.errors import ConfigError
from drivers.escpos.simulator import EscposSimulator
from drivers.registry import DriverRegistry
from drivers.toledo.simulator import ToledoPrixSimulator
from tests.conftest import EventStream, RunningDaemon, StartDaemon, until

pytestmark = pytest.mark.timeout(90)

REGISTRY = DriverRegistry.builtin()
SIMULATABLE = {spec.name for spec in REGISTRY.specs() if spec.simulator is not None}

EAN13 = "7891000315507"
RECEIPT = {"blocks": [{"type": "text", "text": "Simulated till"}, {"type": "row", "left": "Total", "right": "12,50"}]}


async def devices_by_id(handle: RunningDaemon) -> dict[str, dict[str, Any]]:
    return {d["id"]: d for d in (await handle.get("/api/v1/devices")).body["devices"]}


async def all_ready(handle: RunningDaemon) -> dict[str, dict[str, Any]]:
    devices = await devices_by_id(handle)
    stream = await handle.events("topics=device.state")
    await handle.wait_all_state(stream, devices, "ready", timeout=15)
    return await devices_by_id(handle)


async def scan_round_trip(handle: RunningDaemon, stream: EventStream, device: str) -> None:
    await handle.sim(device, action="scan", data=EAN13, symbology="EAN13")
    event = await stream.next("scanner.scan", device)
    assert (event["data"]["data"], event["data"]["symbology"]) == (EAN13, "EAN13"), (device, event)


async def weigh_round_trip(handle: RunningDaemon, stream: EventStream, device: str) -> None:
    await handle.sim(device, action="set", value="1.25", unit="kg", stable=True)
    event = await stream.next("scale.weight", device, lambda w: w["value"] == 1.25 and w["stable"])
    assert event["data"]["unit"] == "kg", (device, event)
    reading = await handle.get(f"/api/v1/scales/{device}/weight?stable=true&timeout_ms=3000")
    assert (reading.status, reading.body["weight"]["value"]) == (200, 1.25), (device, reading.body)


async def display_round_trip(handle: RunningDaemon, device: str) -> None:
    lines = ["Total", f"{device[:14]} 12,50"]
    assert (await handle.post(f"/api/v1/displays/{device}/text", {"lines": lines})).status == 200
    simulator = handle.daemon.simulators[device]
    await until(lambda: simulator.output()["lines"] == lines)  # the bytes may still be in the pty
    assert (await handle.get(f"/api/v1/sim/{device}/output")).body["lines"] == lines


async def print_round_trip(handle: RunningDaemon, stream: EventStream, device: str) -> None:
    accepted = await handle.post(f"/api/v1/printers/{device}/jobs", {"document": RECEIPT})
    assert accepted.status == 202, accepted.body
    job_id = accepted.body["job"]["id"]
    await stream.next("printer.job", device, lambda job: job["id"] == job_id and job["state"] == "done", timeout=10)
    output = (await handle.get(f"/api/v1/sim/{device}/output")).body
    assert "Simulated till" in output["lines"], output


async def drawer_round_trip(handle: RunningDaemon, stream: EventStream, device: str) -> None:
    opened = await handle.post(f"/api/v1/drawers/{device}/open", {"reason": "sale", "operator": "tester"})
    assert (opened.status, opened.body["opened"]) == (200, True), (device, opened.body)
    assert (await handle.get(f"/api/v1/sim/{device}/output")).body["opened"] is True
    await handle.sim(device, action="set", opened=False)
    await stream.next("drawer.status", device, lambda d: d == {"opened": False})


async def test_simulate_all_runs_every_simulatable_driver_and_each_kind_round_trips(
    start_daemon: StartDaemon,
) -> None:
    handle = await start_daemon("[simulate]\nall = true\n")
    devices = await all_ready(handle)
    assert {d["driver"] for d in devices.values()} == SIMULATABLE
    assert len(devices) == len(SIMULATABLE)
    assert all(d["simulated"] and d["state"] == "ready" for d in devices.values()), devices
    assert set(handle.daemon.simulators) == set(devices)
    health = await handle.get("/api/v1/health", token=None)
    assert health.body["devices"] == {"ready": len(SIMULATABLE), "total": len(SIMULATABLE)}

    by_kind: dict[str, list[str]] = {}
    for device in devices.values():
        by_kind.setdefault(device["kind"], []).append(device["id"])
    assert set(by_kind) == {"printer", "drawer", "scanner", "scale", "display"}
    # The drawer on the kick connector found the one simulated printer by itself.
    drawer = next(d for d in devices.values() if d["driver"] == "escpos-drawer")
    printer = next(d for d in devices.values() if d["driver"] == "escpos")
    assert drawer["transport"] == {"type": "printer", "device": printer["id"]}

    stream = await handle.events("topics=scanner.scan,scale.weight,printer.job,drawer.status")
    for device_id in by_kind["scanner"]:
        await scan_round_trip(handle, stream, device_id)
    for device_id in by_kind["scale"]:
        await weigh_round_trip(handle, stream, device_id)
    for device_id in by_kind["display"]:
        await display_round_trip(handle, device_id)
    for device_id in by_kind["printer"]:
        # Not the default set's printer model: the driver's default profile, which the simulator plays too.
        simulator = handle.daemon.simulators[device_id]
        assert isinstance(simulator, EscposSimulator)
        assert simulator.profile.name == "TM-T20II"
        await print_round_trip(handle, stream, device_id)
    for device_id in by_kind["drawer"]:
        await drawer_round_trip(handle, stream, device_id)


TILL = """
[[simulate.devices]]
driver = "escpos"
id = "front"
options = { profile = "TM-T88V", status = "asb" }

[[simulate.devices]]
driver = "escpos-drawer"
peer = "kitchen"
options = { pin = 5, open_when_pin3 = "low" }

[[simulate.devices]]
driver = "escpos"
id = "kitchen"
name = "Kitchen printer"
options = { profile = "POS-5890" }

[[simulate.devices]]
driver = "filizola"

[[simulate.devices]]
driver = "toledo-prix"
options = { variant = "A" }

[[simulate.devices]]
driver = "logic-controls"
options = { encoding = "cp850" }

[[simulate.devices]]
driver = "hidpos-scanner"

[[simulate.devices]]
driver = "wedge-scanner"
options = { layout = "de" }
"""


async def test_selected_till_gets_its_ids_options_and_peers(start_daemon: StartDaemon) -> None:
    handle = await start_daemon(TILL)
    devices = await all_ready(handle)
    # Listed in the order given; ids numbered per kind where none is named.
    assert list(devices) == [
        "front",
        "drawer-1",
        "kitchen",
        "scale-1",
        "scale-2",
        "display-1",
        "scanner-1",
        "scanner-2",
    ]
    assert (devices["scale-1"]["driver"], devices["scale-2"]["driver"]) == ("filizola", "toledo-prix")
    assert devices["kitchen"]["name"] == "Kitchen printer"
    assert devices["drawer-1"]["transport"] == {"type": "printer", "device": "kitchen"}

    # Each simulator plays the model its driver is set up for.
    simulators = handle.daemon.simulators
    front, kitchen = simulators["front"], simulators["kitchen"]
    assert isinstance(front, EscposSimulator)
    assert isinstance(kitchen, EscposSimulator)
    assert (front.profile.name, kitchen.profile.name) == ("TM-T88V", "POS-5890")
    assert kitchen.drawer_pin == 5
    drawer = (await handle.get("/api/v1/devices/drawer-1")).body["device"]
    assert drawer["status"]["opened"] is False  # pin 3 reads high: closed, for a drawer wired low-when-open
    prix = simulators["scale-2"]
    assert isinstance(prix, ToledoPrixSimulator)
    assert prix.reply_protocol == "A"
    assert simulators["scanner-2"].output()["layout"].startswith("de")

    stream = await handle.events("topics=scanner.scan,scale.weight,printer.job,drawer.status")
    await print_round_trip(handle, stream, "kitchen")
    await drawer_round_trip(handle, stream, "drawer-1")
    assert (kitchen.kicks, front.kicks) == (1, 0)  # the kick went to the printer the drawer hangs on
    await weigh_round_trip(handle, stream, "scale-2")  # Prix protocol A on both sides
    await display_round_trip(handle, "display-1")
    await scan_round_trip(handle, stream, "scanner-1")
    # Typed on a German keyboard (Y and Z swapped) and decoded with the same layout.
    await handle.sim("scanner-2", action="scan", data="ZY-123", symbology="CODE128")
    event = await stream.next("scanner.scan", "scanner-2")
    assert event["data"]["data"] == "ZY-123"


async def test_no_selection_is_the_default_five(start_daemon: StartDaemon) -> None:
    handle = await start_daemon()
    devices = await all_ready(handle)
    assert {d["id"]: d["driver"] for d in devices.values()} == {
        "printer-1": "escpos",
        "drawer-1": "escpos-drawer",
        "scanner-1": "serial-scanner",
        "scale-1": "toledo-8217",
        "display-1": "cd5220",
    }


async def test_what_only_the_simulator_knows_is_a_config_error_and_nothing_stays_up(tmp_path: Path) -> None:
    section = SimulateConfig(
        devices=[
            SimulatedDeviceConfig(driver="filizola"),
            SimulatedDeviceConfig(driver="escpos"),
            SimulatedDeviceConfig(driver="escpos-drawer"),
            SimulatedDeviceConfig(driver="escpos-drawer"),  # a second drawer on printer-1's one sensor input
        ]
    )
    plan = resolve_simulation(section, REGISTRY, lambda index, entry, key: f"posd.toml: simulate.devices[{index}]")
    with pytest.raises(ConfigError) as caught:
        await start_simulators(REGISTRY, tmp_path / "sim", plan)
    assert str(caught.value) == (
        "posd.toml: simulate.devices[3]: printer 'printer-1' already has a simulated drawer (drawer-1)"
    )
    # The simulators started before the failure were stopped again: the scale's pty link is gone.
    assert not (tmp_path / "sim" / "scale-1").exists()


async def test_a_start_that_fails_stops_what_it_had_started(tmp_path: Path) -> None:
    # A configured device whose id a simulated one takes: the daemon refuses to start, and leaves no
    # database thread, simulator or task behind (the leak check of every async test sees threads and tasks).
    config = tmp_path / "posd.toml"
    config.write_text(
        f'state_dir = "{tmp_path / "state"}"\n'
        '[[devices]]\nid = "scanner-1"\ndriver = "serial-scanner"\n'
        f'transport = {{ type = "serial", port = "{tmp_path / "tty"}" }}\n'
    )
    daemon = Daemon(load_config(config, REGISTRY, env={}, overrides={"server": {"port": 0}}), REGISTRY, simulate=True)
    with pytest.raises(ConfigError, match=r"scanner-1.*clash"):
        await daemon.start()
    assert not (tmp_path / "state" / "sim" / "printer-1").exists()  # the simulators were stopped again
    # Checked while the daemon object lives: its executors' threads would otherwise end when it is collected.
    assert not [thread.name for thread in threading.enumerate() if thread.name.startswith("sqlite-")]
    assert daemon.log_ring not in logging.getLogger().handlers


async def test_a_simulated_serial_drawer_speaks_the_command_set_its_driver_is_set_to(start_daemon: StartDaemon) -> None:
    handle = await start_daemon(
        """
[[simulate.devices]]
driver = "serial-drawer"
options = { open_command = "1b700019fa", status_command = "1d7201", open_mask = 1, open_when = "clear", poll_s = 0.05 }
"""
    )
    devices = await all_ready(handle)
    assert devices["drawer-1"]["status"] == {"opened": False}  # bit 0 set in the reply: closed, as configured
    stream = await handle.events("topics=drawer.status")
    await drawer_round_trip(handle, stream, "drawer-1")  # five-byte open command, three-byte status request
    assert (await handle.get("/api/v1/sim/drawer-1/output")).body["kicks"] == 1
