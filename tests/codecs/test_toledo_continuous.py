"""Mettler Toledo standard continuous output: frames worked out by hand from the WILDCAT manual tables."""

from __future__ import annotations

from decimal import Decimal

import pytest

from drivers.scale_codec import BadFrame, ScaleReading
from drivers.toledo.continuous import ContinuousDecoder, ContinuousFrame, encode_frame, reading_of
from tests.codecs._scale_frames import neg_sum7


def decode(data: bytes, checksum: bool = True) -> list[ContinuousFrame | BadFrame]:
    return ContinuousDecoder(checksum).feed(data)


def only(data: bytes, checksum: bool = True) -> ScaleReading:
    (item,) = decode(data, checksum)
    assert isinstance(item, ContinuousFrame), item
    return reading_of(item)


def test_a_hand_worked_frame_decodes_exactly() -> None:
    # SWA 0x2D: bit 5, increment x1 (bits 3-4 = 01), decimal code 5 = XXX.XXX. SWB 0x30: bit 5, kg.
    # SWC 0x20. Checksum: 7-bit sum of STX..CR is 0x2D7 -> 0x57; 0x80 - 0x57 = 0x29 (')').
    frame = b"\x02\x2d\x30\x20" + b"001235" + b"000000" + b"\r\x29"
    reading = only(frame)
    assert reading == ScaleReading(value=Decimal("1.235"), unit="kg")
    assert reading.value is not None
    assert reading.value.as_tuple() == Decimal("1.235").as_tuple()


def test_motion_bit() -> None:
    # SWB 0x38 adds motion (bit 3): the sum grows by 8, the checksum drops by 8 (0x29 - 8 = 0x21).
    assert only(b"\x02\x2d\x38\x20001235000000\r\x21") == ScaleReading(value=Decimal("1.235"), unit="kg", motion=True)


def test_negative_net_pounds_with_tare() -> None:
    body = b"\x02" + bytes([0x2C, 0x23, 0x20]) + b"001234" + b"000100" + b"\r"  # XXXX.XX, net + negative, lb
    reading = only(body + bytes([neg_sum7(body)]))
    assert reading == ScaleReading(value=Decimal("-12.34"), unit="lb", under_zero=True, net=True)


@pytest.mark.parametrize(
    ("code", "digits", "value"),
    [
        (0, b"001200", Decimal(1200)),  # XXXX00: dummy zeros are in the field
        (1, b"012340", Decimal(12340)),  # XXXXX0
        (2, b"012345", Decimal(12345)),
        (3, b"012345", Decimal("1234.5")),
        (6, b"012345", Decimal("1.2345")),
        (7, b"012345", Decimal("0.12345")),
        (5, b"  1235", Decimal("1.235")),  # leading zeros sent as spaces
    ],
)
def test_decimal_point_from_status_word_a(code: int, digits: bytes, value: Decimal) -> None:
    body = b"\x02" + bytes([0x28 | code, 0x30, 0x20]) + digits + b"000000\r"
    assert only(body + bytes([neg_sum7(body)])).value == value


@pytest.mark.parametrize(("swc", "swb", "unit"), [(0x21, 0x20, "g"), (0x23, 0x20, "oz"), (0x20, 0x20, "lb")])
def test_units_from_status_words(swc: int, swb: int, unit: str) -> None:
    body = b"\x02" + bytes([0x2A, swb, swc]) + b"000500000000\r"
    assert only(body + bytes([neg_sum7(body)])).unit == unit


@pytest.mark.parametrize(
    ("swb", "expected"),
    [
        (0x24, ScaleReading(value=Decimal(500), unit="lb", over_capacity=True)),  # out of range, positive
        (0x26, ScaleReading(value=Decimal(-500), unit="lb", under_zero=True)),  # out of range, negative
        (0x60, ScaleReading(value=Decimal(500), unit="lb", fault=True)),  # power-up, not zeroed
    ],
)
def test_range_and_power_up_bits(swb: int, expected: ScaleReading) -> None:
    body = b"\x02" + bytes([0x2A, swb, 0x20]) + b"000500000000\r"
    assert only(body + bytes([neg_sum7(body)])) == expected


@pytest.mark.parametrize(
    ("status", "why"),
    [
        (bytes([0x6A, 0x30, 0x20]), "SWA bit 6 set"),
        (bytes([0x0A, 0x30, 0x20]), "SWA bit 5 clear"),
        (bytes([0x22, 0x30, 0x20]), "no increment code"),
        (bytes([0x2A, 0x10, 0x20]), "SWB bit 5 clear"),
        (bytes([0x2A, 0x30, 0x22]), "unit code 2 (tonnes) is not served"),
    ],
)
def test_frames_failing_constant_bits_or_units_are_dropped(status: bytes, why: str) -> None:
    body = b"\x02" + status + b"000500000000\r"
    out = decode(body + bytes([neg_sum7(body)]))
    assert len(out) == 1
    assert isinstance(out[0], BadFrame), why


def test_seventeen_byte_frames_without_checksum() -> None:
    assert only(b"\x02\x2d\x30\x20001235000000\r", checksum=False).value == Decimal("1.235")
    # An 18-byte frame read as 17: the checksum byte is noise before the next STX.
    frames = b"\x02\x2d\x30\x20001235000000\r\x29" * 2
    out = decode(frames, checksum=False)
    assert [reading_of(item).value for item in out if isinstance(item, ContinuousFrame)] == [Decimal("1.235")] * 2


def test_a_checksum_that_is_an_stx_does_not_derail_the_next_frame() -> None:
    # Constant bytes sum to 716 (76 mod 128); digits summing to 50 make the total 126, checksum 0x02 = STX.
    body = b"\x02\x2d\x30\x20" + b"999995" + b"000000\r"
    assert neg_sum7(body) == 0x02
    stream = body + b"\x02" + b"\x02\x2d\x30\x20001235000000\r\x29"
    values = [reading_of(item).value for item in decode(stream) if isinstance(item, ContinuousFrame)]
    assert values == [Decimal("999.995"), Decimal("1.235")]


def test_the_simulator_encoder_speaks_the_same_frames() -> None:
    assert encode_frame(Decimal("1.235"), "kg", decimals=3) == b"\x02\x2d\x30\x20001235000000\r\x29"
    frame = encode_frame(Decimal("-2.50"), "lb", decimals=2, tare=Decimal("1.00"), net=True, motion=True)
    assert only(frame) == ScaleReading(value=Decimal("-2.50"), unit="lb", motion=True, under_zero=True, net=True)
