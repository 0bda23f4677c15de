"""USB HID POS scale driver over hidraw: input report 3 carries the weight; output report ``02 02`` zeroes."""

from __future__ import annotations

from typing import ClassVar

from drivers.errors import DeviceError
from drivers.hidscale.codec import ZERO_REPORT, HidScaleDecoder, HidWeight, reading_of
from drivers.models import DeviceState
from drivers.scale_base import ContinuousScale
from drivers.scale_codec import ScaleDecoder, ScaleReading
from drivers.transports import HidrawTransport, Transport


class HidScale(ContinuousScale[HidWeight]):
    """Reports arrive by themselves (most scales send them continuously; some only on change, so silence
    is not offline — a removed hidraw node is). HID POS defines no tare (409)."""

    silence_is_offline: ClassVar[bool] = False

    def new_decoder(self) -> ScaleDecoder[HidWeight]:
        return HidScaleDecoder()

    def reading_of(self, item: HidWeight) -> ScaleReading:
        return reading_of(item)

    async def session(self, transport: Transport) -> None:
        if not isinstance(transport, HidrawTransport):
            raise DeviceError('hid-scale needs a hid transport (type = "hid", path = "/dev/hidrawN")')
        self.ctx.set_state(DeviceState.READY)  # the node opened: the scale is there, even if it is quiet
        await self.stream(transport)

    async def read_chunk(self, transport: Transport, timeout: float) -> bytes:
        assert isinstance(transport, HidrawTransport)
        return await transport.read_report(timeout)

    async def zero(self) -> None:
        await self.connected_transport().write(ZERO_REPORT, timeout=self.options.reply_timeout_s)
