"""Toledo scale drivers: 8213/8217 (SCP, polled), the standard continuous output (streamed) and the Prix
price-computing scales (Brazil, protocols A/B/C, polled with ENQ)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field

from drivers.errors import DeviceBusy
from drivers.scale_base import ContinuousScale, PolledScale, PolledScaleOptions, ScaleOptions
from drivers.scale_codec import ScaleDecoder, ScaleReading, Unit
from drivers.toledo import continuous, prix
from drivers.toledo.codec import (
    REQUEST_TARE,
    REQUEST_WEIGHT,
    REQUEST_ZERO,
    Reply,
    StatusReply,
    ToledoDecoder,
    reading_of,
)
from drivers.transports import Transport

#: Line settings per protocol (what the scales ship with; a device's transport keys override them).
LINE_7E1: dict[str, Any] = {"baudrate": 9600, "bytesize": 7, "parity": "E", "stopbits": 1}
LINE_8N1: dict[str, Any] = {"baudrate": 9600, "bytesize": 8, "parity": "N", "stopbits": 1}


class ToledoOptions(PolledScaleOptions):
    unit: Literal["kg", "lb"] | None = Field(None, description="Override the unit read from the decimal position.")


class Toledo8217Scale(PolledScale[Reply]):
    """Polls ``W``; zero ``Z`` and tare ``T`` answer with a status byte (refused while moving or overloaded)."""

    Options: ClassVar[type[BaseModel]] = ToledoOptions
    options: ToledoOptions
    serial_defaults: ClassVar[dict[str, Any]] = LINE_7E1

    @property
    def unit_override(self) -> Unit | None:
        return self.options.unit

    def new_decoder(self) -> ScaleDecoder[Reply]:
        return ToledoDecoder()

    def reading_of(self, item: Reply) -> ScaleReading:
        return reading_of(item)

    async def poll(self, transport: Transport) -> ScaleReading:
        return reading_of(await self.exchange(transport, REQUEST_WEIGHT))

    async def _command(self, request: bytes) -> None:
        reply = await self.exchange(self.connected_transport(), request, timeout=self.options.command_timeout_s)
        if isinstance(reply, StatusReply) and (reply.motion or reply.over_capacity):
            raise DeviceBusy("the scale cannot do that while it is moving or overloaded")
        # The next poll reports the new weight; a status reply carries none to publish.

    async def zero(self) -> None:
        await self._command(REQUEST_ZERO)

    async def tare(self) -> None:
        await self._command(REQUEST_TARE)


class ToledoContinuousOptions(ScaleOptions):
    checksum: bool = Field(True, description="Frames end with the optional checksum character (18 bytes, else 17).")


class ToledoContinuousScale(ContinuousScale[continuous.ContinuousFrame]):
    """Listens to the standard continuous output. The output has no input side: zero and tare are 409."""

    Options: ClassVar[type[BaseModel]] = ToledoContinuousOptions
    options: ToledoContinuousOptions
    serial_defaults: ClassVar[dict[str, Any]] = LINE_7E1

    def new_decoder(self) -> ScaleDecoder[continuous.ContinuousFrame]:
        return continuous.ContinuousDecoder(self.options.checksum)

    def reading_of(self, item: continuous.ContinuousFrame) -> ScaleReading:
        return continuous.reading_of(item)


class ToledoPrixOptions(PolledScaleOptions):
    variant: prix.Variant = Field(
        "auto", description="Reply protocol the scale is set to: A, BC (B or C) or auto (tell them apart)."
    )


class EnqScale(PolledScale[prix.PrixReply]):
    """Polls with ENQ and reads Prix-family replies (Toledo Prix, Filizola). No zero or tare command (409)."""

    serial_defaults: ClassVar[dict[str, Any]] = LINE_8N1

    @property
    def variant(self) -> prix.Variant:
        return "auto"

    def new_decoder(self) -> ScaleDecoder[prix.PrixReply]:
        return prix.PrixDecoder(self.variant)

    def reading_of(self, item: prix.PrixReply) -> ScaleReading | None:
        return prix.reading_of(item)

    async def poll(self, transport: Transport) -> ScaleReading | None:
        return prix.reading_of(await self.exchange(transport, prix.ENQ))


class ToledoPrixScale(EnqScale):
    Options: ClassVar[type[BaseModel]] = ToledoPrixOptions
    options: ToledoPrixOptions

    @property
    def variant(self) -> prix.Variant:
        return self.options.variant
