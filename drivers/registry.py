"""The one explicit driver registry.

Built-in drivers are listed in :data:`BUILTIN_DRIVERS` below; third-party packages add theirs through the
``posd.drivers`` entry-point group, whose entries point at a :class:`DriverSpec` or at a callable returning
a list of them. Nothing registers itself by being imported.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points

from drivers.base import Driver
from drivers.cd5220.driver import Cd5220Display
from drivers.cd5220.simulator import Cd5220Simulator
from drivers.epson_dmd.driver import EpsonDmdDisplay
from drivers.epson_dmd.simulator import EpsonDmdSimulator
from drivers.errors import ConfigError
from drivers.escpos.drawer import EscposDrawer
from drivers.escpos.driver import EscposPrinter
from drivers.escpos.simulator import EscposDrawerSimulator, EscposSimulator
from drivers.hidpos.driver import HidPosScanner
from drivers.hidpos.simulator import HidPosScannerSimulator
from drivers.logic_controls.driver import LogicControlsDisplay
from drivers.logic_controls.simulator import LogicControlsSimulator
from drivers.serial_drawer.driver import SerialDrawer
from drivers.serial_drawer.simulator import SerialDrawerSimulator
from drivers.serial_scanner.driver import SerialScanner
from drivers.serial_scanner.simulator import SerialScannerSimulator
from drivers.simulator import Simulator
from drivers.toledo.driver import Toledo8217Scale
from drivers.toledo.simulator import Toledo8217Simulator
from drivers.wedge.driver import WedgeScanner
from drivers.wedge.simulator import WedgeScannerSimulator

_LOGGER = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "posd.drivers"


@dataclass(frozen=True)
class DriverSpec:
    name: str
    driver: type[Driver]
    description: str
    simulator: type[Simulator] | None = None
    peer_transport: bool = False
    """True for devices reached through another device (a drawer on a printer's kick connector)."""


BUILTIN_DRIVERS: tuple[DriverSpec, ...] = (
    DriverSpec("escpos", EscposPrinter, "ESC/POS receipt printer (Epson and compatibles)", EscposSimulator),
    DriverSpec(
        "escpos-drawer",
        EscposDrawer,
        "Cash drawer on an ESC/POS printer's kick connector, sensed through pin 3",
        EscposDrawerSimulator,
        peer_transport=True,
    ),
    DriverSpec("serial-scanner", SerialScanner, "Serial / USB CDC-ACM barcode scanner", SerialScannerSimulator),
    DriverSpec(
        "wedge-scanner",
        WedgeScanner,
        "Keyboard-wedge (USB keyboard) barcode scanner over evdev, decoded with its keyboard layout",
        WedgeScannerSimulator,
    ),
    DriverSpec("hidpos-scanner", HidPosScanner, "USB HID POS barcode scanner over hidraw", HidPosScannerSimulator),
    DriverSpec("toledo-8217", Toledo8217Scale, "Mettler Toledo 8213/8217 (SCP) scale", Toledo8217Simulator),
    DriverSpec("cd5220", Cd5220Display, "CD5220-compatible 2x20 customer display", Cd5220Simulator),
    DriverSpec("epson-dmd", EpsonDmdDisplay, "Epson DM-D (ESC/POS) 2x20 customer display", EpsonDmdSimulator),
    DriverSpec(
        "logic-controls", LogicControlsDisplay, "Logic Controls PD3000/LD9000 2x20 pole display", LogicControlsSimulator
    ),
    DriverSpec(
        "serial-drawer",
        SerialDrawer,
        "Standalone serial cash drawer or trigger box (IBM-style: BEL opens, ACK reads the switch)",
        SerialDrawerSimulator,
    ),
)


class DriverRegistry:
    def __init__(self, specs: Iterable[DriverSpec]) -> None:
        self._specs: dict[str, DriverSpec] = {}
        for spec in specs:
            self.add(spec)

    def add(self, spec: DriverSpec) -> None:
        if spec.name in self._specs:
            raise ConfigError(f"driver {spec.name!r} is registered twice")
        self._specs[spec.name] = spec

    def find(self, name: str) -> DriverSpec | None:
        return self._specs.get(name)

    def names(self) -> list[str]:
        return sorted(self._specs)

    def specs(self) -> list[DriverSpec]:
        return [self._specs[name] for name in self.names()]

    @classmethod
    def builtin(cls) -> DriverRegistry:
        return cls(BUILTIN_DRIVERS)

    @classmethod
    def with_plugins(cls, load: Callable[[], Iterable[EntryPoint]] | None = None) -> DriverRegistry:
        """Built-in drivers plus those of installed packages (``posd.drivers`` entry points)."""
        registry = cls.builtin()
        points = load() if load is not None else entry_points(group=ENTRY_POINT_GROUP)
        for point in points:
            try:
                loaded = point.load()
                specs = loaded() if callable(loaded) and not isinstance(loaded, DriverSpec) else loaded
                for spec in [specs] if isinstance(specs, DriverSpec) else list(specs):
                    if not isinstance(spec, DriverSpec):
                        raise TypeError(f"{spec!r} is not a DriverSpec")
                    registry.add(spec)
            except ConfigError:
                raise
            except Exception as err:
                # A broken plug-in must not stop the till; say which one and carry on without it.
                _LOGGER.error("driver plug-in %s (%s) failed to load: %s", point.name, point.value, err)
        return registry
