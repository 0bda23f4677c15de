"""Sans-I/O codec for the Mettler Toledo standard continuous output (8142, Wildcat, IND terminals).

The scale streams, ~7–20 times a second, 18-byte frames (17 without the optional checksum)::

    STX SWA SWB SWC  W W W W W W  T T T T T T  CR CHK
                     displayed    tare

Weight and tare are six digits without a decimal point (leading zeros may be spaces). Status words
(bits 5 always 1; SWA and SWC bit 6 always 0 — they keep the decoder in step):

* SWA bits 0–2: decimal point — 0/1/2 ``XXXX00`` / ``XXXXX0`` / ``XXXXXX`` (no decimals, dummy zeros are
  in the field), 3–7 one to five decimals; bits 3–4 increment size (01 ×1, 10 ×2, 11 ×5).
* SWB: bit 0 net, bit 1 negative, bit 2 out of range, bit 3 motion, bit 4 kg (else lb), bit 6 power-up
  not zeroed.
* SWC bits 0–2: unit besides lb/kg (1 g, 3 oz), bit 3 print request, bit 4 expanded display.

CHK is the 2's complement of the 7-bit sum of STX … CR. Sources: Mettler Toledo WILDCAT technical
manual (Appendix 2, tables 6-8 … 6-11); IND245 firmware ContOut.c. Parity is masked off (7E1 lines).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from drivers.scale_codec import (
    CR,
    STX,
    BadFrame,
    FixedFrameDecoder,
    ScaleReading,
    Unit,
    decimal_from_digits,
    twos_complement_7bit,
)

FRAME_LENGTH = 18
FRAME_LENGTH_NO_CHECKSUM = 17

# SWB bits
NET = 0x01
NEGATIVE = 0x02
OUT_OF_RANGE = 0x04
MOTION = 0x08
KG = 0x10
POWER_UP_NOT_ZEROED = 0x40
# SWC bits
PRINT_REQUEST = 0x08
EXPANDED = 0x10
ALWAYS_ONE = 0x20

#: SWC bits 0–2 → unit (0: lb or kg by SWB bit 4).
SWC_UNITS: dict[int, Unit] = {1: "g", 3: "oz"}
UNIT_CODES: dict[Unit, tuple[int, int]] = {"lb": (0, 0), "kg": (KG, 0), "g": (0, 1), "oz": (0, 3)}


@dataclass(frozen=True, slots=True)
class ContinuousFrame:
    weight: Decimal
    """Displayed weight, unsigned, at the resolution SWA gives."""
    tare: Decimal
    unit: Unit
    net: bool
    negative: bool
    out_of_range: bool
    motion: bool
    power_up_not_zeroed: bool
    print_request: bool


def decimals_of(swa: int) -> int:
    return max(0, (swa & 0x07) - 2)


def parse_frame(frame: bytes, checksum: bool = True) -> ContinuousFrame | BadFrame:
    """One candidate frame (bit 7 already masked), STX at index 0."""
    swa, swb, swc = frame[1], frame[2], frame[3]
    if frame[16] != CR:
        return BadFrame("no CR at the end of the frame", frame)
    if (swa & 0x60) != 0x20 or (swb & 0x20) != 0x20 or (swc & 0x60) != 0x20 or not swa & 0x18:
        return BadFrame("status words fail their constant bits", frame)
    if checksum and frame[17] != twos_complement_7bit(frame[:17]):
        return BadFrame("bad checksum", frame)
    code = swc & 0x07
    unit: Unit | None = ("kg" if swb & KG else "lb") if code == 0 else SWC_UNITS.get(code)
    if unit is None:
        return BadFrame(f"unit code {code} is not kg, lb, g or oz", frame)
    decimals = decimals_of(swa)
    weight = decimal_from_digits(frame[4:10], decimals)
    tare = decimal_from_digits(frame[10:16], decimals)
    if weight is None or tare is None:
        return BadFrame("weight or tare is not six digits", frame)
    return ContinuousFrame(
        weight=weight,
        tare=tare,
        unit=unit,
        net=bool(swb & NET),
        negative=bool(swb & NEGATIVE),
        out_of_range=bool(swb & OUT_OF_RANGE),
        motion=bool(swb & MOTION),
        power_up_not_zeroed=bool(swb & POWER_UP_NOT_ZEROED),
        print_request=bool(swc & PRINT_REQUEST),
    )


class ContinuousDecoder(FixedFrameDecoder[ContinuousFrame]):
    """Frames from the stream; a frame failing its CR, constant bits or checksum is dropped and the search
    resumes at the next STX inside it."""

    def __init__(self, checksum: bool = True) -> None:
        length = FRAME_LENGTH if checksum else FRAME_LENGTH_NO_CHECKSUM
        super().__init__(STX, length, lambda frame: parse_frame(frame, checksum), mask7=True)


def reading_of(frame: ContinuousFrame) -> ScaleReading:
    value = -frame.weight if frame.negative and frame.weight else frame.weight
    return ScaleReading(
        value=value,
        unit=frame.unit,
        motion=frame.motion,
        over_capacity=frame.out_of_range and not frame.negative,
        under_zero=frame.negative,
        fault=frame.power_up_not_zeroed,
        net=frame.net,
    )


def encode_frame(
    weight: Decimal,
    unit: Unit,
    *,
    decimals: int,
    tare: Decimal = Decimal(0),
    motion: bool = False,
    out_of_range: bool = False,
    negative: bool | None = None,
    net: bool = False,
    power_up_not_zeroed: bool = False,
    checksum: bool = True,
) -> bytes:
    """The frame a terminal sends for ``weight`` (signed; ``negative`` overrides the sign bit) at ``decimals``
    (0–5), increment ×1."""
    swb_unit, swc_unit = UNIT_CODES[unit]
    swa = ALWAYS_ONE | 0x08 | (decimals + 2)
    swb = ALWAYS_ONE | swb_unit
    swb |= NET if net else 0
    swb |= NEGATIVE if (weight < 0 if negative is None else negative) else 0
    swb |= OUT_OF_RANGE if out_of_range else 0
    swb |= MOTION if motion else 0
    swb |= POWER_UP_NOT_ZEROED if power_up_not_zeroed else 0
    swc = ALWAYS_ONE | swc_unit
    scale = Decimal(1).scaleb(-decimals)
    digits = f"{int(abs(weight).quantize(scale).scaleb(decimals)):06d}"[-6:]
    tare_digits = f"{int(abs(tare).quantize(scale).scaleb(decimals)):06d}"[-6:]
    body = bytes([STX, swa, swb, swc]) + digits.encode() + tare_digits.encode() + bytes([CR])
    return body + bytes([twos_complement_7bit(body)]) if checksum else body
