"""Sans-I/O codec for MT-SICS, the Mettler Toledo Standard Interface Command Set (balances, weigh modules,
IND terminals). Commands and replies are text lines ending CR LF::

    SI   → S S      1.235 kg     stable          S D      1.230 kg   dynamic (in motion)
           S I                   busy            S +  / S -          over / under the weighing range
    S    → like SI, but waits for stability      SIR → SI answers repeated until another command
    Z / ZI → Z A (zeroed) · Z I (busy) · Z + / Z - (outside the zero range)
    T    → T S <tare> <unit> · T I · T + · T -   TAC → TAC A · TAC I · TAC L
    any  → ES syntax error, ET transmission error, EL logical error

Sources: METTLER TOLEDO MT-SICS reference manual (Excellence balances); InstrumentKit ``mt_sics.py``.
Lines are framed by the shared :class:`~drivers.serial_scanner.codec.LineFramer` (CR, LF or both end a line).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from drivers.scale_codec import BadFrame, ScaleReading, Unit, decimal_from_text
from drivers.serial_scanner.codec import Frame, LineFramer

REQUEST_WEIGHT = b"SI\r\n"
REQUEST_STABLE_WEIGHT = b"S\r\n"
REQUEST_STREAM = b"SIR\r\n"
REQUEST_ZERO = b"Z\r\n"
REQUEST_TARE = b"T\r\n"
REQUEST_CLEAR_TARE = b"TAC\r\n"
REQUEST_RESET = b"@\r\n"

MAX_LINE = 128
ERRORS = frozenset({"ES", "ET", "EL"})
_UNITS: dict[str, Unit] = {"g": "g", "kg": "kg", "lb": "lb", "oz": "oz"}
#: Commands whose S/D replies carry a weight and a unit.
_WEIGHT_COMMANDS = frozenset({"S", "SI", "SIR", "T", "TI", "TA"})


@dataclass(frozen=True, slots=True)
class SicsReply:
    command: str
    """The reply's identifier: the command it answers (``S`` for S, SI and SIR), or ES/ET/EL."""
    status: str
    """``S`` stable, ``D`` dynamic, ``A`` done, ``I`` busy, ``L`` refused, ``+``/``-`` out of range, ``""`` for
    errors."""
    value: Decimal | None = None
    unit: Unit | None = None


def parse_line(line: bytes) -> SicsReply | BadFrame:
    try:
        tokens = line.decode("ascii").split()
    except UnicodeDecodeError:
        return BadFrame("not ASCII", line)
    if len(tokens) == 1 and tokens[0] in ERRORS:
        return SicsReply(tokens[0], "")
    if len(tokens) < 2 or len(tokens[1]) != 1 or not tokens[0].isalnum() or not tokens[0].isupper():
        return BadFrame("not an MT-SICS reply", line)
    command, status = tokens[0], tokens[1]
    if command in _WEIGHT_COMMANDS and status in ("S", "D"):
        return _weight_reply(command, status, tokens[2:], line)
    if status not in ("A", "I", "L", "+", "-", "S", "D"):
        return BadFrame(f"unknown status {status!r}", line)
    return SicsReply(command, status)


def _weight_reply(command: str, status: str, fields: list[str], line: bytes) -> SicsReply | BadFrame:
    if len(fields) != 2:
        return BadFrame("weight reply without value and unit", line)
    value = decimal_from_text(fields[0].encode())
    unit = _UNITS.get(fields[1])
    if value is None:
        return BadFrame("bad weight value", line)
    if unit is None:
        return BadFrame(f"unit {fields[1]!r} is not g, kg, lb or oz", line)
    return SicsReply(command, status, value, unit)


class SicsDecoder:
    """Lines to replies. A line that does not parse is dropped; the next line is independent of it."""

    skipped = 0  # every byte belongs to some line

    def __init__(self) -> None:
        self._lines = LineFramer(max_length=MAX_LINE)

    def feed(self, data: bytes) -> list[SicsReply | BadFrame]:
        out: list[SicsReply | BadFrame] = []
        for item in self._lines.feed(data):
            if isinstance(item, Frame):
                out.append(parse_line(item.raw))
            else:
                out.append(BadFrame(item.reason, item.dropped))
        return out


def reading_of(reply: SicsReply) -> ScaleReading | None:
    """Weight replies (``S`` identifier) only; ``S I`` (busy) says nothing about the load."""
    if reply.command != "S":
        return None
    if reply.status in ("S", "D"):
        return ScaleReading(value=reply.value, unit=reply.unit, motion=reply.status == "D")
    if reply.status == "+":
        return ScaleReading(value=None, unit=None, over_capacity=True)
    if reply.status == "-":
        return ScaleReading(value=None, unit=None, under_zero=True)
    return None


def encode_weight(command: str, stable: bool, value: Decimal, unit: Unit) -> bytes:
    """``S S      1.235 kg`` as MT-SICS lays it out: the value right-aligned in ten characters."""
    return f"{command} {'S' if stable else 'D'} {value!s:>10} {unit}\r\n".encode()


def encode_status(command: str, status: str) -> bytes:
    return f"{command} {status}\r\n".encode()
