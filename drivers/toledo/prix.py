"""Sans-I/O codec for the Toledo Prix price-computing scales (Brazil), protocols A, B and C.

The POS sends ENQ (05). The scale answers in the protocol it is set to:

* **A** (23 bytes): ``STX S1 PPPPPP S2 TTTTTT UUUUUU CR CS`` — weight, total price, unit price; CS is
  the 2's complement of the byte sum STX … CR. S1: bit 0 motion, bit 2 date instead of weight, bit 3
  out of range. S2: bit 3 two weight decimals (else three), bit 6 tare in use (net).
* **B**: ``STX ddddd ETX``; **C**: ``STX ddddd CR`` — five digits in grams (÷1000 = kg), or
  ``IIIII`` unstable, ``NNNNN`` negative, ``SSSSS`` overload.

Filizola scales answer ENQ with the same ``STX ddddd ETX`` frame (the C&F C6MT model ends it with CR),
so :class:`PrixDecoder` with ``variant="BC"`` is their decoder too. Source: ACBr (ACBrBALToledo.pas,
ACBrBALFilizola.pas). Unlike ACBr, payload widths are strict — five digits, or ``NN.NNN`` / ``NN,NNN`` —
because B and C have no checksum and a payload that lost a digit would otherwise read as another weight.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from drivers.scale_codec import (
    CR,
    ETX,
    STX,
    BadFrame,
    ScaleReading,
    decimal_from_digits,
    decimal_from_text,
    twos_complement_8bit,
)

ENQ = b"\x05"
A_LENGTH = 23
#: Longest B/C payload accepted: five or six digits, or up to seven characters with a decimal separator.
MAX_PAYLOAD = 7

# S1 / S2 bits
A_MOTION = 0x01
A_DATE = 0x04
A_OUT_OF_RANGE = 0x08
A_TWO_DECIMALS = 0x08
A_TARE = 0x40

Variant = Literal["A", "BC", "auto"]
Marker = Literal["unstable", "negative", "overload"]
MARKERS: dict[int, Marker] = {ord("I"): "unstable", ord("N"): "negative", ord("S"): "overload"}
MARKER_BYTES: dict[Marker, bytes] = {"unstable": b"IIIII", "negative": b"NNNNN", "overload": b"SSSSS"}


@dataclass(frozen=True, slots=True)
class PrixWeight:
    """Protocol B or C reply: a weight in kg, or a marker instead of one."""

    value: Decimal | None
    marker: Marker | None
    protocol: Literal["B", "C"]


@dataclass(frozen=True, slots=True)
class PrixAFrame:
    value: Decimal
    total_price: bytes
    unit_price: bytes
    motion: bool
    out_of_range: bool
    date: bool
    net: bool


PrixReply = PrixWeight | PrixAFrame


def parse_bc(payload: bytes, terminator: int) -> PrixWeight | BadFrame:
    protocol: Literal["B", "C"] = "B" if terminator == ETX else "C"
    text = payload.strip(b" ")
    if text and text.count(text[:1]) == len(text) and text[0] in MARKERS:
        return PrixWeight(None, MARKERS[text[0]], protocol)
    # Fixed widths only: five digits, or six characters with three decimals. There is no checksum, and a
    # payload that lost a digit must not read as a smaller weight.
    if text.isdigit() and len(text) == 5:
        value = decimal_from_digits(text, 3)
    elif len(text) == 6 and text[2:3] in (b".", b","):
        value = decimal_from_text(text, comma=True)
    else:
        value = None
    if value is None or value < 0:
        return BadFrame("not a weight, IIIII, NNNNN or SSSSS", payload)
    return PrixWeight(value, None, protocol)


def parse_a(frame: bytes) -> PrixAFrame | BadFrame:
    if frame[21] != CR:
        return BadFrame("no CR at byte 21 of a protocol A frame", frame)
    if frame[22] != twos_complement_8bit(frame[:22]):
        return BadFrame("bad checksum", frame)
    s1, s2 = frame[1], frame[8]
    value = decimal_from_digits(frame[2:8], 2 if s2 & A_TWO_DECIMALS else 3)
    if value is None:
        return BadFrame("weight is not six digits", frame)
    return PrixAFrame(
        value=value,
        total_price=frame[9:15],
        unit_price=frame[15:21],
        motion=bool(s1 & A_MOTION),
        out_of_range=bool(s1 & A_OUT_OF_RANGE),
        date=bool(s1 & A_DATE),
        net=bool(s2 & A_TARE),
    )


#: What a B/C payload is made of (digits, separators, spaces, the I/N/S markers).
_PAYLOAD = frozenset(b"0123456789 .,INS")
#: Positions of a protocol A frame that hold digits (weight, total price, unit price).
_A_DIGITS: tuple[int, ...] = (*range(2, 8), *range(9, 15), *range(15, 21))


def a_mismatch(head: bytes) -> int | None:
    """Where the bytes so far (from STX) stop fitting a protocol A frame — digit fields hold digits (or the
    weight's leading spaces), byte 21 is CR — or None while they still fit. Lets a bad candidate go at
    once instead of waiting for 23 bytes."""
    for index in _A_DIGITS:
        if index >= len(head):
            return None
        byte = head[index]
        if not 0x30 <= byte <= 0x39 and not (byte == 0x20 and index < 8):
            return index
    return 21 if len(head) > 21 and head[21] != CR else None


class PrixDecoder:
    """Replies of one variant (``A``, ``BC``) or of any (``auto``, as ACBr tells them apart).

    At each STX: a B/C terminator (ETX or CR) within the payload window with a valid payload is a B/C
    frame; otherwise (``A``/``auto``) the 23 bytes from the STX are tried as protocol A. A rejected
    candidate resumes the search at the next STX inside it.
    """

    def __init__(self, variant: Variant = "auto") -> None:
        self.variant = variant
        self._buffer = bytearray()
        self.skipped = 0

    def feed(self, data: bytes) -> list[PrixReply | BadFrame]:
        buffer = self._buffer
        buffer += data
        out: list[PrixReply | BadFrame] = []
        position = 0
        while True:
            start = buffer.find(STX, position)
            if start < 0:
                self.skipped += len(buffer) - position
                position = len(buffer)
                break
            self.skipped += start - position
            result = self._candidate(buffer, start)
            if result is None:
                position = start
                break
            item, length = result
            out.append(item)
            position = start + (1 if isinstance(item, BadFrame) else length)
        del buffer[:position]
        return out

    def _candidate(  # noqa: PLR0911 - one exit per way a candidate can end
        self, buffer: bytearray, start: int
    ) -> tuple[PrixReply | BadFrame, int] | None:
        """The item at ``start`` and its length, or None until more bytes arrive."""
        available = len(buffer) - start
        bc_possible = False
        if self.variant != "A":
            window = bytes(buffer[start + 1 : start + 2 + MAX_PAYLOAD])
            end = next((i for i, b in enumerate(window) if b in (ETX, CR)), -1)
            if end >= 1:
                item = parse_bc(window[:end], window[end])
                if not isinstance(item, BadFrame) or self.variant == "BC":
                    return item, end + 2
            elif self.variant == "BC":
                if end == 0:
                    return BadFrame("empty frame", bytes(buffer[start : start + 2])), 2
                if available >= 2 + MAX_PAYLOAD:
                    return BadFrame("no ETX or CR after the weight", window), 2 + MAX_PAYLOAD
                return None
            else:
                # Still arriving and still a possible B/C payload: do not judge it as protocol A yet.
                bc_possible = end < 0 and len(window) <= MAX_PAYLOAD and all(b in _PAYLOAD for b in window)
        head = bytes(buffer[start : start + A_LENGTH])
        mismatch = a_mismatch(head)
        if mismatch is not None:
            if bc_possible:
                return None
            return BadFrame("neither a B/C nor an A frame", head[: mismatch + 1]), 1
        if available < A_LENGTH:
            return None
        return parse_a(head), A_LENGTH


def reading_of(reply: PrixReply) -> ScaleReading | None:
    if isinstance(reply, PrixAFrame):
        if reply.date:
            return None  # the scale shows the date: the field is not a weight
        # Protocol A has one out-of-range bit and no sign: reported as over capacity (never stable).
        return ScaleReading(
            value=reply.value, unit="kg", motion=reply.motion, over_capacity=reply.out_of_range, net=reply.net
        )
    if reply.marker is None:
        return ScaleReading(value=reply.value, unit="kg")
    return ScaleReading(
        value=None,
        unit="kg",
        motion=reply.marker == "unstable",
        under_zero=reply.marker == "negative",
        over_capacity=reply.marker == "overload",
    )


def encode_bc(value: Decimal | None, marker: Marker | None = None, protocol: Literal["B", "C"] = "B") -> bytes:
    """``STX ddddd ETX`` (B) or ``… CR`` (C): grams in five digits, or a marker."""
    if marker is not None:
        payload = MARKER_BYTES[marker]
    elif value is not None:
        payload = f"{int(value * 1000):05d}".encode()
    else:
        raise ValueError("a B/C frame carries a value or a marker")
    return bytes([STX]) + payload + bytes([ETX if protocol == "B" else CR])


def encode_a(
    value: Decimal,
    *,
    motion: bool = False,
    out_of_range: bool = False,
    two_decimals: bool = False,
    net: bool = False,
    unit_price: int = 0,
) -> bytes:
    """A protocol A frame (bits 5 and 6 of the status bytes as a Prix 3 sends them: clear)."""
    s1 = (A_MOTION if motion else 0) | (A_OUT_OF_RANGE if out_of_range else 0)
    s2 = (A_TWO_DECIMALS if two_decimals else 0) | (A_TARE if net else 0)
    decimals = 2 if two_decimals else 3
    grams = int(value.scaleb(decimals))
    total = int(value * unit_price)
    body = (
        bytes([STX, s1])
        + f"{grams:06d}".encode()
        + bytes([s2])
        + f"{total:06d}".encode()
        + f"{unit_price:06d}".encode()
        + bytes([CR])
    )
    return body + bytes([twos_complement_8bit(body)])
