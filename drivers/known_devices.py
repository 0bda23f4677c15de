"""The known-device table (``known_devices.toml``): common POS devices by USB vendor:product.

One data file serves the daemon's hot-plug matching and the generated udev rules, so the two cannot
disagree. Identity is stable: :func:`stable_name` derives a device's name from kind, vendor, product and
serial number (or, for devices without a serial, the physical USB port) — never from enumeration order.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from drivers.errors import ConfigError
from drivers.models import DeviceKind

TABLE_PATH = Path(__file__).with_name("known_devices.toml")

#: How Linux presents a device: the udev subsystem its node belongs to.
Interface = Literal["usb", "tty", "hidraw", "input"]
SUBSYSTEM_OF_INTERFACE: dict[str, str] = {"usb": "usb", "tty": "tty", "hidraw": "hidraw", "input": "input"}

_USB_ID = re.compile(r"^[0-9a-f]{4}:[0-9a-f]{4}$")
_SLUG_UNSAFE = re.compile(r"[^a-z0-9_.-]+")
DEVICE_ID_MAX = 64


class KnownDevice(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    vendor: str = Field(min_length=1)
    model: str = Field(min_length=1)
    kind: DeviceKind
    interface: Interface
    usb: tuple[str, ...] = Field(description='"vvvv:pppp" pairs, lower-case hex.')
    driver: str = Field(min_length=1)
    profile: str = Field(min_length=1)
    verified: bool
    source: str = Field(min_length=1)
    note: str = ""

    @field_validator("usb")
    @classmethod
    def _usb_ids(cls, ids: tuple[str, ...]) -> tuple[str, ...]:
        for usb_id in ids:
            if not _USB_ID.match(usb_id):
                raise ValueError(f"{usb_id!r} is not a lower-case 'vvvv:pppp' USB id")
        return ids

    @property
    def subsystem(self) -> str:
        return SUBSYSTEM_OF_INTERFACE[self.interface]

    @property
    def vendor_slug(self) -> str:
        """The vendor as it appears in stable names: ``Honeywell (Metrologic)`` → ``honeywell``."""
        return slug(self.vendor.split("(")[0])

    @property
    def title(self) -> str:
        return f"{self.vendor} {self.model}"


class _TableFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    devices: list[KnownDevice]


def slug(text: str) -> str:
    return _SLUG_UNSAFE.sub("-", text.strip().lower()).strip("-._")


def stable_name(kind: str, vendor_slug: str, product_id: str, serial: str | None, port: str | None) -> str:
    """``<kind>-<vendor>-<product>-<serial>`` (or ``…-port-<usb port>`` for devices without a serial number).

    The same name is the daemon's device id and the /dev/posd/ link the udev rules make, lower-cased here
    because device ids are; the link keeps udev's own spelling of the serial.
    """
    if serial:
        tail = slug(serial)
    elif port:
        tail = "port-" + slug(port)
    else:
        tail = "noserial"
    name = f"{kind}-{vendor_slug}-{product_id.lower()}-{tail}"
    return name[:DEVICE_ID_MAX].rstrip("-._")


class KnownDeviceTable:
    def __init__(self, devices: Iterable[KnownDevice]) -> None:
        self.devices = tuple(devices)
        self._index: dict[tuple[str, str], KnownDevice] = {}
        for device in self.devices:
            for usb_id in device.usb:
                key = (usb_id, device.subsystem)
                if key in self._index:
                    raise ConfigError(
                        f"known devices: {usb_id} ({device.interface}) is listed for both "
                        f"{self._index[key].title!r} and {device.title!r}"
                    )
                self._index[key] = device

    def match(self, vendor_id: str, product_id: str, subsystem: str) -> KnownDevice | None:
        """The entry for a device node of ``subsystem`` with these USB ids, if any."""
        return self._index.get((f"{vendor_id.lower()}:{product_id.lower()}", subsystem))

    def by_kind(self, kind: DeviceKind) -> list[KnownDevice]:
        return [d for d in self.devices if d.kind is kind]

    @classmethod
    def parse(cls, text: str, source: str = "known devices") -> KnownDeviceTable:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"{source}: not valid TOML: {err}") from err
        try:
            table = _TableFile.model_validate(data)
        except ValidationError as err:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in err.errors(include_url=False)
            )
            raise ConfigError(f"{source}: {problems}") from err
        return cls(table.devices)


@cache
def builtin_table() -> KnownDeviceTable:
    """The table shipped with posd (parsed once)."""
    return KnownDeviceTable.parse(TABLE_PATH.read_text(encoding="utf-8"), str(TABLE_PATH))


# -- udev rules ----------------------------------------------------------------------------------------
UDEV_RULES_NAME = "61-posd.rules"
"""After 60-serial.rules / 60-input-id.rules (their ID_* properties), before 73-seat-late (uaccess)."""

#: Groups the rules hand device nodes to; the unit's user is in all of them (SupplementaryGroups / its own group).
UDEV_GROUPS = {"tty": "dialout", "usbmisc": "lp", "usb": "posd", "hidraw": "posd", "input": "posd"}

_UDEV_MATCH_SUBSYSTEMS = {"usb": "usb|usbmisc", "tty": "tty", "hidraw": "hidraw", "input": "input"}


def _udev_escape(text: str) -> str:
    """Text for a udev comment line (one line, no control characters)."""
    return " ".join(text.split())


def render_udev_rules(table: KnownDeviceTable) -> str:
    """udev/61-posd.rules: stable /dev/posd/… links and group access for every device of the table.

    Generated (``posd udev-rules``) so the rules and the daemon's matching come from one table; a test keeps
    the committed file in step and parses every rule independently.
    """
    out = [
        f"# {UDEV_RULES_NAME} — generated by `posd udev-rules` from drivers/known_devices.toml; do not edit",
        "# (local changes: a rules file of your own with a lower number, e.g. 59-posd-local.rules).",
        "#",
        "# For every known point-of-sale device: a stable link /dev/posd/<kind>-<vendor>-<product>-<serial>",
        "# (…-port-<usb port> when the device has no serial number), the same name posd gives the device, and",
        "# access for the posd service through groups — dialout (serial), lp (usblp), posd (libusb, hidraw,",
        "# evdev) — never MODE 0666.",
        "",
        'ACTION=="remove", GOTO="posd_end"',
        'SUBSYSTEM!="tty|hidraw|input|usb|usbmisc", GOTO="posd_end"',
        'IMPORT{builtin}="usb_id"',
        'ENV{ID_BUS}!="usb", GOTO="posd_end"',
        "",
    ]
    for device in table.devices:
        if not device.usb:
            continue
        out.append(f"# {_udev_escape(device.title)} ({'verified' if device.verified else 'unverified'}):")
        out.append(f"#   {_udev_escape(device.source)}")
        for usb_id in device.usb:
            vendor_id, product_id = usb_id.split(":")
            name = f"{device.kind.value}-{device.vendor_slug}-{product_id}"
            out.append(
                f'SUBSYSTEM=="{_UDEV_MATCH_SUBSYSTEMS[device.interface]}", ENV{{ID_VENDOR_ID}}=="{vendor_id}", '
                f'ENV{{ID_MODEL_ID}}=="{product_id}", ENV{{POSD_KIND}}="{device.kind.value}", '
                f'ENV{{POSD_DRIVER}}="{device.driver}", ENV{{POSD_PROFILE}}="{device.profile}", '
                f'ENV{{POSD_NAME}}="{name}"'
            )
        out.append("")
    out += [
        'ENV{POSD_KIND}!="?*", GOTO="posd_end"',
        "",
        "# The stable name: serial number, or the physical port for devices without one.",
        'IMPORT{builtin}="path_id"',
        'ENV{ID_SERIAL_SHORT}=="?*", ENV{POSD_LINK}="posd/$env{POSD_NAME}-$env{ID_SERIAL_SHORT}"',
        'ENV{ID_SERIAL_SHORT}!="?*", ENV{POSD_LINK}="posd/$env{POSD_NAME}-port-$env{ID_PATH_TAG}"',
        "",
        "# Serial (USB-serial chips, CDC-ACM): dialout, as Debian's own rules give ttyUSB*/ttyACM*.",
        f'SUBSYSTEM=="tty", GROUP="{UDEV_GROUPS["tty"]}", MODE="0660", SYMLINK+="$env{{POSD_LINK}}"',
        "# HID POS scanners and scales.",
        f'SUBSYSTEM=="hidraw", GROUP="{UDEV_GROUPS["hidraw"]}", MODE="0660", SYMLINK+="$env{{POSD_LINK}}"',
        "# Keyboard-wedge scanners: only the scanner's own keyboard node, not every keyboard (group input would be).",
        f'SUBSYSTEM=="input", KERNEL=="event*", ENV{{ID_INPUT_KEYBOARD}}=="1", GROUP="{UDEV_GROUPS["input"]}", '
        'MODE="0660", SYMLINK+="$env{POSD_LINK}"',
        "# USB printers, driven through libusb (bulk endpoints, status with timeouts).",
        f'SUBSYSTEM=="usb", ENV{{DEVTYPE}}=="usb_device", GROUP="{UDEV_GROUPS["usb"]}", MODE="0660", '
        'SYMLINK+="$env{POSD_LINK}"',
        f'SUBSYSTEM=="usbmisc", KERNEL=="lp[0-9]*", GROUP="{UDEV_GROUPS["usbmisc"]}", MODE="0660", '
        'SYMLINK+="$env{POSD_LINK}-lp"',
        "",
        "# The usblp conflict: the kernel's usblp driver claims every USB printer interface, so libusb cannot claim",
        "# it (EBUSY) and its /dev/usb/lp* node comes and goes behind posd's back. Hand known POS printers to posd by",
        "# unbinding usblp as soon as it binds. To keep usblp for a printer (posd's usblp transport, or CUPS), set",
        '# ENV{POSD_USBLP}="keep" for it in an earlier rules file, e.g. 59-posd-local.rules:',
        '#   SUBSYSTEM=="usb", ENV{ID_VENDOR_ID}=="04b8", ENV{ID_MODEL_ID}=="0e15", ENV{POSD_USBLP}="keep"',
        'ACTION=="bind", SUBSYSTEM=="usb", ENV{DEVTYPE}=="usb_interface", DRIVER=="usblp", '
        'ENV{POSD_KIND}=="printer", ENV{POSD_USBLP}!="keep", '
        "RUN+=\"/bin/sh -c 'echo -n %k > /sys/bus/usb/drivers/usblp/unbind'\"",
        "",
        'LABEL="posd_end"',
    ]
    return "\n".join(out) + "\n"
