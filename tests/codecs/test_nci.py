"""NCI / ECR messages (DIVA service manual, NCI 7800 and Weigh-Tronix 7821 manuals, CAS ECR type 4) and the
Adam MDW weight field (Adam MDW manual §8.5.3): one codec reads both."""

from __future__ import annotations

from decimal import Decimal

import pytest

from drivers.nci.codec import NciDecoder, NciReply, adam_weight_line, encode_reply, encode_status, nci_weight_line
from drivers.nci.codec import reading_of as nci_reading
from drivers.scale_codec import BadFrame, ScaleReading


def items(data: bytes) -> list[NciReply | BadFrame]:
    return NciDecoder().feed(data)


def readings(data: bytes) -> list[ScaleReading | None]:
    return [nci_reading(item) for item in items(data) if not isinstance(item, BadFrame)]


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        # <LF>xx.xxxUU<CR><LF>Shh<CR><ETX>: weight with units, then status.
        (b"\n01.235KG\r\nS00\r\x03", ScaleReading(value=Decimal("1.235"), unit="kg")),
        (b"\n012.34LB\r\n00\r\x03", ScaleReading(value=Decimal("12.34"), unit="lb")),
        (b"\n0012.5OZ\r\n00\r\x03", ScaleReading(value=Decimal("12.5"), unit="oz")),
        # At zero (byte 1 bit 1) is still a weight; motion (bit 0) is not stable.
        (b"\n00.000KG\r\n20\r\x03", ScaleReading(value=Decimal("0.000"), unit="kg")),
        (b"\n01.235KG\r\n10\r\x03", ScaleReading(value=Decimal("1.235"), unit="kg", motion=True)),
        # Status only (negative / in motion / out of capacity): byte 2 bit 0 under, bit 1 over.
        (b"\n01\r\x03", ScaleReading(value=None, unit=None, under_zero=True)),
        (b"\nS02\r\x03", ScaleReading(value=None, unit=None, over_capacity=True)),
        (b"\n10\r\x03", ScaleReading(value=None, unit=None, motion=True)),
        # RAM error (byte 1 bit 2), faulty calibration (byte 2 bit 3).
        (b"\n4000\r\x03", ScaleReading(value=None, unit=None, fault=True)),
        (b"\n08\r\x03", ScaleReading(value=None, unit=None, fault=True)),
        # Adam MDW: polarity, digits with the decimal point, lower-case unit, three status bytes.
        (b"\n 0001.235kg\r\n000\r\x03", ScaleReading(value=Decimal("1.235"), unit="kg")),
        (b"\n-0000.500kg\r\n010\r\x03", ScaleReading(value=Decimal("-0.500"), unit="kg", under_zero=True)),
        (b"\n^^^^^^kg\r\n020\r\x03", ScaleReading(value=None, unit="kg", over_capacity=True)),
        (b"\n______kg\r\n010\r\x03", ScaleReading(value=None, unit="kg", under_zero=True)),
        (b"\n---------kg\r\n000\r\x03", ScaleReading(value=None, unit="kg", fault=True)),
    ],
)
def test_messages(message: bytes, expected: ScaleReading) -> None:
    assert readings(message) == [expected]


def test_unrecognized_command_and_flagless_status_are_not_readings() -> None:
    assert items(b"\n?\r\x03") == [NciReply(None, None, unrecognized=True)]
    assert readings(b"\n?\r\x03") == [None]
    assert readings(b"\n00\r\x03") == [None]  # a status with no reason (a Z reply, or a damaged message's tail)


@pytest.mark.parametrize(
    "message",
    [
        b"\n1LB 02.5OZ\r\n00\r\x03",  # pounds-ounces: not served
        b"\n01.235XX\r\n00\r\x03",  # unknown unit
        b"\n01.2X5KG\r\n00\r\x03",  # corrupted digit
        b"\n01.235KG\r\n0\r\x03",  # one status byte
        b"\n01.235KG\r\nAB\r\x03",  # status bytes without bits 4-5
        b"\n01.23KG\r\n00\r\x03",  # a digit short (no checksum: the width is the check)
        b"\n 001.235kg\r\n000\r\x03",  # an Adam field a digit short
        b"\n01.235KG\r\x03",  # weight without status
    ],
)
def test_bad_messages_never_give_a_weight(message: bytes) -> None:
    assert all(r is None or r.value is None for r in readings(message)), readings(message)
    assert any(isinstance(item, BadFrame) for item in items(message))


def test_noise_before_a_message_and_an_unterminated_one() -> None:
    stream = b"garbage\n12" + b"\n01.235KG\r\n00\r\x03" + b"\n" + b"x" * 80 + b"\n02.000KG\r\n00\r\x03"
    assert [r.value for r in readings(stream) if r is not None] == [Decimal("1.235"), Decimal("2.000")]


def test_the_simulator_encoders_speak_the_same_messages() -> None:
    assert encode_reply(nci_weight_line(Decimal("1.235"), "kg"), encode_status()) == b"\n01.235KG\r\nS00\r\x03"
    assert encode_reply(None, encode_status(motion=True, prefix=False)) == b"\n10\r\x03"
    assert adam_weight_line(Decimal("-0.500"), "kg") == b"-0000.500kg"
    assert adam_weight_line(None, "kg", b"^") == b"^^^^^^kg"
