"""The devices ``posd serve --simulate`` adds, each a simulator behind a real pty or TCP socket.

:data:`DEFAULT_SIMULATED_DEVICES` is what simulate mode runs when the configuration selects nothing (one device
of each kind). A selection (``[simulate]`` in the configuration, ``--simulate-driver``, ``--simulate-all``) is
turned into the same :class:`SimulatedDevice` entries by the daemon's configuration, so both take one path.
"""

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
    peer: str | None = None
    """For a driver reached through another device (a drawer on a printer's kick connector): that device's id."""
    where: str = ""
    """Where the entry came from, for error messages (``posd.toml: simulate.devices[2] (id 'drawer-2')``)."""

    @property
    def origin(self) -> str:
        return self.where or f"simulated device {self.id!r}"


#: Order matters only for listing: simulators are started peers first, whatever the order.
DEFAULT_SIMULATED_DEVICES: tuple[SimulatedDevice, ...] = (
    SimulatedDevice(
        "printer-1",
        "escpos",
        "Simulated receipt printer (TCP 9100)",
        {"profile": SIMULATED_PROFILE_NAME, "status": "asb"},
    ),
    SimulatedDevice("drawer-1", "escpos-drawer", "Simulated cash drawer on printer-1", peer="printer-1"),
    SimulatedDevice("scanner-1", "serial-scanner", "Simulated serial scanner"),
    SimulatedDevice("scale-1", "toledo-8217", "Simulated Toledo 8217 scale"),
    SimulatedDevice("display-1", "cd5220", "Simulated 2x20 customer display"),
)
