"""Sans-I/O codec for the NCI / ECR scale protocol (NCI 3825, Weigh-Tronix, Mettler Toledo "ECR", CAS ECR
type 4) and the Adam Equipment MDW "ECR" mode, which is the same message shape.

Requests end with CR: ``W`` weight, ``S`` status, ``Z`` zero, ``T`` tare (Adam), ``H`` high resolution.
Every reply is one message ending in ETX, made of LF … CR lines::

    W →  LF 01.235KG CR  LF S hh CR ETX        weight line, status line
         LF hh CR ETX                           status only (negative, motion, over/under capacity)
         LF ?  CR ETX                           unrecognized command
    Adam W → LF <p>w1…w6<dp>w7 kg CR LF H1H2H3 CR ETX; ``^^^^^^`` over, ``______`` under, ``------`` zero error

The weight field has a fixed width — NCI six characters with the point (five digits without), Adam seven
digits plus the point — and other widths are refused: without a checksum, the width is what tells a
complete field from one that lost a digit. Status bytes (two to four, ``S`` before them on some scales)
have bits 4–5 set (``0``–``?``): byte 1 bit 0 motion, bit 1 at zero, bits 2–3 RAM/EEPROM error; byte 2
bit 0 under capacity (below zero), bit 1 over capacity, bits 2–3 ROM error / faulty calibration; byte 3
bit 3 initial zero error. Adam's H1H2H3 are read the same way (unverified: the MDW manual's bit table was
not at hand; the message shape and the byte pattern match).

Sources: Mettler Toledo DIVA service manual (ECR protocol), Avery Weigh-Tronix 7821 and NCI 7800 manuals,
Fairbanks PC2250 (status nibbles), Adam MDW manual §8.5.3, CAS firmware (ECR type 4). Parity is masked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from drivers.scale_codec import (
    ETX,
    LF,
    MASK7,
    BadFrame,
    ScaleReading,
    Unit,
    decimal_from_text,
)

REQUEST_WEIGHT = b"W\r"
REQUEST_STATUS = b"S\r"
REQUEST_ZERO = b"Z\r"
REQUEST_TARE = b"T\r"

#: A message longer than this without its ETX is noise (the longest real one is ~30 bytes).
MAX_MESSAGE = 64

_MESSAGE = re.compile(rb"\n([^\r\n]*)\r(?:\n([^\r\n]*)\r)?\Z")
_WEIGHT_LINE = re.compile(rb"\A\s*([-+]?)\s*(\d+(?:\.\d*)?|\.\d+|\^+|_+|-{2,})\s*([A-Za-z]{1,2})\s*\Z")
_UNITS: dict[bytes, Unit] = {b"kg": "kg", b"lb": "lb", b"oz": "oz", b"g": "g"}

# status byte 1 / 2 / 3 bits
MOTION = 0x01
AT_ZERO = 0x02
RAM_OR_EEPROM = 0x0C
UNDER = 0x01
OVER = 0x02
ROM_OR_CALIBRATION = 0x0C
INITIAL_ZERO_ERROR = 0x08


@dataclass(frozen=True, slots=True)
class NciStatus:
    bytes_: bytes

    @property
    def motion(self) -> bool:
        return bool(self.bytes_[0] & MOTION)

    @property
    def at_zero(self) -> bool:
        return bool(self.bytes_[0] & AT_ZERO)

    @property
    def under(self) -> bool:
        return bool(self.bytes_[1] & UNDER)

    @property
    def over(self) -> bool:
        return bool(self.bytes_[1] & OVER)

    @property
    def error(self) -> bool:
        third = self.bytes_[2] if len(self.bytes_) > 2 else 0
        return bool(self.bytes_[0] & RAM_OR_EEPROM or self.bytes_[1] & ROM_OR_CALIBRATION or third & INITIAL_ZERO_ERROR)


@dataclass(frozen=True, slots=True)
class NciWeight:
    value: Decimal | None
    """None when the field shows over (``^``), under (``_``) or zero-error (``-``) marks."""
    unit: Unit
    over: bool = False
    under: bool = False
    zero_error: bool = False


@dataclass(frozen=True, slots=True)
class NciReply:
    weight: NciWeight | None
    status: NciStatus | None
    unrecognized: bool = False


def parse_status(line: bytes) -> NciStatus | None:
    body = line[1:] if line[:1] == b"S" else line
    body = body.strip(b" ")
    if not 2 <= len(body) <= 4 or any(b & 0x30 != 0x30 for b in body):
        return None
    return NciStatus(body)


def parse_weight(line: bytes) -> NciWeight | None:
    match = _WEIGHT_LINE.match(line)
    if match is None:
        return None
    sign, field, unit_text = match.groups()
    unit = _UNITS.get(unit_text.lower())
    if unit is None:
        return None
    mark = field[:1]
    if mark in (b"^", b"_", b"-"):
        return NciWeight(None, unit, over=mark == b"^", under=mark == b"_", zero_error=mark == b"-")
    # Fixed widths (NCI: six characters with the point, five digits without; Adam: eight / seven), so a
    # field that lost a character is refused instead of read as another weight.
    if len(field) not in ((6, 8) if b"." in field else (5, 7)):
        return None
    value = decimal_from_text(sign + field)
    return NciWeight(value, unit) if value is not None else None


def parse_message(message: bytes) -> NciReply | BadFrame:
    """One message from its first LF up to (not including) ETX."""
    match = _MESSAGE.match(message)
    if match is None:
        return BadFrame("not LF … CR [LF … CR] ETX", message)
    first, second = match.groups()
    if second is None:
        if first.strip() == b"?":
            return NciReply(None, None, unrecognized=True)
        status = parse_status(first)
        return NciReply(None, status) if status is not None else BadFrame("bad status line", message)
    weight = parse_weight(first)
    status = parse_status(second)
    if weight is None:
        return BadFrame("bad weight line", message)
    if status is None:
        return BadFrame("bad status line", message)
    return NciReply(weight, status)


class NciDecoder:
    """Messages from LF to ETX. A message that does not parse is dropped and the search resumes at the
    next LF inside it (noise before a real message costs nothing); one too long without ETX is dropped."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.skipped = 0

    def feed(self, data: bytes) -> list[NciReply | BadFrame]:
        buffer = self._buffer
        buffer += data.translate(MASK7)
        out: list[NciReply | BadFrame] = []
        position = 0
        while True:
            start = buffer.find(LF, position)
            if start < 0:
                self.skipped += len(buffer) - position
                position = len(buffer)
                break
            self.skipped += start - position
            end = buffer.find(ETX, start, start + MAX_MESSAGE + 1)
            if end < 0:
                if len(buffer) - start > MAX_MESSAGE:
                    out.append(BadFrame("no ETX", bytes(buffer[start : start + MAX_MESSAGE])))
                    position = start + 1
                    continue
                position = start
                break
            item = parse_message(bytes(buffer[start:end]))
            out.append(item)
            position = start + 1 if isinstance(item, BadFrame) else end + 1
        del buffer[:position]
        return out


def reading_of(reply: NciReply) -> ScaleReading | None:
    status = reply.status
    if reply.unrecognized or status is None:
        return None
    weight = reply.weight
    if weight is None and not (status.motion or status.under or status.over or status.error):
        return None  # status only, no reason given: what is left of a damaged weight message, not news
    return ScaleReading(
        value=weight.value if weight is not None else None,
        unit=weight.unit if weight is not None else None,
        motion=status.motion,
        over_capacity=status.over or (weight is not None and weight.over),
        under_zero=status.under or (weight is not None and weight.under),
        fault=status.error or (weight is not None and weight.zero_error),
    )


def encode_status(
    *, motion: bool = False, at_zero: bool = False, under: bool = False, over: bool = False, prefix: bool = True
) -> bytes:
    first = 0x30 | (MOTION if motion else 0) | (AT_ZERO if at_zero else 0)
    second = 0x30 | (UNDER if under else 0) | (OVER if over else 0)
    return (b"S" if prefix else b"") + bytes([first, second])


def encode_reply(weight_line: bytes | None, status: bytes) -> bytes:
    """``LF weight CR LF status CR ETX`` (or status only when ``weight_line`` is None)."""
    head = b"\n" + weight_line + b"\r" if weight_line is not None else b""
    return head + b"\n" + status + b"\r\x03"


def nci_weight_line(value: Decimal, unit: Unit) -> bytes:
    """NCI weight field: six characters with the decimal point, leading zeros kept, ANSI unit upper case."""
    decimals = {"kg": 3, "lb": 2, "oz": 1, "g": 0}[unit]
    text = f"{value:0{6 if decimals else 5}.{decimals}f}"
    return text.encode() + unit.upper().encode()


def adam_weight_line(value: Decimal | None, unit: Unit, mark: bytes = b"") -> bytes:
    """Adam MDW: polarity, seven digits with the decimal point, unit in lower case; marks for over/under."""
    if value is None:
        return mark * 6 + unit.encode()
    exponent = value.as_tuple().exponent
    decimals = max(0, -exponent) if isinstance(exponent, int) else 0
    digits = f"{abs(value):0{8 if decimals else 7}.{decimals}f}"
    return (b"-" if value < 0 else b" ") + digits.encode() + unit.encode()
