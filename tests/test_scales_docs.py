"""docs/scales.md lists every scale driver with the line settings its code ships."""

from __future__ import annotations

import re
from pathlib import Path

from drivers.models import DeviceKind
from drivers.registry import DriverRegistry

ROOT = Path(__file__).resolve().parent.parent


def test_the_protocol_table_matches_the_registry() -> None:
    text = (ROOT / "docs" / "scales.md").read_text()
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| `([a-z0-9-]+)` \|(?:[^|]*\|){3}([^|]*)\|", text, re.M)}
    scales = [spec for spec in DriverRegistry.builtin().specs() if spec.driver.kind is DeviceKind.SCALE]
    assert {spec.name for spec in scales} <= set(rows), "a scale driver is missing from docs/scales.md"
    for spec in scales:
        line = spec.serial_defaults
        if line:
            expected = f"{line['baudrate']} {line['bytesize']}{line['parity']}{line['stopbits']}"
            assert rows[spec.name].strip().startswith(expected), (spec.name, rows[spec.name])
