"""MT-SICS replies as the reference manual shows them (S, SI, Z, T, TAC, errors)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from drivers.mtsics.codec import SicsDecoder, SicsReply, encode_weight, parse_line, reading_of
from drivers.scale_codec import BadFrame, ScaleReading


def decode(data: bytes) -> list[SicsReply | BadFrame]:
    return SicsDecoder().feed(data)


@pytest.mark.parametrize(
    ("line", "reply", "reading"),
    [
        (b"S S     100.00 g", SicsReply("S", "S", Decimal("100.00"), "g"), ScaleReading(Decimal("100.00"), "g")),
        (b"S D      12.30 kg", SicsReply("S", "D", Decimal("12.30"), "kg"), ScaleReading(Decimal("12.30"), "kg", True)),
        (b"S S    -0.0082 g", SicsReply("S", "S", Decimal("-0.0082"), "g"), ScaleReading(Decimal("-0.0082"), "g")),
        (b"S S       1.5 lb", SicsReply("S", "S", Decimal("1.5"), "lb"), ScaleReading(Decimal("1.5"), "lb")),
        (b"S +", SicsReply("S", "+"), ScaleReading(None, None, over_capacity=True)),
        (b"S -", SicsReply("S", "-"), ScaleReading(None, None, under_zero=True)),
        (b"S I", SicsReply("S", "I"), None),  # busy: says nothing about the load
        (b"Z A", SicsReply("Z", "A"), None),
        (b"Z I", SicsReply("Z", "I"), None),
        (b"T S      1.000 kg", SicsReply("T", "S", Decimal("1.000"), "kg"), None),  # tare taken: not a weight
        (b"TAC A", SicsReply("TAC", "A"), None),
        (b"ES", SicsReply("ES", ""), None),
        (b"EL", SicsReply("EL", ""), None),
    ],
)
def test_replies(line: bytes, reply: SicsReply, reading: ScaleReading | None) -> None:
    assert decode(line + b"\r\n") == [reply]
    assert reading_of(reply) == reading


@pytest.mark.parametrize(
    "line",
    [b"S S 1.5", b"S S abc g", b"S S 1.5 ct", b"S S 1.5 g extra", b"s s 1.5 g", b"S X", b"hello world", b"\xff\xfe"],
)
def test_bad_lines_are_dropped(line: bytes) -> None:
    assert isinstance(parse_line(line), BadFrame)


def test_lines_may_end_with_cr_lf_or_either() -> None:
    stream = b"S S 1.0 g\r\nS S 2.0 g\rS S 3.0 g\n"
    assert [item.value for item in decode(stream) if isinstance(item, SicsReply)] == [
        Decimal("1.0"),
        Decimal("2.0"),
        Decimal("3.0"),
    ]


def test_the_simulator_encoder_lays_values_out_like_a_balance() -> None:
    assert encode_weight("S", True, Decimal("100.00"), "g") == b"S S     100.00 g\r\n"
    assert encode_weight("S", False, Decimal("-1.5"), "kg") == b"S D       -1.5 kg\r\n"
