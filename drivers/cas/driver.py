"""CAS PD-II drivers: ENQ → ACK, then DC1 (type 6 frame) or DC2 (type 0/1 frame). No zero or tare (409)."""

from __future__ import annotations

from typing import Any, ClassVar

from drivers.cas.codec import DC1, DC2, ENQ, CasControl, CasDecoder, CasReply, Format, reading_of
from drivers.scale_base import PolledScale
from drivers.scale_codec import ScaleDecoder, ScaleReading
from drivers.toledo.driver import LINE_7E1, LINE_8N1
from drivers.transports import Transport


def _is_ack(reply: CasReply) -> bool:
    return isinstance(reply, CasControl) and reply.kind == "ack"


class CasScale(PolledScale[CasReply]):
    format: ClassVar[Format]
    request: ClassVar[bytes]

    def new_decoder(self) -> ScaleDecoder[CasReply]:
        return CasDecoder(self.format)

    def reading_of(self, item: CasReply) -> ScaleReading | None:
        return reading_of(item)

    async def poll(self, transport: Transport) -> ScaleReading | None:
        await self.exchange(transport, ENQ, _is_ack)
        return reading_of(await self.exchange(transport, self.request, lambda reply: not _is_ack(reply)))


class CasDc1Scale(CasScale):
    """ECR type 6: ``SOH STX STA SIGN W5…W0 UN BCC ETX EOT`` with stability, sign and unit."""

    format: ClassVar[Format] = "dc1"
    request: ClassVar[bytes] = DC1
    serial_defaults: ClassVar[dict[str, Any]] = LINE_8N1


class CasDc2Scale(CasScale):
    """ECR types 0/1: ``STX ID W5…W1 BCC ETX`` only when stable, BEL at zero, NAK otherwise."""

    format: ClassVar[Format] = "dc2"
    request: ClassVar[bytes] = DC2
    serial_defaults: ClassVar[dict[str, Any]] = LINE_7E1
