"""Sans-I/O codec for USB HID POS scales (usage page 0x8D: Dymo, Stamps.com, Mettler Toledo PS-series in
HID mode …), read and written through hidraw one report at a time.

Input report 3 (6 bytes): ``03 status unit exponent weight_lsb weight_msb``; weight = (msb·256 + lsb)·10^exponent
(exponent a signed byte). Status: 1 fault, 2 stable at zero, 3 in motion, 4 stable, 5 under zero,
6 over weight, 7 needs calibration, 8 needs re-zeroing. Units: 1 mg, 2 g, 3 kg, 4 ct, 5 taels, 6 grains,
7 dwt, 8 t, 9 avoir ton, 10 ozt, 11 oz, 12 lb (posd serves g, kg, oz and lb). Zero: output report ``02 02``.
Source: erjiang/usbscale (usbscale.c) and the HID Point of Sale usage tables.

A USB link carries whole reports, so there is nothing to resynchronize: each report is checked on its
own and a bad one costs exactly itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from drivers.scale_codec import BadFrame, ScaleReading, Unit

REPORT_ID = 0x03
REPORT_LENGTH = 6
ZERO_REPORT = b"\x02\x02"

FAULT = 1
STABLE_ZERO = 2
MOTION = 3
STABLE = 4
UNDER_ZERO = 5
OVER_WEIGHT = 6
NEEDS_CALIBRATION = 7
NEEDS_REZERO = 8

UNIT_CODES: dict[int, Unit] = {2: "g", 3: "kg", 11: "oz", 12: "lb"}
CODE_OF_UNIT: dict[Unit, int] = {unit: code for code, unit in UNIT_CODES.items()}


@dataclass(frozen=True, slots=True)
class HidWeight:
    status: int
    value: Decimal
    """Unsigned, as reported."""
    unit: Unit


def decode_report(report: bytes) -> HidWeight | BadFrame:
    if len(report) != REPORT_LENGTH:
        return BadFrame(f"report of {len(report)} bytes, not {REPORT_LENGTH}", report)
    if report[0] != REPORT_ID:
        return BadFrame(f"report id {report[0]} is not the weight report", report)
    status, unit_code, exponent = report[1], report[2], report[3]
    if not FAULT <= status <= NEEDS_REZERO:
        return BadFrame(f"unknown status {status}", report)
    unit = UNIT_CODES.get(unit_code)
    if unit is None:
        return BadFrame(f"unit code {unit_code} is not g, kg, oz or lb", report)
    exponent = exponent - 256 if exponent > 127 else exponent
    if not -9 <= exponent <= 9:
        return BadFrame(f"exponent {exponent} out of range", report)
    raw = report[4] | report[5] << 8
    return HidWeight(status, Decimal(raw).scaleb(exponent), unit)


class HidScaleDecoder:
    """Each ``feed`` is one report (a hidraw read); a stand-in stream is cut into reports by the transport."""

    skipped = 0

    def feed(self, data: bytes) -> list[HidWeight | BadFrame]:
        return [decode_report(data)]


def reading_of(report: HidWeight) -> ScaleReading:
    status = report.status
    under = status == UNDER_ZERO
    value = -report.value if under and report.value else report.value
    return ScaleReading(
        value=value,
        unit=report.unit,
        motion=status == MOTION,
        over_capacity=status == OVER_WEIGHT,
        under_zero=under,
        fault=status in (FAULT, NEEDS_CALIBRATION, NEEDS_REZERO),
    )


def encode_report(status: int, value: Decimal, unit: Unit, exponent: int) -> bytes:
    raw = int(abs(value).scaleb(-exponent))
    if not 0 <= raw <= 0xFFFF:
        raise ValueError(f"{value} {unit} does not fit a 16-bit weight at 10^{exponent}")
    return bytes([REPORT_ID, status, CODE_OF_UNIT[unit], exponent & 0xFF, raw & 0xFF, raw >> 8])
