"""The one explicit driver registry.

Built-in drivers are listed in :data:`BUILTIN_DRIVERS` below; third-party packages add theirs through the
``posd.drivers`` entry-point group, whose entries point at a :class:`DriverSpec` or at a callable returning
a list of them. Nothing registers itself by being imported.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any, TypeVar

from drivers.adam.driver import AdamMdwScale
from drivers.adam.simulator import AdamMdwSimulator
from drivers.base import Driver
from drivers.cas.driver import CasDc1Scale, CasDc2Scale
from drivers.cas.simulator import CasDc1Simulator, CasDc2Simulator
from drivers.cd5220.driver import Cd5220Display
from drivers.cd5220.simulator import Cd5220Simulator
from drivers.epson_dmd.driver import EpsonDmdDisplay
from drivers.epson_dmd.simulator import EpsonDmdSimulator
from drivers.errors import ConfigError
from drivers.escpos.drawer import EscposDrawer
from drivers.escpos.driver import EscposPrinter
from drivers.escpos.simulator import EscposDrawerSimulator, EscposSimulator
from drivers.filizola.driver import FilizolaScale
from drivers.filizola.simulator import FilizolaSimulator
from drivers.hidpos.driver import HidPosScanner
from drivers.hidpos.simulator import HidPosScannerSimulator
from drivers.hidscale.driver import HidScale
from drivers.hidscale.simulator import HidScaleSimulator
from drivers.logic_controls.driver import LogicControlsDisplay
from drivers.logic_controls.simulator import LogicControlsSimulator
from drivers.mtsics.driver import MtSicsScale
from drivers.mtsics.simulator import MtSicsSimulator
from drivers.nci.driver import NciScale
from drivers.nci.simulator import NciSimulator
from drivers.scale_auto import AutoScale
from drivers.serial_drawer.driver import SerialDrawer
from drivers.serial_drawer.simulator import SerialDrawerSimulator
from drivers.serial_scanner.driver import SerialScanner
from drivers.serial_scanner.simulator import SerialScannerSimulator
from drivers.simulator import Simulator
from drivers.toledo.driver import Toledo8217Scale, ToledoContinuousScale, ToledoPrixScale
from drivers.toledo.simulator import Toledo8217Simulator, ToledoContinuousSimulator, ToledoPrixSimulator
from drivers.transports import SerialSettings
from drivers.urano.driver import UranoScale
from drivers.urano.simulator import UranoSimulator
from drivers.wedge.driver import WedgeScanner
from drivers.wedge.simulator import WedgeScannerSimulator

_LOGGER = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "posd.drivers"

T = TypeVar("T")


@dataclass(frozen=True)
class DriverSpec:
    name: str
    driver: type[Driver]
    description: str
    simulator: type[Simulator] | None = None
    peer_transport: bool = False
    """True for devices reached through another device (a drawer on a printer's kick connector)."""

    @property
    def serial_defaults(self) -> Mapping[str, Any]:
        """Serial line settings the device ships with (``serial_defaults`` of the driver class; scales)."""
        defaults: Mapping[str, Any] = getattr(self.driver, "serial_defaults", {})
        return defaults

    def apply_serial_defaults(self, settings: T) -> T:
        """``settings`` with the driver's line defaults for every serial key the configuration left out."""
        if not isinstance(settings, SerialSettings) or not self.serial_defaults:
            return settings
        missing = {k: v for k, v in self.serial_defaults.items() if k not in settings.model_fields_set}
        return settings.model_copy(update=missing) if missing else settings


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
    DriverSpec(
        "toledo-continuous",
        ToledoContinuousScale,
        "Mettler Toledo standard continuous output (8142, Wildcat, IND terminals), streamed",
        ToledoContinuousSimulator,
    ),
    DriverSpec("toledo-prix", ToledoPrixScale, "Toledo Prix scale (Brazil), protocols A, B and C", ToledoPrixSimulator),
    DriverSpec("filizola", FilizolaScale, "Filizola scale (Brazil), ENQ / STX ddddd ETX", FilizolaSimulator),
    DriverSpec("urano", UranoScale, "Urano scale (Brazil), ENQ / PESO: text", UranoSimulator),
    DriverSpec("nci", NciScale, "NCI / ECR scale protocol (Weigh-Tronix, Mettler Toledo ECR)", NciSimulator),
    DriverSpec("adam-mdw", AdamMdwScale, "Adam Equipment MDW scale in ECR mode", AdamMdwSimulator),
    DriverSpec("mt-sics", MtSicsScale, "Mettler Toledo MT-SICS balance or weigh module", MtSicsSimulator),
    DriverSpec("cas-dc1", CasDc1Scale, "CAS PD-II / ER scale, ENQ-DC1 format (ECR type 6)", CasDc1Simulator),
    DriverSpec("cas-dc2", CasDc2Scale, "CAS PD-II / ER scale, ENQ-DC2 format (ECR types 0/1)", CasDc2Simulator),
    DriverSpec("hid-scale", HidScale, "USB HID POS scale (usage page 0x8D) over hidraw", HidScaleSimulator),
    DriverSpec("scale-auto", AutoScale, "Serial scale of any supported protocol, found by probing the line"),
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


@dataclass(frozen=True)
class PluginFailure:
    """A ``posd.drivers`` entry point that could not be loaded (kept for diagnostics)."""

    name: str
    value: str
    error: str


class DriverRegistry:
    def __init__(self, specs: Iterable[DriverSpec]) -> None:
        self._specs: dict[str, DriverSpec] = {}
        self._origins: dict[str, str] = {}
        self.failed_plugins: list[PluginFailure] = []
        """Plug-ins skipped at load: a technician must be able to see why a driver is missing."""
        for spec in specs:
            self.add(spec)

    def add(self, spec: DriverSpec, origin: str = "builtin") -> None:
        if spec.name in self._specs:
            raise ConfigError(f"driver {spec.name!r} is registered twice")
        self._specs[spec.name] = spec
        self._origins[spec.name] = origin

    def origin(self, name: str) -> str:
        """``builtin``, or ``plugin <entry point> (<module:attr>)`` for a driver a package added."""
        return self._origins.get(name, "builtin")

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
                    registry.add(spec, origin=f"plugin {point.name} ({point.value})")
            except ConfigError:
                raise
            except Exception as err:
                # A broken plug-in must not stop the till; say which one and carry on without it.
                _LOGGER.error("driver plug-in %s (%s) failed to load: %s", point.name, point.value, err)
                registry.failed_plugins.append(PluginFailure(point.name, point.value, f"{type(err).__name__}: {err}"))
        return registry
