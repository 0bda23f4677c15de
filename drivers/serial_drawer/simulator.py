"""Simulated IBM-style serial drawer port on a real pty: BEL opens, ACK asks for the status byte."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from drivers.models import DeviceKind
from drivers.serial_drawer.codec import OPEN_DRAWER_1, STATUS_REQUEST, encode_status
from drivers.simulator import PtyEndpoint, SimEnvironment, Simulator


class DrawerSetControl(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["set"]
    opened: bool


class SilenceControl(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["silent"]
    silent: bool


class SerialDrawerSimulator(Simulator):
    """The drawer opens on its kick and is closed by hand (a control); ``silent`` stops status replies."""

    kind = DeviceKind.DRAWER
    Control = DrawerSetControl | SilenceControl

    def __init__(self, device_id: str, endpoint: PtyEndpoint) -> None:
        super().__init__(device_id, endpoint)
        self.opened = False
        self.silent = False
        self.kicks = 0

    @classmethod
    def create(cls, device_id: str, env: SimEnvironment) -> SerialDrawerSimulator:
        return cls(device_id, PtyEndpoint(env.sim_dir / device_id, serial={"baudrate": 9600}))

    def on_bytes(self, data: bytes) -> None:
        for byte in data:
            if bytes([byte]) == OPEN_DRAWER_1:
                self.kicks += 1
                self.opened = True
            elif bytes([byte]) == STATUS_REQUEST and not self.silent:
                self.send(encode_status(self.opened))

    async def apply(self, control: BaseModel) -> dict[str, Any]:
        if isinstance(control, DrawerSetControl):
            self.opened = control.opened
        elif isinstance(control, SilenceControl):
            self.silent = control.silent
        return self.output()

    def output(self) -> dict[str, Any]:
        return {"opened": self.opened, "kicks": self.kicks, "silent": self.silent}
