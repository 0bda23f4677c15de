"""Urano: the weight after PESO: in the printed text (ACBr's captured example)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from drivers.scale_codec import BadFrame, ScaleReading
from drivers.urano.codec import UranoDecoder, UranoWeight, encode_reply, reading_of

ESC = b"\x1b"
#: The reply ACBrBALUrano.pas quotes (1B written out as ESC there).
CAPTURED = ESC + b"T1" + ESC + b"A13" + ESC + b"N0" + ESC + b"S2" + ESC + b"D4" + ESC + b"Q193"
CAPTURED += ESC + b"B * PESO: 5,10kg" + ESC + b"E" + ESC + b"P01"


def readings(data: bytes) -> list[ScaleReading]:
    return [reading_of(item) for item in UranoDecoder().feed(data) if isinstance(item, UranoWeight)]


def test_the_captured_reply() -> None:
    (reading,) = readings(CAPTURED)
    assert reading == ScaleReading(value=Decimal("5.10"), unit="kg")
    assert reading.value is not None
    assert reading.value.as_tuple() == Decimal("5.10").as_tuple()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (b"  PESO: 5,10kg", ScaleReading(value=Decimal("5.10"), unit="kg", motion=True)),  # no '*': moving
        (b"* PESO: -0,25kg", ScaleReading(value=Decimal("-0.25"), unit="kg")),
        (b"* PESO:   0,00kg", ScaleReading(value=Decimal("0.00"), unit="kg")),
        (b"* PESO: 1250g", ScaleReading(value=Decimal(1250), unit="g")),
        (b"* PESO: 12.345kg", ScaleReading(value=Decimal("12.345"), unit="kg")),
    ],
)
def test_variants(text: bytes, expected: ScaleReading) -> None:
    assert readings(ESC + b"B " + text + ESC + b"E") == [expected]


@pytest.mark.parametrize("text", [b"* PESO: kg", b"* PESO: 5,1xkg", b"* PESO 5,10kg", b"* PESO: 5,10lb"])
def test_garbled_text_is_dropped_and_the_next_reply_read(text: bytes) -> None:
    out = UranoDecoder().feed(text + CAPTURED)
    assert any(isinstance(item, BadFrame) for item in out)
    assert [item.value for item in out if isinstance(item, UranoWeight)] == [Decimal("5.10")]


def test_the_key_and_the_weight_may_arrive_in_pieces() -> None:
    decoder = UranoDecoder()
    pieces = [CAPTURED[:30], CAPTURED[30:33], CAPTURED[33:40], CAPTURED[40:]]
    out = [item for piece in pieces for item in decoder.feed(piece)]
    assert out == [UranoWeight(Decimal("5.10"), "kg", stable=True)]


def test_the_simulator_encoder_speaks_the_same_text() -> None:
    assert encode_reply(Decimal("5.10"), stable=True) == CAPTURED
