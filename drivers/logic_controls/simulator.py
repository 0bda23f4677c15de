"""Simulated Logic Controls pole display on a real pty: shows its two lines in the sim output API."""

from __future__ import annotations

from typing import Any

from drivers.logic_controls.codec import LogicControlsInterpreter
from drivers.logic_controls.driver import LogicControlsOptions
from drivers.models import DeviceKind
from drivers.simulator import PtyEndpoint, SimEnvironment, Simulator


class LogicControlsSimulator(Simulator):
    kind = DeviceKind.DISPLAY

    def __init__(self, device_id: str, endpoint: PtyEndpoint) -> None:
        super().__init__(device_id, endpoint)
        self.received = 0
        """Bytes the display has received (so a test can show that nothing was sent)."""
        self.screen = LogicControlsInterpreter()

    @classmethod
    def create(cls, device_id: str, env: SimEnvironment) -> LogicControlsSimulator:
        simulator = cls(device_id, PtyEndpoint(env.sim_dir / device_id, serial={"baudrate": 9600}))
        options = env.driver_options(device_id, LogicControlsOptions)
        if options is not None:  # the character table (and width) the unit is set to, as its driver assumes
            simulator.screen.encoding = options.encoding
        return simulator

    def on_bytes(self, data: bytes) -> None:
        self.received += len(data)
        self.screen.feed(data)

    def output(self) -> dict[str, Any]:
        return {
            "lines": self.screen.lines,
            "mode": "vertical_scroll" if self.screen.vertical_scroll else "normal",
            "brightness": self.screen.brightness,
            "bytes": self.received,
        }
