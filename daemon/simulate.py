"""Simulate mode: start the simulators of the selected devices and describe the devices that reach them.

What runs is :attr:`daemon.config.LoadedConfig.simulated`: the ``[simulate]`` section or the command line's
selection, else :data:`drivers.simulated.DEFAULT_SIMULATED_DEVICES`. Every entry goes the same way: the registry's
spec, its simulator's ``create``, the simulator's transport as the device's transport, the driver's own options.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

from daemon.config import (
    DeviceConfig,
    LoadedConfig,
    ResolvedDevice,
    SimulateConfig,
    SimulatedDeviceConfig,
    driver_options,
    resolve_device,
    resolve_simulation,
)
from drivers.errors import ConfigError
from drivers.registry import DriverRegistry
from drivers.simulated import DEFAULT_SIMULATED_DEVICES, SimulatedDevice
from drivers.simulator import SimEnvironment, Simulator

_LOGGER = logging.getLogger(__name__)


def select_from_command_line(
    loaded: LoadedConfig, registry: DriverRegistry, drivers: Sequence[str], everything: bool
) -> None:
    """``--simulate-driver NAME`` (repeatable) or ``--simulate-all``: replaces the file's ``[simulate]`` selection."""
    if not drivers and not everything:
        return
    section = SimulateConfig(all=everything, devices=[SimulatedDeviceConfig(driver=name) for name in drivers])

    def locate(index: int, entry: SimulatedDeviceConfig, key: str) -> str:
        return "command line: --simulate-all" if everything else f"command line: --simulate-driver {entry.driver}"

    taken = {device.config.id for device in loaded.devices}
    loaded.simulated = resolve_simulation(section, registry, locate, taken)


async def start_simulators(
    registry: DriverRegistry, sim_dir: Path, devices: Iterable[SimulatedDevice] = DEFAULT_SIMULATED_DEVICES
) -> tuple[dict[str, Simulator], list[ResolvedDevice]]:
    """Start one simulator per entry; return them and the device configurations that reach them (in entry order)."""
    entries = list(devices)
    env = SimEnvironment(sim_dir=sim_dir)
    resolved: dict[str, ResolvedDevice] = {}
    try:
        # A device reached through another is built after it, whatever the listing order: its simulator hangs
        # on the other's (the drawer on the printer's kick connector).
        for entry in sorted(entries, key=lambda entry: entry.peer is not None):
            spec = registry.find(entry.driver)
            simulator_class = spec.simulator if spec is not None else None
            if spec is None or simulator_class is None:
                raise ConfigError(f"{entry.origin}: driver {entry.driver!r} has no simulator")
            env.options[entry.id] = driver_options(spec, entry.options, f"{entry.origin}.options")
            if entry.peer is not None:
                env.peers[entry.id] = entry.peer
            try:
                simulator = simulator_class.create(entry.id, env)
            except (ConfigError, ValueError) as err:
                # What only the simulator knows (a printer without a kick connector, one drawer per printer).
                raise ConfigError(f"{entry.origin}: {err}") from err
            env.simulators[entry.id] = simulator
            await simulator.start()
            config = DeviceConfig(
                id=entry.id,
                driver=entry.driver,
                name=entry.name,
                transport=simulator.transport_settings(),
                options=entry.options,
            )
            resolved[entry.id] = resolve_device(config, registry, entry.origin, simulated=True)
    except BaseException:
        await stop_simulators(env.simulators)
        raise
    _LOGGER.debug("simulating %s", ", ".join(f"{entry.id} ({entry.driver})" for entry in entries))
    return env.simulators, [resolved[entry.id] for entry in entries]


async def stop_simulators(simulators: dict[str, Simulator]) -> None:
    for simulator in reversed(list(simulators.values())):
        await simulator.stop()
