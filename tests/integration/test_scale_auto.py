"""scale-auto: the protocol is found by probing the line, then driven like a configured one."""

from __future__ import annotations

import os
import tty
from pathlib import Path

import pytest

from drivers.registry import DriverRegistry
from drivers.scale_simulator import ScaleSimulator
from tests.conftest import StartDaemon
from tests.integration.scale_rig import DEVICE, start_rig

pytestmark = pytest.mark.timeout(60)

#: Simulator of driver → the protocol scale-auto adopts (Filizola speaks Prix B; Adam MDW speaks NCI).
FOUND = {
    "toledo-continuous": "toledo-continuous",
    "mt-sics": "mt-sics",
    "toledo-8217": "toledo-8217",
    "nci": "nci",
    "adam-mdw": "nci",
    "toledo-prix": "toledo-prix",
    "filizola": "toledo-prix",
    "urano": "urano",
    "cas-dc1": "cas-dc1",
    "cas-dc2": "cas-dc2",
}


def simulator_of(driver: str) -> type[ScaleSimulator]:
    spec = DriverRegistry.builtin().find(driver)
    assert spec is not None
    assert spec.simulator is not None
    assert issubclass(spec.simulator, ScaleSimulator)
    return spec.simulator


@pytest.mark.parametrize(("simulated", "protocol"), FOUND.items())
async def test_the_protocol_is_found_and_driven(
    start_daemon: StartDaemon, tmp_path: Path, simulated: str, protocol: str
) -> None:
    rig = await start_rig(
        start_daemon, tmp_path / "sim", "scale-auto", simulator_of(simulated), "probe_timeout_s = 0.25"
    )
    try:
        assert (await rig.device())["status"]["protocol"] == protocol
        weight = "1.24" if simulated == "urano" else "1.235"
        await rig.sim.control({"action": "set", "value": weight, "unit": "kg", "stable": True})
        event = await rig.next_weight(lambda w: w["value"] == float(weight))
        assert event["status"] == "stable"
        reading = await rig.handle.get(rig.weight_path + "?stable=true&timeout_ms=3000")
        assert reading.body["weight"] == event
        assert rig.sim.tare == 0  # probing sends read requests only, never tare
    finally:
        await rig.sim.stop()


async def test_a_line_nobody_answers_on_goes_offline_with_the_reason(start_daemon: StartDaemon, tmp_path: Path) -> None:
    # A pty with no simulator behind it: every probe times out.
    master, slave = os.openpty()
    tty.setraw(master)
    tty.setraw(slave)
    try:
        config = f"""
[[devices]]
id = "{DEVICE}"
driver = "scale-auto"
transport = {{ type = "serial", port = "{os.ttyname(slave)}", baudrate = 9600, bytesize = 8, parity = "N" }}
options = {{ probe_timeout_s = 0.05 }}
"""
        handle = await start_daemon(config, simulate=False)
        events = await handle.events(f"since=0&topics=device.state&devices={DEVICE}")
        offline = await events.next("device.state", DEVICE, lambda d: d["state"] == "offline", timeout=10)
        assert "no known scale protocol answered" in offline["data"]["reason"]
        weight = await handle.get(f"/api/v1/scales/{DEVICE}/weight?stable=false")
        assert (weight.status, weight.body["code"]) == (503, "device_offline")
    finally:
        os.close(master)
        os.close(slave)
