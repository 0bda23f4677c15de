"""Simulated Mettler Toledo 8217 scale on a real pty."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from drivers.models import DeviceKind
from drivers.simulator import PtyEndpoint, SimEnvironment, Simulator
from drivers.toledo.codec import (
    MOTION,
    OVER_CAPACITY,
    UNDER_ZERO,
    encode_status,
    encode_weight,
)


class SetControl(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["set"]
    value: Decimal = Field(ge=0, lt=1000)
    unit: Literal["kg", "lb"] = "kg"
    stable: bool = True


class StatusControl(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["status"]
    status: Literal["stable", "motion", "over_capacity", "under_zero"]


class NoiseControl(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["noise"]
    hex: str


class Toledo8217Simulator(Simulator):
    kind = DeviceKind.SCALE
    Control = SetControl | StatusControl | NoiseControl

    def __init__(self, device_id: str, endpoint: PtyEndpoint) -> None:
        super().__init__(device_id, endpoint)
        self.value = Decimal("0.000")
        self.unit: Literal["kg", "lb"] = "kg"
        self.condition: Literal["stable", "motion", "over_capacity", "under_zero"] = "stable"
        self.tare = Decimal(0)
        self.requests = 0

    @classmethod
    def create(cls, device_id: str, env: SimEnvironment) -> Toledo8217Simulator:
        # Real 8217 lines run 7E1; a pty refuses parity settings (EINVAL), and carries no parity bit anyway,
        # so the simulated line is 8N1. The codec masks bit 7, so both read the same.
        return cls(device_id, PtyEndpoint(env.sim_dir / device_id, serial={"baudrate": 9600}))

    def _reply(self) -> bytes:
        bits = {"stable": 0, "motion": MOTION, "over_capacity": OVER_CAPACITY, "under_zero": UNDER_ZERO}[self.condition]
        if bits:
            return encode_status(bits)
        return encode_weight(self.value - self.tare, self.unit, net=bool(self.tare))

    def on_bytes(self, data: bytes) -> None:
        for byte in data:
            command = chr(byte & 0x7F)
            self.requests += 1
            if command == "W":
                self.send(self._reply())
            elif command == "Z":
                self.value, self.tare = Decimal(0), Decimal(0)
                self.send(encode_status(0))
            elif command == "T":
                self.tare = self.value
                self.send(encode_status(0))
            elif command == "C":
                self.tare = Decimal(0)
                self.send(encode_status(0))

    async def apply(self, control: BaseModel) -> dict[str, Any]:
        if isinstance(control, SetControl):
            self.value, self.unit = control.value, control.unit
            self.condition = "stable" if control.stable else "motion"
        elif isinstance(control, StatusControl):
            self.condition = control.status
        elif isinstance(control, NoiseControl):
            self.send(bytes.fromhex(control.hex))
        return self.output()

    def output(self) -> dict[str, Any]:
        return {"value": float(self.value), "unit": self.unit, "status": self.condition, "tare": float(self.tare)}
