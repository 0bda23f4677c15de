"""Sans-I/O codec for CAS PD-II (and ER, PDN, PR-II) scales in their ECR modes.

Both modes start with ENQ (05), which the scale acknowledges with ACK (06). Then:

* **DC1 format** (ECR type 6, 9600 8N1): DC1 (11) → ``SOH STX STA SIGN W5…W0 UN1 UN0 BCC ETX EOT``
  (15 bytes). STA ``S`` stable / ``U`` unstable; SIGN space, ``-`` negative or ``F`` overload; W5…W0 the
  weight with its decimal point, space-filled (``FFFFFF`` on overload); UN ``KG``/``LB``/``OZ``/``G ``;
  BCC the XOR of STA … UN0.
* **DC2 format** (ECR types 0/1, 9600 7E1): DC2 (12) → ``STX ID W5…W1 BCC ETX`` (9 bytes): the weight in
  five digits without decimal point (kg scales in grams, lb scales in hundredths), ID a letter giving
  capacity and unit, BCC the XOR of ID … W1; or BEL (07) when the weight is zero, NAK (15) while it is
  unstable or negative.

Sources: CAS PD-II manual §3.1.3/§3.1.6; CAS firmware CommApi (commEcrType0/commEcrType6,
commEcrSendWeight, the scale-ID table). Parity is masked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from drivers.scale_codec import (
    ETX,
    MASK7,
    STX,
    BadFrame,
    ScaleReading,
    Unit,
    decimal_from_digits,
    decimal_from_text,
    xor_bcc,
)

SOH = 0x01
EOT = 0x04
ENQ = b"\x05"
DC1 = b"\x11"
DC2 = b"\x12"
ACK = 0x06
BEL = 0x07
NAK = 0x15

Format = Literal["dc1", "dc2"]
DC1_LENGTH = 15
DC2_LENGTH = 9

#: DC2 scale IDs (firmware table): capacity letter → unit. kg scales report grams, lb scales hundredths.
KG_IDS = frozenset(b"ABCGHIJOP")
LB_IDS = frozenset(b"DEFKLMN")
ID_FOR: dict[Unit, int] = {"kg": ord("A"), "lb": ord("F")}  # 15 kg and 15 lb scales
_UNITS: dict[bytes, Unit] = {b"KG": "kg", b"LB": "lb", b"OZ": "oz", b"G ": "g"}
UNIT_FIELD: dict[Unit, bytes] = {unit: field for field, unit in _UNITS.items()}


@dataclass(frozen=True, slots=True)
class CasControl:
    """A one-byte answer: ``ack`` to ENQ, ``zero`` (BEL) or ``not_ready`` (NAK) to DC2."""

    kind: Literal["ack", "zero", "not_ready"]


@dataclass(frozen=True, slots=True)
class CasWeight:
    value: Decimal | None
    """None on overload."""
    unit: Unit
    stable: bool
    overload: bool = False


CasReply = CasControl | CasWeight
_CONTROLS: dict[int, CasControl] = {ACK: CasControl("ack"), BEL: CasControl("zero"), NAK: CasControl("not_ready")}


def parse_dc1(frame: bytes) -> CasWeight | BadFrame:
    if frame[1] != STX or frame[13] != ETX or frame[14] != EOT:
        return BadFrame("not SOH STX … ETX EOT", frame)
    if frame[12] != xor_bcc(frame[2:12]):
        return BadFrame("bad BCC", frame)
    status, sign, field, unit_field = frame[2], frame[3], frame[4:10], frame[10:12]
    unit = _UNITS.get(unit_field.upper())
    if status not in b"SU" or sign not in b" -F" or unit is None:
        return BadFrame("bad status, sign or unit", frame)
    stable = status == ord("S")
    if sign == ord("F") or field == b"FFFFFF":
        return CasWeight(None, unit, stable, overload=True)
    text = field.strip(b" ")
    value = decimal_from_text((b"-" if sign == ord("-") else b"") + text) if text else None
    if value is None:
        return BadFrame("bad weight field", frame)
    return CasWeight(value, unit, stable)


def parse_dc2(frame: bytes) -> CasWeight | BadFrame:
    if frame[8] != ETX:
        return BadFrame("no ETX", frame)
    if frame[7] != xor_bcc(frame[1:7]):
        return BadFrame("bad BCC", frame)
    scale_id = frame[1]
    if scale_id in KG_IDS:
        unit: Unit = "kg"
        decimals = 3
    elif scale_id in LB_IDS:
        unit, decimals = "lb", 2
    else:
        return BadFrame(f"unknown scale ID {chr(scale_id)!r}", frame)
    value = decimal_from_digits(frame[2:7], decimals)
    if value is None:
        return BadFrame("weight is not five digits", frame)
    return CasWeight(value, unit, stable=True)  # the scale sends a DC2 weight only when stable


class CasDecoder:
    """One-byte answers (ACK; in DC2 format also BEL and NAK) and frames of one format.

    A frame failing its checks is dropped and the search resumes after its first byte, so a real frame
    starting inside it is still found; but a control byte inside the rejected bytes (a damaged BCC can be
    anything) is not taken for an answer.
    """

    def __init__(self, fmt: Format) -> None:
        self.format = fmt
        start = SOH if fmt == "dc1" else STX
        self._start = start
        self._length = DC1_LENGTH if fmt == "dc1" else DC2_LENGTH
        self._parse = parse_dc1 if fmt == "dc1" else parse_dc2
        controls = bytes([ACK]) if fmt == "dc1" else bytes([ACK, BEL, NAK])
        self._next = re.compile(b"[" + re.escape(bytes([start]) + controls) + b"]")
        self._buffer = bytearray()
        self._rejected_until = 0
        self.skipped = 0

    def feed(self, data: bytes) -> list[CasReply | BadFrame]:
        buffer = self._buffer
        buffer += data.translate(MASK7)
        out: list[CasReply | BadFrame] = []
        position = 0
        while True:
            found = self._next.search(buffer, position)
            if found is None:
                self.skipped += len(buffer) - position
                position = len(buffer)
                break
            start = found.start()
            self.skipped += start - position
            byte = buffer[start]
            if byte != self._start:
                if start >= self._rejected_until:
                    out.append(_CONTROLS[byte])
                else:
                    self.skipped += 1
                position = start + 1
                continue
            if len(buffer) - start < self._length:
                position = start
                break
            item = self._parse(bytes(buffer[start : start + self._length]))
            out.append(item)
            if isinstance(item, BadFrame):
                self._rejected_until = start + self._length
                position = start + 1
            else:
                position = start + self._length
        del buffer[:position]
        self._rejected_until = max(0, self._rejected_until - position)
        return out


def reading_of(reply: CasReply) -> ScaleReading | None:
    if isinstance(reply, CasWeight):
        return ScaleReading(value=reply.value, unit=reply.unit, motion=not reply.stable, over_capacity=reply.overload)
    if reply.kind == "zero":
        return ScaleReading(value=Decimal(0), unit=None)
    if reply.kind == "not_ready":
        # DC2 says only "not now": moving or negative. Both mean no sale; reported as motion.
        return ScaleReading(value=None, unit=None, motion=True)
    return None


def encode_dc1(value: Decimal, unit: Unit, *, stable: bool, overload: bool = False) -> bytes:
    sign = b"F" if overload else b"-" if value < 0 else b" "
    field = b"FFFFFF" if overload else f"{abs(value)}".rjust(6).encode()[-6:]
    block = (b"S" if stable else b"U") + sign + field + UNIT_FIELD[unit]
    return bytes([SOH, STX]) + block + bytes([xor_bcc(block), ETX, EOT])


def encode_dc2(value: Decimal, unit: Literal["kg", "lb"]) -> bytes:
    decimals = 3 if unit == "kg" else 2
    block = bytes([ID_FOR[unit]]) + f"{int(abs(value).scaleb(decimals)):05d}".encode()[-5:]
    return bytes([STX]) + block + bytes([xor_bcc(block), ETX])
