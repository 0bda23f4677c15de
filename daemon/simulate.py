"""Simulate mode: start the simulators of :data:`drivers.simulated.SIMULATED_DEVICES` and describe their devices."""

from __future__ import annotations

from pathlib import Path

from daemon.config import DeviceConfig, ResolvedDevice, resolve_device
from drivers.errors import ConfigError
from drivers.registry import DriverRegistry
from drivers.simulated import SIMULATED_DEVICES, SimulatedDevice
from drivers.simulator import SimEnvironment, Simulator


async def start_simulators(
    registry: DriverRegistry, sim_dir: Path, devices: tuple[SimulatedDevice, ...] = SIMULATED_DEVICES
) -> tuple[dict[str, Simulator], list[ResolvedDevice]]:
    """Start one simulator per entry; return them and the device configurations that reach them."""
    env = SimEnvironment(sim_dir=sim_dir)
    resolved: list[ResolvedDevice] = []
    try:
        for entry in devices:
            spec = registry.find(entry.driver)
            if spec is None or spec.simulator is None:
                raise ConfigError(f"simulated device {entry.id}: driver {entry.driver!r} has no simulator")
            simulator = spec.simulator.create(entry.id, env)
            env.simulators[entry.id] = simulator
            await simulator.start()
            config = DeviceConfig(
                id=entry.id,
                driver=entry.driver,
                name=entry.name,
                transport=simulator.transport_settings(),
                options=entry.options,
            )
            resolved.append(resolve_device(config, registry, f"simulated device {entry.id}", simulated=True))
    except BaseException:
        await stop_simulators(env.simulators)
        raise
    return env.simulators, resolved


async def stop_simulators(simulators: dict[str, Simulator]) -> None:
    for simulator in reversed(list(simulators.values())):
        await simulator.stop()
