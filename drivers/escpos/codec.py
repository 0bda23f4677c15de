"""Sans-I/O ESC/POS host-side codec: status requests and replies, drawer kick.

Real-time status (DLE EOT n → one byte matching 0xx1xx10b):
  n=1 printer: bit2 drawer pin 3 high, bit3 offline; n=2 offline cause: bit2 cover open, bit5 paper-end stop,
  bit6 error; n=4 paper: 0x0C near end, 0x60 end. XON/XOFF (0x11/0x13) may be mixed in and are skipped.

Automatic Status Back (enabled by GS a n): on every change of an enabled item, and once when enabled, the
printer sends 4 bytes, the first matching 0xx1xx00b and the other three 0xx0xxxx, consecutive except for XOFF.
Byte 1: bit2 drawer pin 3 high, bit3 offline, bit5 cover open; byte 2: bit3 cutter error, bit5 unrecoverable,
bit6 auto-recoverable error; byte 3: bits 0-1 paper near end, bits 2-3 paper end. (Epson, Citizen, Sewoo
manuals; Bixolon documents that ESC @ switches ASB off again.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from drivers.models import PrinterStatus

DLE = 0x10
EOT = 0x04
ESC = 0x1B
GS = 0x1D
XON = 0x11
XOFF = 0x13

STATUS_PRINTER = 1
STATUS_OFFLINE_CAUSE = 2
STATUS_ERROR_CAUSE = 3
STATUS_PAPER = 4

REALTIME_REPLY_MASK = 0x93
REALTIME_REPLY_VALUE = 0x12

P1_DRAWER_PIN3 = 0x04
P1_OFFLINE = 0x08
P2_COVER_OPEN = 0x04
P2_PAPER_END_STOP = 0x20
P2_ERROR = 0x40
P4_NEAR_END = 0x0C
P4_END = 0x60

INIT = b"\x1b@"


def status_request(n: int) -> bytes:
    return bytes([DLE, EOT, n])


def drawer_kick(pin: Literal[2, 5], on_ms: int, off_ms: int) -> bytes:
    """ESC p m t1 t2: pulse the drawer pin for on_ms, then rest off_ms (2 ms units, at most 510 ms)."""
    t1 = max(1, min(255, on_ms // 2))
    t2 = max(t1, min(255, off_ms // 2))
    return bytes([ESC, ord("p"), 0 if pin == 2 else 1, t1, t2])


def realtime_drawer_pulse(pin: Literal[2, 5], on_ms: int) -> bytes:
    """DLE DC4 1 m t: pulse now (executed on receipt, never queued); on and off t x 100 ms, t 1..8."""
    return bytes([DLE, 0x14, 1, 0 if pin == 2 else 1, max(1, min(8, round(on_ms / 100)))])


def is_realtime_reply(byte: int) -> bool:
    return byte & REALTIME_REPLY_MASK == REALTIME_REPLY_VALUE


ASB_LENGTH = 4
ASB_HEADER_MASK = 0x93
ASB_HEADER_VALUE = 0x10
ASB_BODY_MASK = 0x90  # bytes 2-4: bit 4 and bit 7 are always 0

#: GS a n items: bit0 drawer pin 3, bit1 online/offline (and cover), bit2 errors, bit3 paper sensors.
ASB_DRAWER = 0x01
ASB_ONLINE = 0x02
ASB_ERRORS = 0x04
ASB_PAPER = 0x08
ASB_ALL = ASB_DRAWER | ASB_ONLINE | ASB_ERRORS | ASB_PAPER

A1_DRAWER_PIN3 = 0x04
A1_OFFLINE = 0x08
A1_COVER_OPEN = 0x20
A2_CUTTER_ERROR = 0x08
A2_UNRECOVERABLE = 0x20
A2_AUTO_RECOVERABLE = 0x40
A3_NEAR_END = 0x03
A3_END = 0x0C


def asb_enable(items: int = ASB_ALL) -> bytes:
    """GS a n: send status by itself on every change of these items (0 switches ASB off)."""
    return bytes([GS, ord("a"), items & 0xFF])


def is_asb_header(byte: int) -> bool:
    return byte & ASB_HEADER_MASK == ASB_HEADER_VALUE


@dataclass(frozen=True, slots=True)
class AutoStatus:
    """One 4-byte Automatic Status Back message."""

    data: bytes

    @property
    def status(self) -> PrinterStatus:
        first, _, paper, _ = self.data
        return PrinterStatus(
            online=not first & A1_OFFLINE,
            paper="end" if paper & A3_END else "near_end" if paper & A3_NEAR_END else "ok",
            cover="open" if first & A1_COVER_OPEN else "closed",
        )

    @property
    def drawer_pin3_high(self) -> bool:
        return bool(self.data[0] & A1_DRAWER_PIN3)


def encode_asb(status: PrinterStatus, drawer_pin3_high: bool) -> bytes:
    """Device side (simulators): the ASB message for a given state (offline while cover open or out of paper)."""
    offline = not status.online or status.cover == "open" or status.paper == "end"
    first = (
        ASB_HEADER_VALUE
        | (A1_DRAWER_PIN3 if drawer_pin3_high else 0)
        | (A1_OFFLINE if offline else 0)
        | (A1_COVER_OPEN if status.cover == "open" else 0)
    )
    paper = A3_END if status.paper == "end" else A3_NEAR_END if status.paper == "near_end" else 0
    return bytes([first, 0, paper, 0])


@dataclass(frozen=True, slots=True)
class RealtimeReply:
    byte: int


@dataclass(frozen=True, slots=True)
class UnexpectedByte:
    byte: int


StatusItem = RealtimeReply | AutoStatus | UnexpectedByte


class StatusDecoder:
    """Host side: tell apart what the printer sends back — DLE EOT replies, ASB messages, XON/XOFF, noise."""

    def __init__(self) -> None:
        self._asb = bytearray()

    def feed(self, data: bytes) -> list[StatusItem]:
        out: list[StatusItem] = []
        asb = self._asb
        for byte in data:
            if byte in (XON, XOFF):
                continue
            if asb:
                if not byte & ASB_BODY_MASK:
                    asb.append(byte)
                    if len(asb) == ASB_LENGTH:
                        out.append(AutoStatus(bytes(asb)))
                        asb.clear()
                    continue
                # The 4 ASB bytes come together: a byte that cannot continue one makes the start noise.
                out.extend(UnexpectedByte(partial) for partial in asb)
                asb.clear()
            if is_realtime_reply(byte):
                out.append(RealtimeReply(byte))
            elif is_asb_header(byte):
                asb.append(byte)
            else:
                out.append(UnexpectedByte(byte))
        return out


def decode_status(printer: int, offline_cause: int, paper: int) -> PrinterStatus:
    paper_state: Literal["ok", "near_end", "end"] = (
        "end" if paper & P4_END or offline_cause & P2_PAPER_END_STOP else "near_end" if paper & P4_NEAR_END else "ok"
    )
    return PrinterStatus(
        online=not printer & P1_OFFLINE,
        paper=paper_state,
        cover="open" if offline_cause & P2_COVER_OPEN else "closed",
    )


def encode_status_byte(n: int, status: PrinterStatus, drawer_pin3_high: bool) -> int:
    """Device side (simulators): the reply byte to DLE EOT n for a given state."""
    byte = REALTIME_REPLY_VALUE
    offline = not status.online or status.cover == "open" or status.paper == "end"
    if n == STATUS_PRINTER:
        byte |= (P1_DRAWER_PIN3 if drawer_pin3_high else 0) | (P1_OFFLINE if offline else 0)
    elif n == STATUS_OFFLINE_CAUSE:
        byte |= (P2_COVER_OPEN if status.cover == "open" else 0) | (P2_PAPER_END_STOP if status.paper == "end" else 0)
    elif n == STATUS_PAPER:
        byte |= P4_END if status.paper == "end" else P4_NEAR_END if status.paper == "near_end" else 0
    return byte
