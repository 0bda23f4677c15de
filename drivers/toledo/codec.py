"""Sans-I/O codec for Mettler Toledo 8213/8217-style scales ("SCP": W, Z, T, C commands).

Replies: ``STX WW.WWW CR`` (kg, 3 decimals) or ``STX 0WW.WW CR`` (lb, 2 decimals), optional trailing
``N`` (net); when the scale cannot give a weight: ``STX ? <status> CR`` with the status bits below.
Parity (bit 7) is masked off, so 7E1 lines read right whatever the port's data bits are. (The DIVA manual
also shows a five-character ``WW.WW`` pound field; it is not accepted: a kg frame that lost its last digit
would read as one, a wrong weight.)
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Literal

from drivers.scale_codec import BadFrame, ScaleReading

__all__ = ["BadFrame", "Reply", "StatusReply", "ToledoDecoder", "WeightReply", "reading_of"]

STX = 0x02
CR = 0x0D
MAX_FRAME = 16

REQUEST_WEIGHT = b"W"
REQUEST_ZERO = b"Z"
REQUEST_TARE = b"T"
REQUEST_CLEAR = b"C"

MOTION = 0x01
OVER_CAPACITY = 0x02
UNDER_ZERO = 0x04
OUTSIDE_ZERO_RANGE = 0x08
CENTER_OF_ZERO = 0x10
NET = 0x20
ALWAYS_ONE = 0x40


@dataclass(frozen=True, slots=True)
class WeightReply:
    value: Decimal
    unit: Literal["kg", "lb"]
    net: bool


@dataclass(frozen=True, slots=True)
class StatusReply:
    bits: int

    @property
    def motion(self) -> bool:
        return bool(self.bits & MOTION)

    @property
    def over_capacity(self) -> bool:
        return bool(self.bits & OVER_CAPACITY)

    @property
    def under_zero(self) -> bool:
        return bool(self.bits & UNDER_ZERO)


Reply = WeightReply | StatusReply


def encode_weight(value: Decimal, unit: Literal["kg", "lb"], net: bool = False) -> bytes:
    text = f"{value:06.3f}" if unit == "kg" else f"{value:06.2f}"
    return bytes([STX]) + text.encode() + (b"N" if net else b"") + bytes([CR])


def encode_status(bits: int) -> bytes:
    return bytes([STX, ord("?"), (bits | ALWAYS_ONE) & 0x7F, CR])


def parse_payload(payload: bytes) -> Reply | BadFrame:
    if payload[:1] == b"?":
        if len(payload) != 2 or not payload[1] & ALWAYS_ONE:
            return BadFrame("bad status frame", payload)
        return StatusReply(payload[1] & 0x3F)
    net = payload.endswith(b"N")
    digits = payload[:-1] if net else payload
    if len(digits) != 6 or digits.count(b".") != 1 or not digits.replace(b".", b"").isdigit():
        return BadFrame("bad weight frame", payload)
    decimals = len(digits) - digits.index(b".") - 1
    if decimals not in (2, 3):
        return BadFrame("unexpected decimal position", payload)
    try:
        value = Decimal(digits.decode())
    except InvalidOperation:
        return BadFrame("bad weight frame", payload)
    return WeightReply(value=value, unit="kg" if decimals == 3 else "lb", net=net)


class ToledoDecoder:
    """Feed bytes, get replies. Noise before STX is skipped; an over-long frame is dropped and reported."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._in_frame = False
        self.skipped = 0

    def feed(self, data: bytes) -> list[Reply | BadFrame]:
        out: list[Reply | BadFrame] = []
        for raw in data:
            byte = raw & 0x7F
            if byte == STX:
                if self._in_frame and self._buffer:
                    out.append(BadFrame("frame cut short", bytes(self._buffer)))
                self._buffer.clear()
                self._in_frame = True
            elif not self._in_frame:
                self.skipped += 1
            elif byte == CR:
                out.append(parse_payload(bytes(self._buffer)))
                self._buffer.clear()
                self._in_frame = False
            else:
                self._buffer.append(byte)
                if len(self._buffer) > MAX_FRAME:
                    out.append(BadFrame("frame too long", bytes(self._buffer)))
                    self._buffer.clear()
                    self._in_frame = False
        return out


def reading_of(reply: Reply) -> ScaleReading:
    """A weight reply is a stable reading (the 8217 only sends weights when still, in range and not
    negative); a status reply carries no weight, only its flags."""
    if isinstance(reply, WeightReply):
        return ScaleReading(value=reply.value, unit=reply.unit, net=reply.net)
    return ScaleReading(
        value=None,
        unit=None,
        motion=reply.motion,
        over_capacity=reply.over_capacity,
        under_zero=reply.under_zero,
        fault=bool(reply.bits & OUTSIDE_ZERO_RANGE) and not (reply.bits & (MOTION | OVER_CAPACITY | UNDER_ZERO)),
        net=bool(reply.bits & NET),
    )
