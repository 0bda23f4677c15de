"""The devices ``posd serve --simulate`` adds: one of each kind, each a simulator behind a real pty or TCP socket."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from drivers.escpos.profile import SIMULATED_PROFILE_NAME


@dataclass(frozen=True)
class SimulatedDevice:
    id: str
    driver: str
    name: str
    options: dict[str, Any] = field(default_factory=dict)


#: Order matters: a device reached through another (the drawer) comes after it.
SIMULATED_DEVICES: tuple[SimulatedDevice, ...] = (
    SimulatedDevice(
        "printer-1",
        "escpos",
        "Simulated receipt printer (TCP 9100)",
        {"profile": SIMULATED_PROFILE_NAME, "status": "asb"},
    ),
    SimulatedDevice("drawer-1", "escpos-drawer", "Simulated cash drawer on printer-1"),
    SimulatedDevice("scanner-1", "serial-scanner", "Simulated serial scanner"),
    SimulatedDevice("scale-1", "toledo-8217", "Simulated Toledo 8217 scale"),
    SimulatedDevice("display-1", "cd5220", "Simulated 2x20 customer display"),
)
