"""NCI / ECR scale driver (polls ``W``, zeroes with ``Z``; the NCI command set has no tare)."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel

from drivers.errors import DeviceBusy, ProtocolError
from drivers.nci.codec import REQUEST_WEIGHT, REQUEST_ZERO, NciDecoder, NciReply, NciStatus, reading_of
from drivers.scale_base import PolledScale, PolledScaleOptions
from drivers.scale_codec import ScaleDecoder, ScaleReading
from drivers.toledo.driver import LINE_7E1
from drivers.transports import Transport


class NciScale(PolledScale[NciReply]):
    Options: ClassVar[type[BaseModel]] = PolledScaleOptions
    options: PolledScaleOptions
    serial_defaults: ClassVar[dict[str, Any]] = LINE_7E1

    def new_decoder(self) -> ScaleDecoder[NciReply]:
        return NciDecoder()

    def reading_of(self, item: NciReply) -> ScaleReading | None:
        return reading_of(item)

    async def poll(self, transport: Transport) -> ScaleReading | None:
        return reading_of(await self.exchange(transport, REQUEST_WEIGHT))

    async def command_status(self, request: bytes) -> NciStatus:
        """Send a command the scale answers with its status; refuse the result while it moves."""
        reply = await self.exchange(self.connected_transport(), request, timeout=self.options.command_timeout_s)
        if reply.status is None:
            raise ProtocolError(f"the scale did not understand {request!r}")
        if reply.status.motion:
            raise DeviceBusy("the scale cannot do that while it is moving")
        return reply.status

    async def zero(self) -> None:
        status = await self.command_status(REQUEST_ZERO)
        # The scale ignores Z outside its zero range and answers with the zero flag clear.
        if not status.at_zero:
            raise DeviceBusy("the scale did not zero (load outside its zero range)")
