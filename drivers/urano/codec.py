"""Sans-I/O codec for Urano scales (Brazil: POP, US, UDC lines in "automação" mode).

The POS sends ENQ (05); the scale answers with the text it would print, with printer escape sequences
around it, e.g. ``ESC T1 ESC A13 … ESC B * PESO: 5,10kg ESC E ESC P01``. The weight follows ``PESO:``
(decimal comma) and ends at its unit (``kg`` or ``g``); ``-`` before it means negative. The character two
places before ``PESO`` is ``*`` when the weight is stable and a space while it moves. Source: ACBr
(ACBrBALUrano.pas), which reads the same fields. No checksum: the grammar is the only check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from drivers.scale_codec import MASK7, BadFrame, ScaleReading, Unit, decimal_from_text

REQUEST_WEIGHT = b"\x05"

_KEY = b"PESO"
_FRAME = re.compile(rb"PESO:[ ]{0,8}(-?)[ ]{0,8}(\d{1,7}(?:[.,]\d{1,4})?)[ ]{0,2}(kg|g)")
#: The longest start of a frame found at a ``PESO``: reaching the buffer's end means "wait for more".
_PREFIX = re.compile(rb"PESO(?::[ ]{0,8}(?:-[ ]{0,8})?(?:\d{1,7}(?:[.,]\d{0,4})?[ ]{0,2}k?)?)?")
#: Bytes kept when no ``PESO`` is in the buffer: enough for the stability mark and a key cut in two.
_TAIL = 2 + len(_KEY) - 1


@dataclass(frozen=True, slots=True)
class UranoWeight:
    value: Decimal
    unit: Unit
    stable: bool


def parse_frame(mark: bytes, frame: bytes) -> UranoWeight | BadFrame:
    match = _FRAME.match(frame)
    if match is None:
        return BadFrame("not PESO: <weight>kg", frame)
    sign, number, unit = match.groups()
    value = decimal_from_text(sign + number, comma=True)
    if value is None:  # pragma: no cover - the pattern only lets numbers through
        return BadFrame("bad weight", frame)
    return UranoWeight(value, "kg" if unit == b"kg" else "g", stable=mark == b"*")


class UranoDecoder:
    """``PESO:`` frames out of the reply text. The printer escapes around each frame are part of every reply,
    so the bytes between frames are not counted as noise (``skipped`` stays 0); a garbled frame is a BadFrame.
    """

    skipped = 0

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[UranoWeight | BadFrame]:
        buffer = self._buffer
        buffer += data.translate(MASK7)
        out: list[UranoWeight | BadFrame] = []
        position = 0
        while True:
            key = buffer.find(_KEY, position)
            if key < 0:
                position = max(position, len(buffer) - _TAIL)
                break
            match = _FRAME.match(buffer, key)
            if match is not None:
                # The stability mark sits two bytes before PESO (unknown, so never stable, if cut off).
                mark = bytes(buffer[key - 2 : key - 1]) if key - 2 >= position else b""
                out.append(parse_frame(mark, bytes(buffer[key : match.end()])))
                position = match.end()
                continue
            prefix = _PREFIX.match(buffer, key)
            assert prefix is not None  # "PESO" itself is a prefix
            if prefix.end() == len(buffer):
                position = max(position, key - 2)  # the frame is still arriving; keep its mark
                break
            out.append(BadFrame("not PESO: <weight>kg", bytes(buffer[key : prefix.end() + 1])))
            position = key + 1
        del buffer[:position]
        return out


def reading_of(reply: UranoWeight) -> ScaleReading:
    return ScaleReading(value=reply.value, unit=reply.unit, motion=not reply.stable)


def encode_reply(value: Decimal, stable: bool, unit: Unit = "kg") -> bytes:
    """The text an Urano POP sends, printer escapes included."""
    text = f"{abs(value):.2f}".replace(".", ",") if unit == "kg" else f"{int(abs(value))}"
    sign = "-" if value < 0 else ""
    mark = "*" if stable else " "
    return (
        b"\x1bT1\x1bA13\x1bN0\x1bS2\x1bD4\x1bQ193\x1bB " + f"{mark} PESO: {sign}{text}{unit}".encode() + b"\x1bE\x1bP01"
    )
