"""Urano scale driver: polls with ENQ, reads the ``PESO:`` text. The protocol has no zero or tare (409)."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel

from drivers.scale_base import PolledScale, PolledScaleOptions
from drivers.scale_codec import ScaleDecoder, ScaleReading
from drivers.toledo.driver import LINE_8N1
from drivers.transports import Transport
from drivers.urano.codec import REQUEST_WEIGHT, UranoDecoder, UranoWeight, reading_of


class UranoScale(PolledScale[UranoWeight]):
    Options: ClassVar[type[BaseModel]] = PolledScaleOptions
    options: PolledScaleOptions
    serial_defaults: ClassVar[dict[str, Any]] = LINE_8N1

    def new_decoder(self) -> ScaleDecoder[UranoWeight]:
        return UranoDecoder()

    def reading_of(self, item: UranoWeight) -> ScaleReading:
        return reading_of(item)

    async def poll(self, transport: Transport) -> ScaleReading:
        return reading_of(await self.exchange(transport, REQUEST_WEIGHT))
