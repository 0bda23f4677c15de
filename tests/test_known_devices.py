"""The known-device table: every required vendor is there, each with a driver and profile, ids well formed,
no id claimed twice, stable names derived from kind-vendor-product-serial (never enumeration order)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from drivers.errors import ConfigError
from drivers.known_devices import TABLE_PATH, KnownDeviceTable, builtin_table, stable_name
from drivers.models import DeviceKind
from drivers.registry import DriverRegistry

#: Drivers the table may name before they land (none now). Remove a name from here when its driver lands;
#: the test below then checks it is registered.
PENDING_DRIVERS: set[str] = set()

REQUIRED = {
    DeviceKind.PRINTER: {"Epson", "Bematech", "Elgin", "Daruma", "Citizen", "Star", "Xprinter"},
    DeviceKind.SCANNER: {"Honeywell", "Zebra", "Datalogic", "Newland"},
    DeviceKind.SCALE: {"Toledo", "Dymo", "CAS"},
}


def _raw_entries() -> list[dict[str, object]]:
    """The data file read with tomllib alone (not through the loader under test)."""
    devices = tomllib.loads(TABLE_PATH.read_text())["devices"]
    assert isinstance(devices, list)
    return devices


def test_every_required_vendor_has_an_entry_with_driver_and_profile() -> None:
    entries = _raw_entries()
    for kind, vendors in REQUIRED.items():
        for vendor in vendors:
            found = [e for e in entries if e["kind"] == kind.value and vendor.lower() in str(e["vendor"]).lower()]
            assert found, f"no {kind.value} entry for {vendor}"
            for entry in found:
                assert entry["driver"], entry
                assert entry["profile"], entry


def test_ids_are_sourced_or_marked_unverified() -> None:
    for entry in _raw_entries():
        assert isinstance(entry["verified"], bool), entry
        assert str(entry["source"]).strip(), entry
        if entry["verified"]:
            assert entry["usb"], f"{entry['vendor']} {entry['model']}: verified but no id"
        for usb_id in entry["usb"]:  # type: ignore[attr-defined]
            vendor, product = usb_id.split(":")
            assert len(vendor) == len(product) == 4
            assert usb_id == usb_id.lower()
            int(vendor, 16), int(product, 16)


def test_loader_reads_every_entry_and_matches_by_subsystem() -> None:
    table = builtin_table()
    assert len(table.devices) == len(_raw_entries())
    # 04b8:0e15 is a USB printer: matched on the usb_device node, not on a tty with the same ids.
    epson = table.match("04B8", "0E15", "usb")
    assert epson is not None
    assert (epson.vendor, epson.kind, epson.driver, epson.profile) == (
        "Epson",
        DeviceKind.PRINTER,
        "escpos",
        "TM-T20II",
    )
    assert table.match("04b8", "0e15", "tty") is None
    newland_cdc = table.match("1eab", "1306", "tty")
    assert newland_cdc is not None
    assert newland_cdc.driver == "serial-scanner"
    newland_hid = table.match("1eab", "1310", "hidraw")
    assert newland_hid is not None
    assert newland_hid.driver == "hidpos-scanner"
    assert table.match("dead", "beef", "tty") is None


def test_every_driver_is_registered_or_pending() -> None:
    registry = DriverRegistry.builtin()
    for device in builtin_table().devices:
        if device.driver in PENDING_DRIVERS:
            assert registry.find(device.driver) is None, f"{device.driver} landed: remove it from PENDING_DRIVERS"
            continue
        spec = registry.find(device.driver)
        assert spec is not None, f"{device.title}: no driver {device.driver!r}"
        assert spec.driver.kind is device.kind, device.title


def test_an_id_claimed_twice_is_refused() -> None:
    text = """
[[devices]]
vendor = "A"
model = "one"
kind = "scanner"
interface = "tty"
usb = ["1234:5678"]
driver = "serial-scanner"
profile = "x"
verified = true
source = "test"

[[devices]]
vendor = "B"
model = "two"
kind = "scanner"
interface = "tty"
usb = ["1234:5678"]
driver = "serial-scanner"
profile = "x"
verified = true
source = "test"
"""
    with pytest.raises(ConfigError, match="1234:5678"):
        KnownDeviceTable.parse(text)


def test_bad_entries_are_refused_with_the_field(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"usb"):
        KnownDeviceTable.parse(
            '[[devices]]\nvendor="A"\nmodel="m"\nkind="scanner"\ninterface="tty"\nusb=["12:34"]\n'
            'driver="d"\nprofile="p"\nverified=true\nsource="s"\n'
        )
    with pytest.raises(ConfigError, match="kind"):
        KnownDeviceTable.parse(
            '[[devices]]\nvendor="A"\nmodel="m"\nkind="toaster"\ninterface="tty"\nusb=[]\n'
            'driver="d"\nprofile="p"\nverified=true\nsource="s"\n'
        )


def test_stable_names_come_from_kind_vendor_product_serial() -> None:
    assert stable_name("scanner", "newland", "1306", "A1B2C3", None) == "scanner-newland-1306-a1b2c3"
    # No serial number: the physical port, which stays the same across reboots as long as the cable does.
    assert (
        stable_name("scanner", "newland", "1306", None, "pci-0000_00_14_0-usb-0_2_1_0")
        == "scanner-newland-1306-port-pci-0000_00_14_0-usb-0_2_1_0"
    )
    # Unsafe characters never reach a device id; ids stay within the configuration's id pattern.
    name = stable_name("printer", "epson", "0E15", "J5/MF 01:23" + "x" * 80, None)
    assert name.startswith("printer-epson-0e15-j5-mf-01-23")
    assert len(name) <= 64


def test_every_printer_profile_is_one_posd_can_render_for() -> None:
    from drivers.escpos.profile import get_profile

    for device in builtin_table().by_kind(DeviceKind.PRINTER):
        profile = get_profile(device.profile)
        assert profile.width_dots in (384, 512, 576, 640), (device.title, profile)
