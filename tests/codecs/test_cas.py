"""CAS PD-II ECR formats: DC1 (type 6) and DC2 (types 0/1), frames as the manual and firmware lay them out."""

from __future__ import annotations

from decimal import Decimal

import pytest

from drivers.cas.codec import CasControl, CasDecoder, CasWeight, Format, encode_dc1, encode_dc2, reading_of
from drivers.scale_codec import BadFrame, ScaleReading
from tests.codecs._scale_frames import xor_all


def dc1(block: bytes) -> bytes:
    """SOH STX <STA SIGN W5..W0 UN1 UN0> BCC ETX EOT, BCC = XOR of the block."""
    return b"\x01\x02" + block + bytes([xor_all(block)]) + b"\x03\x04"


def dc2(block: bytes) -> bytes:
    """STX <ID W5..W1> BCC ETX."""
    return b"\x02" + block + bytes([xor_all(block)]) + b"\x03"


def readings(data: bytes, fmt: Format) -> list[ScaleReading | None]:
    return [reading_of(item) for item in CasDecoder(fmt).feed(data) if not isinstance(item, BadFrame)]


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        (b"S  1.235KG", ScaleReading(value=Decimal("1.235"), unit="kg")),
        (b"U  1.235KG", ScaleReading(value=Decimal("1.235"), unit="kg", motion=True)),
        (b"S- 0.500KG", ScaleReading(value=Decimal("-0.500"), unit="kg")),
        (b"S  12.34LB", ScaleReading(value=Decimal("12.34"), unit="lb")),
        (b"S    500G ", ScaleReading(value=Decimal(500), unit="g")),
        (b"SFFFFFFFKG", ScaleReading(value=None, unit="kg", over_capacity=True)),
        (b"S  0.000kg", ScaleReading(value=Decimal("0.000"), unit="kg")),  # lower-case unit (small-table firmware)
    ],
)
def test_dc1_frames(block: bytes, expected: ScaleReading) -> None:
    assert readings(dc1(block), "dc1") == [expected]


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        (b"A01235", ScaleReading(value=Decimal("1.235"), unit="kg")),  # 15 kg scale: grams
        (b"B30000", ScaleReading(value=Decimal("30.000"), unit="kg")),
        (b"F01250", ScaleReading(value=Decimal("12.50"), unit="lb")),  # 15 lb scale: hundredths
    ],
)
def test_dc2_frames(block: bytes, expected: ScaleReading) -> None:
    assert readings(dc2(block), "dc2") == [expected]


def test_one_byte_answers() -> None:
    assert CasDecoder("dc2").feed(b"\x06\x07\x15") == [CasControl("ack"), CasControl("zero"), CasControl("not_ready")]
    assert readings(b"\x07", "dc2") == [ScaleReading(value=Decimal(0), unit=None)]  # BEL: the weight is zero
    assert readings(b"\x15", "dc2") == [ScaleReading(value=None, unit=None, motion=True)]  # NAK: moving/negative
    # DC1 scales only ever answer ACK with one byte; BEL/NAK there are noise.
    assert CasDecoder("dc1").feed(b"\x06\x07\x15") == [CasControl("ack")]


@pytest.mark.parametrize(
    ("frame", "fmt"),
    [
        (dc1(b"S  1.235KG")[:-3] + b"\x00\x03\x04", "dc1"),  # wrong BCC
        (dc1(b"X  1.235KG"), "dc1"),  # unknown status
        (dc1(b"S  1.2X5KG"), "dc1"),  # corrupted digit
        (dc1(b"S  1.235TT"), "dc1"),  # unknown unit
        (dc2(b"Z01235"), "dc2"),  # unknown scale ID
        (dc2(b"A012X5"), "dc2"),
        (dc2(b"A01235")[:-2] + b"\x07\x03", "dc2"),  # wrong BCC, and it happens to be BEL
    ],
)
def test_bad_frames_never_give_a_weight(frame: bytes, fmt: Format) -> None:
    items = CasDecoder(fmt).feed(frame)
    assert isinstance(items[0], BadFrame)
    assert all(isinstance(item, BadFrame) for item in items), items  # not even the BEL inside it


def test_the_simulator_encoders_speak_the_same_frames() -> None:
    assert encode_dc1(Decimal("1.235"), "kg", stable=True) == dc1(b"S  1.235KG")
    assert encode_dc1(Decimal("-0.500"), "kg", stable=False) == dc1(b"U- 0.500KG")
    assert encode_dc2(Decimal("1.235"), "kg") == dc2(b"A01235")
    assert CasDecoder("dc1").feed(encode_dc1(Decimal(1), "kg", stable=True, overload=True)) == [
        CasWeight(None, "kg", stable=True, overload=True)
    ]
