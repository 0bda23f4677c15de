"""Hot-plug: udev events → devices attached, marked offline, reattached under the same id.

Sources of events (one path for both: each turns udev properties into :class:`UdevEvent` and calls the
same handler):

- :class:`UdevMonitor` — pyudev's netlink monitor, read on the event loop (``loop.add_reader``), with the
  devices already present enumerated once at start (a till switched on with everything plugged in);
- :class:`ReplaySource` — recorded events (``udevadm monitor --udev --property`` text), for tests and
  for reproducing a technician's capture.

:class:`Hotplug` reacts to ``add`` and ``remove``:

- a configured device whose node (``DEVNAME`` or one of ``DEVLINKS``) is the path in its transport is
  retried at once on ``add`` (skipping the backoff) and marked ``offline`` at once on ``remove``;
- a device that is not configured but matches the known-device table is added on ``add`` with the stable
  id ``<kind>-<vendor>-<product>-<serial>`` (:func:`drivers.known_devices.stable_name`); unplugged it stays
  known (offline), plugged back it is reconnected under the same id.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pydantic import ValidationError

from daemon.config import DeviceConfig, HotplugConfig, resolve_device
from daemon.manager import DeviceManager, DeviceNotFound, ManagedDevice
from drivers.errors import ConfigError
from drivers.known_devices import KnownDevice, KnownDeviceTable, builtin_table, stable_name
from drivers.models import DeviceState
from drivers.registry import DriverRegistry

_LOGGER = logging.getLogger(__name__)

#: Subsystems whose nodes posd drives (serial, HID POS, keyboard wedge, USB printers).
SUBSYSTEMS: tuple[str, ...] = ("tty", "hidraw", "input", "usb")
POSD_LINK_DIR = "posd/"
"""posd's own stable links (udev/61-posd.rules), under /dev."""


@dataclass(frozen=True)
class UdevEvent:
    """One udev event, as the udev daemon broadcasts it after its rules ran (properties as in the udev db)."""

    action: str
    subsystem: str
    devname: str | None
    devlinks: tuple[str, ...]
    properties: Mapping[str, str]
    dev_dir: str = "/dev/"
    """Where device nodes live (a replay re-roots /dev)."""

    @classmethod
    def from_properties(cls, properties: Mapping[str, str], dev_dir: str = "/dev/") -> UdevEvent:
        props = dict(properties)
        return cls(
            action=props.get("ACTION", ""),
            subsystem=props.get("SUBSYSTEM", ""),
            devname=props.get("DEVNAME") or None,
            devlinks=tuple(props.get("DEVLINKS", "").split()),
            properties=props,
            dev_dir=dev_dir,
        )

    @property
    def vendor_id(self) -> str:
        return self.properties.get("ID_VENDOR_ID", "").lower()

    @property
    def product_id(self) -> str:
        return self.properties.get("ID_MODEL_ID", "").lower()

    @property
    def names(self) -> frozenset[str]:
        """Every path this node is known by."""
        return frozenset(name for name in (self.devname, *self.devlinks) if name)

    def preferred_path(self) -> str | None:
        """The path to open: posd's own stable link, else the by-id link, else the kernel name."""
        for directory in (POSD_LINK_DIR, "serial/by-id/", "input/by-id/"):
            for link in self.devlinks:
                if link.startswith(self.dev_dir + directory):
                    return link
        return self.devname


EventHandler = Callable[[UdevEvent], None]


class HotplugSource(Protocol):
    async def start(self, handler: EventHandler) -> None: ...

    async def stop(self) -> None: ...


class UdevMonitor:
    """pyudev's netlink monitor on the event loop (no thread): the udev daemon's events after its rules ran."""

    def __init__(self, subsystems: Sequence[str] = SUBSYSTEMS) -> None:
        self.subsystems = tuple(subsystems)
        self._monitor: Any = None
        self._handler: EventHandler | None = None

    async def start(self, handler: EventHandler) -> None:
        import pyudev  # type: ignore[import-untyped]  # loads libudev.so.1 (ctypes) only when hot-plug is on

        self._handler = handler
        context = pyudev.Context()
        monitor = pyudev.Monitor.from_netlink(context)
        for subsystem in self.subsystems:
            monitor.filter_by(subsystem)
        monitor.start()
        self._monitor = monitor
        asyncio.get_running_loop().add_reader(monitor.fileno(), self._readable)
        # What is already plugged in never sends "add": enumerate it once, after the monitor started (so
        # nothing falls between the two; a device seen twice is harmless).
        for subsystem in self.subsystems:
            for device in context.list_devices(subsystem=subsystem):
                if device.device_node is not None:
                    handler(UdevEvent.from_properties({**device.properties, "ACTION": "add"}))

    def _readable(self) -> None:
        assert self._handler is not None
        while (device := self._monitor.poll(timeout=0)) is not None:
            self._handler(UdevEvent.from_properties({**device.properties, "ACTION": device.action or ""}))

    async def stop(self) -> None:
        if self._monitor is not None:
            asyncio.get_running_loop().remove_reader(self._monitor.fileno())
            self._monitor = None  # libudev closes the netlink socket when the monitor is released


_MONITOR_HEADER = re.compile(r"^(UDEV|KERNEL)\s*\[[\d.]+\]\s+(\S+)\s+(\S+)\s+\((\S+)\)\s*$")


def parse_udevadm_monitor(text: str) -> list[dict[str, str]]:
    """Events from ``udevadm monitor --udev --property`` output: a header line, then ``KEY=value`` lines."""
    events: list[dict[str, str]] = []
    current: dict[str, str] | None = None
    for line in text.splitlines():
        if _MONITOR_HEADER.match(line):
            current = {}
            events.append(current)
        elif current is not None and "=" in line and not line.startswith(("#", " ")):
            key, _, value = line.partition("=")
            current[key] = value
    return events


class ReplaySource:
    """Replays recorded udev events through the same handler the netlink monitor feeds.

    ``dev_root`` re-roots ``/dev/…`` paths (DEVNAME, DEVLINKS) under a directory, so a recording made on a
    till can point at a simulator's pseudo-terminal in a test.
    """

    def __init__(self, dev_root: Path | None = None) -> None:
        self.dev_root = dev_root
        self._handler: EventHandler | None = None

    async def start(self, handler: EventHandler) -> None:
        self._handler = handler

    async def stop(self) -> None:
        self._handler = None

    def _reroot(self, path: str) -> str:
        if self.dev_root is None or not path.startswith("/dev/"):
            return path
        return str(self.dev_root / path[len("/dev/") :])

    def emit(self, properties: Mapping[str, str]) -> UdevEvent:
        """Deliver one recorded event; returns it as the handler saw it."""
        props = dict(properties)
        if "DEVNAME" in props:
            props["DEVNAME"] = self._reroot(props["DEVNAME"])
        if "DEVLINKS" in props:
            props["DEVLINKS"] = " ".join(self._reroot(link) for link in props["DEVLINKS"].split())
        event = UdevEvent.from_properties(props, "/dev/" if self.dev_root is None else f"{self.dev_root}/")
        if self._handler is None:
            raise RuntimeError("replay source is not started")
        self._handler(event)
        return event

    def play(self, recorded: Iterable[Mapping[str, str]]) -> list[UdevEvent]:
        return [self.emit(properties) for properties in recorded]


def transport_paths(transport: Any) -> set[str]:
    """The device nodes a configured transport opens (serial port, hidraw path, evdev paths)."""
    paths: set[str] = set()
    for attribute in ("port", "path"):
        value = getattr(transport, attribute, None)
        if isinstance(value, str):
            paths.add(value)
    value = getattr(transport, "paths", None)
    if isinstance(value, list | tuple):
        paths.update(v for v in value if isinstance(v, str))
    return paths


def _same_usb_device(transport: Any, event: UdevEvent) -> bool:
    """A transport naming a USB device by ids (and serial, if set) against a usb_device event."""
    vendor_id, product_id = getattr(transport, "vendor_id", None), getattr(transport, "product_id", None)
    if not isinstance(vendor_id, int) or not isinstance(product_id, int):
        return False
    if event.subsystem != "usb" or event.properties.get("DEVTYPE") != "usb_device":
        return False
    if (event.vendor_id, event.product_id) != (f"{vendor_id:04x}", f"{product_id:04x}"):
        return False
    serial = getattr(transport, "serial", None)
    return not serial or serial == event.properties.get("ID_SERIAL_SHORT")


def _transport_for(entry: KnownDevice, event: UdevEvent, path: str) -> dict[str, Any]:
    """Transport settings (as config would spell them) for a discovered device's node."""
    if entry.interface == "tty":
        return {"type": "serial", "port": path}
    if entry.interface == "hidraw":
        return {"type": "hid", "path": path}
    if entry.interface == "input":
        return {"type": "evdev", "paths": [path]}
    # USB printer class through libusb: identified by ids and serial, not by a path.
    transport: dict[str, Any] = {
        "type": "usb",
        "vendor_id": int(event.vendor_id, 16),
        "product_id": int(event.product_id, 16),
    }
    if serial := event.properties.get("ID_SERIAL_SHORT"):
        transport["serial"] = serial
    return transport


def _is_driven_node(entry: KnownDevice, event: UdevEvent) -> bool:
    """Whether this event's node is the one posd opens for the entry (a scanner has several nodes)."""
    if entry.interface == "input":
        return (event.devname or "").rsplit("/", 1)[-1].startswith("event") and (
            event.properties.get("ID_INPUT_KEYBOARD") == "1"
        )
    if entry.interface == "usb":
        return event.properties.get("DEVTYPE") == "usb_device"
    return event.devname is not None


class Hotplug:
    """Turns udev events into device manager actions (see the module docstring)."""

    def __init__(
        self,
        manager: DeviceManager,
        registry: DriverRegistry,
        config: HotplugConfig,
        source: HotplugSource,
        table: KnownDeviceTable,
    ) -> None:
        self._manager = manager
        self._registry = registry
        self._config = config
        self._source = source
        self._table = table
        self._discovered: set[str] = set()
        self._node_owner: dict[str, str] = {}
        """Device node and links → device id, learned on add, for removes (whose links are already gone)."""
        self._warned: set[str] = set()
        self._started = False

    @property
    def discovered(self) -> frozenset[str]:
        return frozenset(self._discovered)

    def describe(self) -> dict[str, Any]:
        """What hot-plug knows now (support bundle): its source, the devices it added, the nodes it has seen."""
        return {
            "running": self._started,
            "source": type(self._source).__name__,
            "discover": self._config.discover,
            "discovered": sorted(self._discovered),
            "nodes": dict(sorted(self._node_owner.items())),
        }

    async def start(self) -> None:
        await self._source.start(self.handle)
        self._started = True

    async def stop(self) -> None:
        if self._started:
            self._started = False
            await self._source.stop()

    # -- events ---------------------------------------------------------------------------------------
    def handle(self, event: UdevEvent) -> None:
        try:
            if event.action == "add":
                self._added(event)
            elif event.action == "remove":
                self._removed(event)
        except Exception:
            # A surprising event must not take the monitor down (it runs in a loop reader callback).
            _LOGGER.exception("hot-plug: cannot handle %s of %s", event.action, event.devname)

    def _configured_owner(self, event: UdevEvent) -> ManagedDevice | None:
        names = event.names
        for device in self._manager.devices():
            if device.device_id in self._discovered or device.resolved.simulated:
                continue
            transport = device.resolved.config.transport
            if _same_usb_device(transport, event):
                return device
            for path in transport_paths(transport):
                if path in names or (event.devname is not None and os.path.realpath(path) == event.devname):
                    return device
        return None

    def _owner_by_node(self, event: UdevEvent) -> ManagedDevice | None:
        for name in event.names:
            if (device_id := self._node_owner.get(name)) is not None:
                with contextlib.suppress(DeviceNotFound):
                    return self._manager.get(device_id)
        return None

    def _remember(self, device: ManagedDevice, event: UdevEvent) -> None:
        for name in event.names:
            self._node_owner[name] = device.device_id

    def _added(self, event: UdevEvent) -> None:
        device = self._configured_owner(event)
        if device is None:
            device = self._discover(event)
        if device is None:
            return
        self._remember(device, event)
        if device.state in (DeviceState.READY, DeviceState.BUSY):
            return  # already talking to it (start-up enumeration of a device that connected first)
        _LOGGER.info("hot-plug: %s appeared at %s; connecting", device.device_id, event.devname)
        # If a session is still ending, the wake-up waits for it and cuts the backoff short (see the manager).
        self._manager.reconnect(device.device_id)

    def _removed(self, event: UdevEvent) -> None:
        device = self._owner_by_node(event) or self._configured_owner(event)
        if device is None:
            return
        for name in event.names:
            self._node_owner.pop(name, None)
        if device.state is DeviceState.DISABLED:
            return
        _LOGGER.info("hot-plug: %s unplugged (%s)", device.device_id, event.devname)
        # At once: the driver's transport would notice too, but only at its next read or write.
        self._manager.mark_unplugged(device.device_id, f"unplugged ({event.devname})")

    # -- discovery --------------------------------------------------------------------------------------
    def _warn_once(self, key: str, message: str, *args: object) -> None:
        if key not in self._warned:
            self._warned.add(key)
            _LOGGER.warning(message, *args)

    def _known(self, event: UdevEvent) -> tuple[KnownDevice, str] | None:
        """The table entry and the path to open, when this event's node is a known device's."""
        if not self._config.discover or not event.vendor_id or not event.product_id:
            return None
        entry = self._table.match(event.vendor_id, event.product_id, event.subsystem)
        path = event.preferred_path()
        if entry is None or path is None or not _is_driven_node(entry, event):
            return None
        return entry, path

    def _discover(self, event: UdevEvent) -> ManagedDevice | None:
        known = self._known(event)
        if known is None:
            return None
        entry, path = known
        device_id = stable_name(
            entry.kind.value,
            entry.vendor_slug,
            event.product_id,
            event.properties.get("ID_SERIAL_SHORT"),
            event.properties.get("ID_PATH_TAG"),
        )
        spec = self._registry.find(entry.driver)
        if spec is None:
            self._warn_once(
                f"driver:{entry.driver}",
                "hot-plug: found %s at %s, but this posd has no driver %r; configure it in posd.toml",
                entry.title,
                path,
                entry.driver,
            )
            return None
        transport = _transport_for(entry, event, path)
        with contextlib.suppress(DeviceNotFound):
            existing = self._manager.get(device_id)
            self._repoint(existing, transport)
            return existing
        options = {"profile": entry.profile} if "profile" in spec.driver.Options.model_fields else {}
        try:
            config = DeviceConfig(
                id=device_id, driver=entry.driver, name=entry.title, transport=transport, options=options
            )
            resolved = resolve_device(config, self._registry, f"hot-plug {device_id} ({path})")
        except (ValidationError, ConfigError) as err:
            self._warn_once(
                f"config:{entry.title}:{entry.interface}",
                "hot-plug: found %s at %s, but cannot add it: %s",
                entry.title,
                path,
                err,
            )
            return None
        _LOGGER.info("hot-plug: found %s at %s; added as %s", entry.title, path, device_id)
        self._discovered.add(device_id)
        return self._manager.add(resolved)

    def _repoint(self, device: ManagedDevice, transport: dict[str, Any]) -> None:
        """A discovered device back under another node name (ttyACM0 → ttyACM1 without the posd udev rules)."""
        if device.device_id not in self._discovered:
            return
        current = device.resolved.config
        moved = DeviceConfig(id=current.id, driver=current.driver, transport=transport).transport
        if moved != current.transport:
            config = current.model_copy(update={"transport": moved})
            device.resolved = dataclasses.replace(device.resolved, config=config)


async def start_hotplug(
    manager: DeviceManager,
    registry: DriverRegistry,
    config: HotplugConfig,
    source: HotplugSource | None = None,
    table: KnownDeviceTable | None = None,
) -> Hotplug | None:
    """Start hot-plug if configured; without udev (no libudev, no netlink) posd runs on, without it."""
    if not config.enabled:
        return None
    hotplug = Hotplug(manager, registry, config, source or UdevMonitor(), table or builtin_table())
    try:
        await hotplug.start()
    except (ImportError, OSError) as err:
        _LOGGER.warning("hot-plug is off (devices are still retried with backoff): %s", err)
        await hotplug.stop()
        return None
    return hotplug
