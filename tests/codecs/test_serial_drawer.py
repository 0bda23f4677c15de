"""Serial drawer status byte (drivers/serial_drawer/codec.py): IBM SurePOS-style, bit 6 = drawer 1 open,
bit 7 always 0 (so a byte with bit 7 set cannot be a status reply)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from drivers.serial_drawer.codec import DrawerReading, Noise, StatusDecoder, encode_status
from tests.codecs._streams import PROPERTY, cut_points, three_ways


def test_bit_6_is_the_drawer_and_other_bits_do_not_matter() -> None:
    decoder = StatusDecoder()
    assert decoder.feed(b"\x40\x00\x41\x3f") == [
        DrawerReading(opened=True, byte=0x40),
        DrawerReading(opened=False, byte=0x00),
        DrawerReading(opened=True, byte=0x41),
        DrawerReading(opened=False, byte=0x3F),
    ]


def test_a_byte_with_bit_7_set_is_noise() -> None:
    assert StatusDecoder().feed(b"\xc0\x80") == [Noise(0xC0), Noise(0x80)]


def test_inverted_polarity() -> None:
    assert StatusDecoder(open_mask=0x01, open_when_set=False).feed(b"\x01\x00") == [
        DrawerReading(opened=False, byte=0x01),
        DrawerReading(opened=True, byte=0x00),
    ]


def test_device_side_status_bytes() -> None:
    assert encode_status(True) == b"\x40"
    assert encode_status(False) == b"\x00"


@PROPERTY
@given(mask=st.integers(1, 0x7F), when_set=st.booleans(), states=st.lists(st.booleans(), max_size=20), cuts=cut_points)
def test_decode_of_encode_round_trips(mask: int, when_set: bool, states: list[bool], cuts: list[int]) -> None:
    data = b"".join(encode_status(s, mask, when_set) for s in states)

    def run(chunks: list[bytes]) -> list[bool]:
        decoder = StatusDecoder(mask, when_set)
        return [item.opened for chunk in chunks for item in decoder.feed(chunk) if isinstance(item, DrawerReading)]

    for decoded in three_ways(data, cuts, run):
        assert decoded == states
