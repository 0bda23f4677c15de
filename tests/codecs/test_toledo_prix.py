"""Toledo Prix protocols A, B, C and Filizola (same B/C frame): examples from ACBr's protocol notes."""

from __future__ import annotations

from decimal import Decimal
from typing import Final

import pytest

from drivers.scale_codec import BadFrame, ScaleReading
from drivers.toledo.prix import PrixAFrame, PrixDecoder, PrixWeight, Variant, encode_a, encode_bc, reading_of
from tests.codecs._scale_frames import neg_sum8


def readings(data: bytes, variant: Variant = "auto") -> list[ScaleReading | None]:
    return [reading_of(item) for item in PrixDecoder(variant).feed(data) if not isinstance(item, BadFrame)]


KG: Final = "kg"


@pytest.mark.parametrize("variant", ["auto", "BC"])
@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        (b"\x0201235\x03", ScaleReading(value=Decimal("1.235"), unit=KG)),  # B: grams, /1000
        (b"\x0201235\r", ScaleReading(value=Decimal("1.235"), unit=KG)),  # C
        (b"\x0200000\x03", ScaleReading(value=Decimal("0.000"), unit=KG)),
        (b"\x0299999\x03", ScaleReading(value=Decimal("99.999"), unit=KG)),
        (b"\x02IIIII\x03", ScaleReading(value=None, unit=KG, motion=True)),
        (b"\x02NNNNN\x03", ScaleReading(value=None, unit=KG, under_zero=True)),
        (b"\x02SSSSS\r", ScaleReading(value=None, unit=KG, over_capacity=True)),
        (b"\x0201.235\x03", ScaleReading(value=Decimal("1.235"), unit=KG)),  # with a separator: as written
        (b"\x0201,235\x03", ScaleReading(value=Decimal("1.235"), unit=KG)),
    ],
)
def test_b_and_c_frames(frame: bytes, expected: ScaleReading, variant: Variant) -> None:
    assert readings(frame, variant) == [expected]


@pytest.mark.parametrize(
    "payload",
    # Corrupt, or a digit short (1235, 1.235, 01,23) or long (123456): never read as another weight.
    [b"12a45", b"1235", b"123456", b"1.235", b"01,23", b"-1.235", b"IINII", b"", b"1.2.3"],
)
def test_bad_b_payloads_are_dropped(payload: bytes) -> None:
    out = PrixDecoder("BC").feed(b"\x02" + payload + b"\x03" + b"\x0201235\x03")
    assert isinstance(out[0], BadFrame)
    assert [reading_of(item) for item in out if not isinstance(item, BadFrame)] == [
        ScaleReading(value=Decimal("1.235"), unit=KG)
    ]


def a_frame(s1: int, weight: bytes, s2: int, total: bytes = b"000000", price: bytes = b"000000") -> bytes:
    body = bytes([0x02, s1]) + weight + bytes([s2]) + total + price + b"\r"
    return body + bytes([neg_sum8(body)])


@pytest.mark.parametrize("variant", ["auto", "A"])
def test_a_frames(variant: Variant) -> None:
    assert readings(a_frame(0x00, b"002500", 0x00, b"002500", b"001000"), variant) == [
        ScaleReading(value=Decimal("2.500"), unit=KG)
    ]
    # S1 bit 0 motion, bit 3 out of range; S2 bit 3 two decimals, bit 6 tare in use.
    assert readings(a_frame(0x01, b"012345", 0x08), variant) == [
        ScaleReading(value=Decimal("123.45"), unit=KG, motion=True)
    ]
    assert readings(a_frame(0x08, b"000000", 0x40), variant) == [
        ScaleReading(value=Decimal("0.000"), unit=KG, over_capacity=True, net=True)
    ]
    # S1 bit 2: the scale shows the date, the field is not a weight.
    assert readings(a_frame(0x04, b"221126", 0x00), variant) == [None]


def test_a_frame_with_a_wrong_checksum_or_no_cr_is_dropped() -> None:
    frame = a_frame(0x00, b"002500", 0x00)
    bad_sum = frame[:-1] + bytes([(frame[-1] + 1) & 0xFF])
    no_cr = frame[:21] + b"\n" + frame[22:]
    for damaged in (bad_sum, no_cr):
        out = PrixDecoder("A").feed(damaged)
        assert out
        assert all(isinstance(item, BadFrame) for item in out)


def test_auto_tells_the_protocols_apart_in_one_stream() -> None:
    stream = b"\x0200500\x03" + a_frame(0x00, b"000750", 0x00) + b"\x0201000\r"
    values = [r.value for r in readings(stream) if r is not None]
    assert values == [Decimal("0.500"), Decimal("0.750"), Decimal("1.000")]
    items = PrixDecoder().feed(stream)
    assert [type(item) for item in items] == [PrixWeight, PrixAFrame, PrixWeight]


def test_a_frame_whose_status_byte_looks_like_etx_is_still_a() -> None:
    # S1 = 0x03 (motion + print flag) is ETX: "STX ETX" is not an empty B frame but the start of an A frame.
    assert readings(a_frame(0x03, b"001000", 0x00)) == [ScaleReading(value=Decimal("1.000"), unit=KG, motion=True)]


def test_the_simulator_encoders_speak_the_same_frames() -> None:
    assert encode_bc(Decimal("1.235")) == b"\x0201235\x03"
    assert encode_bc(None, "unstable", "C") == b"\x02IIIII\r"
    assert encode_a(Decimal("2.500"), unit_price=1000) == a_frame(0x00, b"002500", 0x00, b"002500", b"001000")
