"""Sans-I/O codec for standalone serial cash drawers (serial/USB-serial trigger boxes and drawer ports).

Defaults follow the IBM SurePOS 500/600 drawer port: BEL (07) opens drawer 1, ACK (06) asks for the status
byte, bit 6 set means drawer 1 is open, bit 7 is always 0. Plain trigger boxes open on a byte and report
nothing. Everything is configurable because boxes differ; facts not confirmed on hardware here.
"""

from __future__ import annotations

from dataclasses import dataclass

OPEN_DRAWER_1 = b"\x07"
STATUS_REQUEST = b"\x06"
DRAWER_1_OPEN = 0x40
ALWAYS_CLEAR = 0x80


@dataclass(frozen=True, slots=True)
class DrawerReading:
    opened: bool
    byte: int


@dataclass(frozen=True, slots=True)
class Noise:
    byte: int


@dataclass(frozen=True)
class StatusDecoder:
    """Each status reply is one byte; a byte with bit 7 set cannot be one and is reported as noise."""

    open_mask: int = DRAWER_1_OPEN
    open_when_set: bool = True

    def feed(self, data: bytes) -> list[DrawerReading | Noise]:
        out: list[DrawerReading | Noise] = []
        for byte in data:
            if byte & ALWAYS_CLEAR:
                out.append(Noise(byte))
            else:
                out.append(DrawerReading(opened=bool(byte & self.open_mask) == self.open_when_set, byte=byte))
        return out


def encode_status(opened: bool, open_mask: int = DRAWER_1_OPEN, open_when_set: bool = True) -> bytes:
    """Device side (simulator): the status byte for a drawer state."""
    return bytes([open_mask if opened == open_when_set else 0])
