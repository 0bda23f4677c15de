"""Simulated CD5220 customer display on a real pty: shows its two lines in the sim output API."""

from __future__ import annotations

from typing import Any

from drivers.cd5220.codec import DisplayInterpreter
from drivers.cd5220.driver import Cd5220Options
from drivers.models import DeviceKind
from drivers.simulator import PtyEndpoint, SimEnvironment, Simulator


class Cd5220Simulator(Simulator):
    kind = DeviceKind.DISPLAY

    def __init__(self, device_id: str, endpoint: PtyEndpoint) -> None:
        super().__init__(device_id, endpoint)
        self.received = 0
        """Bytes the display has received (so a test can show that nothing was sent)."""
        self.screen = DisplayInterpreter()

    @classmethod
    def create(cls, device_id: str, env: SimEnvironment) -> Cd5220Simulator:
        simulator = cls(device_id, PtyEndpoint(env.sim_dir / device_id, serial={"baudrate": 9600}))
        options = env.driver_options(device_id, Cd5220Options)
        if options is not None:  # the character table (and width) the unit is set to, as its driver assumes
            simulator.screen.encoding, simulator.screen.columns = options.encoding, options.columns
        return simulator

    def on_bytes(self, data: bytes) -> None:
        self.received += len(data)
        self.screen.feed(data)

    def output(self) -> dict[str, Any]:
        return {"lines": list(self.screen.lines), "bytes": self.received}
