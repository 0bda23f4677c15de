"""Simulated IBM-style serial drawer port on a real pty: BEL opens, ACK asks for the status byte."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from drivers.models import DeviceKind
from drivers.serial_drawer.codec import DRAWER_1_OPEN, OPEN_DRAWER_1, STATUS_REQUEST, encode_status
from drivers.serial_drawer.driver import SerialDrawerOptions
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

    def __init__(
        self,
        device_id: str,
        endpoint: PtyEndpoint,
        *,
        open_command: bytes = OPEN_DRAWER_1,
        status_command: bytes = STATUS_REQUEST,
        open_mask: int = DRAWER_1_OPEN,
        open_when_set: bool = True,
    ) -> None:
        super().__init__(device_id, endpoint)
        self.opened = False
        self.silent = False
        self.kicks = 0
        # The box's command set (IBM-style by default); empty status_command: a trigger box that never answers.
        self._commands = {
            command: name for command, name in ((open_command, "open"), (status_command, "status")) if command
        }
        self._open_mask = open_mask
        self._open_when_set = open_when_set
        self._pending = b""

    @classmethod
    def create(cls, device_id: str, env: SimEnvironment) -> SerialDrawerSimulator:
        endpoint = PtyEndpoint(env.sim_dir / device_id, serial={"baudrate": 9600})
        options = env.driver_options(device_id, SerialDrawerOptions)
        if options is None:  # built without a configuration (a test rig): the IBM-style box
            return cls(device_id, endpoint)
        return cls(
            device_id,
            endpoint,
            open_command=bytes.fromhex(options.open_command),
            status_command=bytes.fromhex(options.status_command),
            open_mask=options.open_mask,
            open_when_set=options.open_when == "set",
        )

    def on_bytes(self, data: bytes) -> None:
        # Commands may be several bytes and arrive split: act on each whole one, in order, and keep a tail
        # that may be the start of the next.
        buffer = self._pending + data
        longest = max(map(len, self._commands), default=1)
        while True:
            found = [(buffer.find(command), command) for command in self._commands]
            found = [(at, command) for at, command in found if at >= 0]
            if not found:
                break
            at, command = min(found)
            buffer = buffer[at + len(command) :]
            if self._commands[command] == "open":
                self.kicks += 1
                self.opened = True
            elif not self.silent:
                self.send(encode_status(self.opened, self._open_mask, self._open_when_set))
        self._pending = buffer[-(longest - 1) :] if longest > 1 else b""

    async def apply(self, control: BaseModel) -> dict[str, Any]:
        if isinstance(control, DrawerSetControl):
            self.opened = control.opened
        elif isinstance(control, SilenceControl):
            self.silent = control.silent
        return self.output()

    def output(self) -> dict[str, Any]:
        return {"opened": self.opened, "kicks": self.kicks, "silent": self.silent}
