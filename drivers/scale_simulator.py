"""The device side every simulated scale shares: the load on the plate, its condition, tare, the controls.

Each protocol's simulator subclasses :class:`ScaleSimulator` and only says how the scale answers a
request (:meth:`Simulator.on_bytes`) or, for streaming scales, what frame it sends (:meth:`frame`, sent
every ``stream_interval_s`` while plugged). Controls (``POST /api/v1/sim/{id}``):

* ``{"action":"set","value":1.235,"unit":"kg","stable":true}`` — the load (negative: under zero);
* ``{"action":"status","status":"motion"|"stable"|"over_capacity"|"under_zero"}``;
* ``{"action":"noise","hex":"ff00"}`` — raw bytes on the line; ``unplug`` / ``plug`` from the base.

Simulated lines are 8N1 ptys: a pty refuses parity (EINVAL), so 7E1 protocols run 8N1 here and their
codecs mask bit 7, which reads the same.
"""

from __future__ import annotations

import asyncio
import contextlib
from decimal import Decimal
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError, ValidationError

from drivers.models import DeviceKind
from drivers.scale_codec import UNITS, Unit
from drivers.simulator import PtyEndpoint, SimEnvironment, Simulator

Condition = Literal["stable", "motion", "over_capacity", "under_zero"]

#: The 8N1 line every simulated scale uses (explicit, so per-protocol serial defaults never apply to a pty).
SIM_LINE: dict[str, Any] = {"baudrate": 9600, "bytesize": 8, "parity": "N", "stopbits": 1}


class SetControl(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["set"]
    value: Decimal = Field(gt=-100000, lt=100000, description="Gross load on the plate; negative is under zero.")
    unit: Unit = "kg"
    stable: bool = True


class StatusControl(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["status"]
    status: Condition


class NoiseControl(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["noise"]
    hex: str = Field(max_length=8192, description="Raw bytes (hex) to put on the line.")

    @field_validator("hex")
    @classmethod
    def _is_hex(cls, value: str) -> str:
        bytes.fromhex(value)  # ValueError (→ a validation error) when it is not hex
        return value

    @property
    def data(self) -> bytes:
        return bytes.fromhex(self.hex)


class ScaleSimulator(Simulator):
    kind = DeviceKind.SCALE
    Control = SetControl | StatusControl | NoiseControl
    #: Units this scale can weigh in (the first is its default).
    units: ClassVar[tuple[Unit, ...]] = UNITS
    #: Decimals the scale shows per unit (its resolution).
    decimals: ClassVar[dict[Unit, int]] = {"kg": 3, "g": 0, "lb": 2, "oz": 1}
    #: Streaming scales: seconds between frames; None for scales that only answer requests.
    stream_interval_s: ClassVar[float | None] = None

    def __init__(self, device_id: str, endpoint: PtyEndpoint) -> None:
        super().__init__(device_id, endpoint)
        self.value = Decimal(0)
        self.unit: Unit = self.units[0]
        self.condition: Condition = "stable"
        self.tare = Decimal(0)
        self.requests = 0
        self._streamer: asyncio.Task[None] | None = None

    @classmethod
    def create(cls, device_id: str, env: SimEnvironment) -> ScaleSimulator:
        return cls(device_id, PtyEndpoint(env.sim_dir / device_id, serial=dict(SIM_LINE)))

    # -- the load ------------------------------------------------------------------------------------
    def quantize(self, value: Decimal) -> Decimal:
        return value.quantize(Decimal(1).scaleb(-self.decimals[self.unit]))

    @property
    def net(self) -> Decimal:
        """What the display shows: gross minus tare, at the scale's resolution."""
        return self.quantize(self.value - self.tare)

    @property
    def motion(self) -> bool:
        return self.condition == "motion"

    @property
    def over_capacity(self) -> bool:
        return self.condition == "over_capacity"

    @property
    def under_zero(self) -> bool:
        return self.condition == "under_zero" or self.net < 0

    def do_zero(self) -> bool:
        """Zero as a real scale does: only when still and in range. Returns whether it zeroed."""
        if self.motion or self.over_capacity:
            return False
        self.value, self.tare, self.condition = Decimal(0), Decimal(0), "stable"
        return True

    def do_tare(self) -> bool:
        if self.motion or self.over_capacity or self.under_zero:
            return False
        self.tare = self.value
        return True

    def clear_tare(self) -> None:
        self.tare = Decimal(0)

    # -- controls ------------------------------------------------------------------------------------
    async def control(self, action: dict[str, Any]) -> dict[str, Any]:
        if action.get("action") == "set":
            unit = action.get("unit", self.units[0])
            if unit in UNITS and unit not in self.units:
                error = PydanticCustomError(
                    "unit_not_supported", "this scale weighs in {units}", {"units": ", ".join(self.units)}
                )
                raise ValidationError.from_exception_data(
                    type(self).__name__, [{"type": error, "loc": ("unit",), "input": unit}]
                )
        return await super().control(action)

    async def apply(self, control: BaseModel) -> dict[str, Any]:
        if isinstance(control, SetControl):
            self.unit = control.unit
            self.value = self.quantize(control.value)
            self.condition = "stable" if control.stable else "motion"
        elif isinstance(control, StatusControl):
            self.condition = control.status
        elif isinstance(control, NoiseControl):
            self.send_noise(control.data)
        return self.output()

    def send_noise(self, data: bytes) -> None:
        self.send(data)

    def output(self) -> dict[str, Any]:
        return {
            "value": float(self.value),
            "unit": self.unit,
            "status": self.condition,
            "tare": float(self.tare),
            "requests": self.requests,
        }

    # -- streaming scales ----------------------------------------------------------------------------
    def frame(self) -> bytes:
        """The frame a streaming scale sends now (streaming simulators override)."""
        raise NotImplementedError

    def begin_stream(self, interval: float) -> None:
        """Start sending :meth:`frame` every ``interval`` seconds (no-op while already streaming)."""
        if self._streamer is None:
            self._streamer = asyncio.get_running_loop().create_task(
                self._stream(interval), name=f"sim-stream-{self.device_id}"
            )

    def end_stream(self) -> None:
        streamer, self._streamer = self._streamer, None
        if streamer is not None:
            streamer.cancel()

    async def start(self) -> None:
        await super().start()
        if self.stream_interval_s is not None:
            self.begin_stream(self.stream_interval_s)

    async def stop(self) -> None:
        streamer, self._streamer = self._streamer, None
        if streamer is not None:
            streamer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await streamer
        await super().stop()

    async def _stream(self, interval: float) -> None:
        while True:
            self.send(self.frame())
            await asyncio.sleep(interval)
