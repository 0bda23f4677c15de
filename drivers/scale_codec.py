"""Pieces every scale codec shares: readings, bad-frame reports, checksums, fixed-length framing, status mapping.

Pure and sans-I/O like the codecs that use it: bytes in, typed values out, no clock, no asyncio.
A codec turns bytes into :class:`ScaleReading` (what the scale said about the load) plus protocol-specific
control replies, and reports what it could not use as :class:`BadFrame`. :func:`weight_from_reading` is
the one place where protocol flags become the API's ``Weight`` statuses, so every protocol maps the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Generic, Literal, Protocol, TypeVar

from drivers.models import Weight

Unit = Literal["kg", "g", "lb", "oz"]
UNITS: tuple[Unit, ...] = ("kg", "g", "lb", "oz")

#: bytes.translate table that clears bit 7: a 7-bit line (7E1, 7O1) read by an 8-bit port shows its parity there.
MASK7 = bytes(b & 0x7F for b in range(256))

STX = 0x02
ETX = 0x03
CR = 0x0D
LF = 0x0A


@dataclass(frozen=True, slots=True)
class BadFrame:
    """Bytes that looked like a frame but are not a valid one (dropped, logged, counted)."""

    reason: str
    data: bytes


@dataclass(frozen=True, slots=True)
class ScaleReading:
    """What one frame said about the load. ``value`` None: the frame carried status only, no weight."""

    value: Decimal | None
    unit: Unit | None
    motion: bool = False
    over_capacity: bool = False
    under_zero: bool = False
    fault: bool = False
    net: bool = False


R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)


class ScaleDecoder(Protocol[R_co]):
    """What a scale driver needs of a codec's decoder."""

    skipped: int
    """Noise bytes dropped outside any frame so far (counted, so feeding whole or in pieces gives the same items)."""

    def feed(self, data: bytes) -> Sequence[R_co | BadFrame]: ...


def weight_from_reading(reading: ScaleReading, last: Weight | None, unit: Unit | None = None) -> Weight:
    """The API's Weight for a reading.

    Status precedence: fault, over capacity, under zero (a negative weight is never sold), motion, zero,
    stable. Only ``stable`` and ``zero`` are stable. A status-only reading keeps the last value and unit
    (the scale said nothing new about them) and is never stable. ``unit`` overrides the reading's unit.
    """
    value = reading.value
    if value is None:
        value = last.value if last is not None else Decimal(0)
        base_unit = unit or reading.unit or (last.unit if last is not None else "kg")
        stable_possible = False
    else:
        base_unit = unit or reading.unit or (last.unit if last is not None else "kg")
        stable_possible = True
    status: Literal["stable", "motion", "zero", "under_zero", "over_capacity", "fault"]
    if reading.fault:
        status = "fault"
    elif reading.over_capacity:
        status = "over_capacity"
    elif reading.under_zero or value < 0:
        status = "under_zero"
    elif reading.motion:
        status = "motion"
    elif not stable_possible:
        status = "fault"  # a status-only reply with no flag set: the scale gave no weight and no reason
    elif value == 0:
        status = "zero"
    else:
        status = "stable"
    return Weight(value=value, unit=base_unit, stable=status in ("stable", "zero"), status=status)


# -- numbers -----------------------------------------------------------------------------------------
def decimal_from_digits(digits: bytes, decimals: int, negative: bool = False) -> Decimal | None:
    """``b"01235"``, 3 → Decimal('1.235'): the scale's own resolution, exactly. None if not all digits.

    Leading spaces count as zeros (terminals suppress leading zeros that way).
    """
    text = digits.lstrip(b" ")
    if not text or not text.isdigit() or not text.isascii():
        return None
    sign = 1 if negative else 0
    return Decimal((sign, tuple(b - 0x30 for b in text), -decimals))


def decimal_from_text(text: bytes, comma: bool = False) -> Decimal | None:
    """A decimal written with an optional sign and one ``.`` (or ``,`` when ``comma``); None otherwise."""
    if comma:
        text = text.replace(b",", b".")
    body = text[1:] if text[:1] in (b"-", b"+") else text
    if not body or body.count(b".") > 1 or not body.replace(b".", b"").isdigit() or not body.isascii():
        return None
    if body.startswith(b".") or body.endswith(b"."):
        return None
    try:
        return Decimal(text.decode("ascii"))
    except InvalidOperation:  # pragma: no cover - the checks above leave nothing Decimal refuses
        return None


# -- checksums ---------------------------------------------------------------------------------------
def twos_complement_7bit(data: bytes) -> int:
    """Mettler Toledo: the 2's complement of the 7 low bits of the sum (parity bits do not count)."""
    return -sum(b & 0x7F for b in data) & 0x7F


def twos_complement_8bit(data: bytes) -> int:
    """Toledo Prix protocol A: the 2's complement of the byte sum."""
    return -sum(data) & 0xFF


def xor_bcc(data: bytes) -> int:
    """Block check character: the XOR of the bytes (longitudinal parity)."""
    bcc = 0
    for byte in data:
        bcc ^= byte
    return bcc


# -- framing -----------------------------------------------------------------------------------------
class FixedFrameDecoder(Generic[R]):
    """Frames of a fixed length that begin with a start byte (which may also occur inside a frame).

    Every start byte is a candidate; ``parse`` checks the candidate (terminator, checksum, constant bits)
    and returns a value, or a BadFrame to reject it. After a rejected candidate the search resumes at the
    next start byte *inside* it, so one damaged frame costs at most that frame: the decoder is back in
    step at the following one. Bytes before a start byte are noise, counted in ``skipped``.
    """

    def __init__(self, start: int, length: int, parse: Callable[[bytes], R | BadFrame], mask7: bool) -> None:
        self._start = bytes([start])
        self._length = length
        self._parse = parse
        self._mask7 = mask7
        self._buffer = bytearray()
        self.skipped = 0

    def feed(self, data: bytes) -> list[R | BadFrame]:
        buffer = self._buffer
        buffer += data.translate(MASK7) if self._mask7 else data
        out: list[R | BadFrame] = []
        position = 0
        end = len(buffer)
        while True:
            start = buffer.find(self._start, position)
            if start < 0:
                self.skipped += end - position
                position = end
                break
            self.skipped += start - position
            if end - start < self._length:
                position = start  # an incomplete candidate: wait for the rest
                break
            item = self._parse(bytes(buffer[start : start + self._length]))
            out.append(item)
            position = start + 1 if isinstance(item, BadFrame) else start + self._length
        del buffer[:position]
        return out
