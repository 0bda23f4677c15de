"""A scale simulator on a real pty (or hidraw stand-in) and the real daemon configured to drive it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drivers.registry import DriverRegistry
from drivers.scale_simulator import ScaleSimulator
from drivers.simulator import SimEnvironment
from drivers.transports import HidrawSettings, SerialSettings
from tests.conftest import EventStream, RunningDaemon, StartDaemon

DEVICE = "scale-x"


@dataclass
class ScaleRig:
    handle: RunningDaemon
    sim: ScaleSimulator
    events: EventStream

    @property
    def weight_path(self) -> str:
        return f"/api/v1/scales/{DEVICE}/weight"

    async def next_weight(self, where: Callable[[dict[str, Any]], bool], timeout: float = 5.0) -> dict[str, Any]:
        event = await self.events.next("scale.weight", DEVICE, where, timeout)
        data: dict[str, Any] = event["data"]
        return data

    async def device(self) -> dict[str, Any]:
        response = await self.handle.get(f"/api/v1/devices/{DEVICE}")
        assert response.status == 200, response.body
        device: dict[str, Any] = response.body["device"]
        return device


def transport_toml(settings: SerialSettings | HidrawSettings) -> str:
    if isinstance(settings, HidrawSettings):
        return f'{{ type = "hid", path = "{settings.path}", report_size = {settings.report_size} }}'
    # Every line key explicit: a pty is 8N1 whatever the protocol's own default is.
    return (
        f'{{ type = "serial", port = "{settings.port}", baudrate = {settings.baudrate}, '
        f'bytesize = {settings.bytesize}, parity = "{settings.parity}" }}'
    )


async def start_rig(
    start_daemon: StartDaemon,
    sim_dir: Path,
    driver: str,
    simulator: type[ScaleSimulator] | None = None,
    options: str = "",
) -> ScaleRig:
    """Start ``simulator`` (default: the driver's own) and a daemon whose one device is ``driver`` on it.

    The caller stops the simulator (``rig.sim.stop()``) after the test; the daemon stops with its fixture.
    """
    spec = DriverRegistry.builtin().find(driver)
    assert spec is not None, driver
    if "poll_interval_s" in spec.driver.Options.model_fields and "poll_interval_s" not in options:
        # Tests poll fast (a till polls every 0.1 s); it only shortens the waits, the protocol is the same.
        options = ", ".join(part for part in (options, "poll_interval_s = 0.02") if part)
    sim_class = simulator or spec.simulator
    assert sim_class is not None
    assert issubclass(sim_class, ScaleSimulator)
    sim = sim_class.create(DEVICE, SimEnvironment(sim_dir))
    assert isinstance(sim, ScaleSimulator)
    await sim.start()
    try:
        settings = sim.transport_settings()
        assert isinstance(settings, SerialSettings | HidrawSettings)
        config = f"""
[[devices]]
id = "{DEVICE}"
driver = "{driver}"
transport = {transport_toml(settings)}
options = {{ {options} }}
"""
        handle = await start_daemon(config, simulate=False)
        events = await handle.events(f"since=0&topics=scale.weight,device.state&devices={DEVICE}")
        await handle.wait_state(events, DEVICE, "ready")
    except BaseException:
        await sim.stop()
        raise
    return ScaleRig(handle, sim, events)
