"""Simulated Epson DM-D customer display on a real pty: shows its two lines in the sim output API."""

from __future__ import annotations

from typing import Any

from drivers.epson_dmd.codec import DmdInterpreter
from drivers.epson_dmd.driver import EpsonDmdOptions
from drivers.models import DeviceKind
from drivers.simulator import PtyEndpoint, SimEnvironment, Simulator


class EpsonDmdSimulator(Simulator):
    kind = DeviceKind.DISPLAY

    def __init__(self, device_id: str, endpoint: PtyEndpoint) -> None:
        super().__init__(device_id, endpoint)
        self.received = 0
        """Bytes the display has received (so a test can show that nothing was sent)."""
        self.screen = DmdInterpreter()

    @classmethod
    def create(cls, device_id: str, env: SimEnvironment) -> EpsonDmdSimulator:
        simulator = cls(device_id, PtyEndpoint(env.sim_dir / device_id, serial={"baudrate": 9600}))
        options = env.driver_options(device_id, EpsonDmdOptions)
        if options is not None:  # the character table (and width) the unit is set to, as its driver assumes
            simulator.screen.encoding = options.encoding
        return simulator

    def on_bytes(self, data: bytes) -> None:
        self.received += len(data)
        self.screen.feed(data)

    def output(self) -> dict[str, Any]:
        screen = self.screen
        return {"lines": screen.lines, "encoding": screen.encoding, "mode": screen.mode, "bytes": self.received}
