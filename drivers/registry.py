"""The one explicit driver registry.

Built-in drivers are listed in :data:`BUILTIN_DRIVERS` below; third-party packages add theirs through the
``posd.drivers`` entry-point group, whose entries point at a :class:`DriverSpec` or at a callable returning
a list of them. Nothing registers itself by being imported.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any, TypeVar

from drivers.base import Driver
from drivers.errors import ConfigError
from drivers.simulator import Simulator
from drivers.transports import SerialSettings

_LOGGER = logging.getLogger(__name__)


def _import_class(reference: str) -> type:
    """``"package.module:Class"`` → the class."""
    module_name, _, attribute = reference.partition(":")
    found = getattr(importlib.import_module(module_name), attribute)
    if not isinstance(found, type):
        raise TypeError(f"{reference} is not a class")
    return found


ENTRY_POINT_GROUP = "posd.drivers"

T = TypeVar("T")


class DriverSpec:
    """One driver: its name, class, description and simulator.

    Classes may be given as ``"module:Class"`` references; they are imported on first use, so a daemon
    loads the modules of the drivers it runs, not of all 21 (about 1.3 MB of resident memory).
    """

    __slots__ = ("_driver", "_simulator", "description", "name", "peer_transport")

    def __init__(
        self,
        name: str,
        driver: type[Driver] | str,
        description: str,
        simulator: type[Simulator] | str | None = None,
        peer_transport: bool = False,
    ) -> None:
        self.name = name
        self._driver = driver
        self.description = description
        self._simulator = simulator
        self.peer_transport = peer_transport
        """True for devices reached through another device (a drawer on a printer's kick connector)."""

    @property
    def driver(self) -> type[Driver]:
        if isinstance(self._driver, str):
            found = _import_class(self._driver)
            if not issubclass(found, Driver):
                raise TypeError(f"{self._driver} is not a Driver")
            self._driver = found
        return self._driver

    @property
    def simulator(self) -> type[Simulator] | None:
        if isinstance(self._simulator, str):
            found = _import_class(self._simulator)
            if not issubclass(found, Simulator):
                raise TypeError(f"{self._simulator} is not a Simulator")
            self._simulator = found
        return self._simulator

    @property
    def has_simulator(self) -> bool:
        """Whether there is a simulator, without importing it."""
        return self._simulator is not None

    def __repr__(self) -> str:
        return f"DriverSpec({self.name!r})"

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
    DriverSpec(
        "escpos",
        "drivers.escpos.driver:EscposPrinter",
        "ESC/POS receipt printer (Epson and compatibles)",
        "drivers.escpos.simulator:EscposSimulator",
    ),
    DriverSpec(
        "escpos-drawer",
        "drivers.escpos.drawer:EscposDrawer",
        "Cash drawer on an ESC/POS printer's kick connector, sensed through pin 3",
        "drivers.escpos.simulator:EscposDrawerSimulator",
        peer_transport=True,
    ),
    DriverSpec(
        "serial-scanner",
        "drivers.serial_scanner.driver:SerialScanner",
        "Serial / USB CDC-ACM barcode scanner",
        "drivers.serial_scanner.simulator:SerialScannerSimulator",
    ),
    DriverSpec(
        "wedge-scanner",
        "drivers.wedge.driver:WedgeScanner",
        "Keyboard-wedge (USB keyboard) barcode scanner over evdev, decoded with its keyboard layout",
        "drivers.wedge.simulator:WedgeScannerSimulator",
    ),
    DriverSpec(
        "hidpos-scanner",
        "drivers.hidpos.driver:HidPosScanner",
        "USB HID POS barcode scanner over hidraw",
        "drivers.hidpos.simulator:HidPosScannerSimulator",
    ),
    DriverSpec(
        "toledo-8217",
        "drivers.toledo.driver:Toledo8217Scale",
        "Mettler Toledo 8213/8217 (SCP) scale",
        "drivers.toledo.simulator:Toledo8217Simulator",
    ),
    DriverSpec(
        "toledo-continuous",
        "drivers.toledo.driver:ToledoContinuousScale",
        "Mettler Toledo standard continuous output (8142, Wildcat, IND terminals), streamed",
        "drivers.toledo.simulator:ToledoContinuousSimulator",
    ),
    DriverSpec(
        "toledo-prix",
        "drivers.toledo.driver:ToledoPrixScale",
        "Toledo Prix scale (Brazil), protocols A, B and C",
        "drivers.toledo.simulator:ToledoPrixSimulator",
    ),
    DriverSpec(
        "filizola",
        "drivers.filizola.driver:FilizolaScale",
        "Filizola scale (Brazil), ENQ / STX ddddd ETX",
        "drivers.filizola.simulator:FilizolaSimulator",
    ),
    DriverSpec(
        "urano",
        "drivers.urano.driver:UranoScale",
        "Urano scale (Brazil), ENQ / PESO: text",
        "drivers.urano.simulator:UranoSimulator",
    ),
    DriverSpec(
        "nci",
        "drivers.nci.driver:NciScale",
        "NCI / ECR scale protocol (Weigh-Tronix, Mettler Toledo ECR)",
        "drivers.nci.simulator:NciSimulator",
    ),
    DriverSpec(
        "adam-mdw",
        "drivers.adam.driver:AdamMdwScale",
        "Adam Equipment MDW scale in ECR mode",
        "drivers.adam.simulator:AdamMdwSimulator",
    ),
    DriverSpec(
        "mt-sics",
        "drivers.mtsics.driver:MtSicsScale",
        "Mettler Toledo MT-SICS balance or weigh module",
        "drivers.mtsics.simulator:MtSicsSimulator",
    ),
    DriverSpec(
        "cas-dc1",
        "drivers.cas.driver:CasDc1Scale",
        "CAS PD-II / ER scale, ENQ-DC1 format (ECR type 6)",
        "drivers.cas.simulator:CasDc1Simulator",
    ),
    DriverSpec(
        "cas-dc2",
        "drivers.cas.driver:CasDc2Scale",
        "CAS PD-II / ER scale, ENQ-DC2 format (ECR types 0/1)",
        "drivers.cas.simulator:CasDc2Simulator",
    ),
    DriverSpec(
        "hid-scale",
        "drivers.hidscale.driver:HidScale",
        "USB HID POS scale (usage page 0x8D) over hidraw",
        "drivers.hidscale.simulator:HidScaleSimulator",
    ),
    DriverSpec(
        "scale-auto",
        "drivers.scale_auto:AutoScale",
        "Serial scale of any supported protocol, found by probing the line",
    ),
    DriverSpec(
        "cd5220",
        "drivers.cd5220.driver:Cd5220Display",
        "CD5220-compatible 2x20 customer display",
        "drivers.cd5220.simulator:Cd5220Simulator",
    ),
    DriverSpec(
        "epson-dmd",
        "drivers.epson_dmd.driver:EpsonDmdDisplay",
        "Epson DM-D (ESC/POS) 2x20 customer display",
        "drivers.epson_dmd.simulator:EpsonDmdSimulator",
    ),
    DriverSpec(
        "logic-controls",
        "drivers.logic_controls.driver:LogicControlsDisplay",
        "Logic Controls PD3000/LD9000 2x20 pole display",
        "drivers.logic_controls.simulator:LogicControlsSimulator",
    ),
    DriverSpec(
        "serial-drawer",
        "drivers.serial_drawer.driver:SerialDrawer",
        "Standalone serial cash drawer or trigger box (IBM-style: BEL opens, ACK reads the switch)",
        "drivers.serial_drawer.simulator:SerialDrawerSimulator",
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
