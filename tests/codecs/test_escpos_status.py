"""ESC/POS host-side codec: DLE EOT status bytes and the drawer kick (drivers/escpos/codec.py)."""

from __future__ import annotations

import itertools
from typing import Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.escpos.codec import (
    AutoStatus,
    RealtimeReply,
    StatusDecoder,
    UnexpectedByte,
    decode_status,
    drawer_kick,
    encode_status_byte,
    is_realtime_reply,
    status_request,
)
from drivers.models import PrinterStatus
from tests.codecs._streams import PROPERTY, cut_points, three_ways

Paper = Literal["ok", "near_end", "end"]
Cover = Literal["open", "closed"]


def matches_reply_pattern(byte: int) -> bool:
    """0xx1xx10b, spelt out bit by bit."""
    bits = f"{byte:08b}"
    return bits[0] == "0" and bits[3] == "1" and bits[6] == "1" and bits[7] == "0"


ALL_STATES = [
    (PrinterStatus(online=online, paper=paper, cover=cover), drawer)
    for online, paper, cover, drawer in itertools.product(
        (True, False), ("ok", "near_end", "end"), ("open", "closed"), (True, False)
    )
]


def run(chunks: list[bytes]) -> list[RealtimeReply | UnexpectedByte]:
    """What the decoder makes of ``chunks``: streams without ASB messages here (tests/codecs/test_asb.py has those)."""
    decoder = StatusDecoder()
    out: list[RealtimeReply | UnexpectedByte] = []
    for chunk in chunks:
        for item in decoder.feed(chunk):
            assert not isinstance(item, AutoStatus), item
            out.append(item)
    return out


# -- requests and the reply pattern -------------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_status_request_is_dle_eot_n(n: int) -> None:
    assert status_request(n) == bytes([0x10, 0x04, n])


def test_reply_pattern_on_every_byte() -> None:
    for byte in range(256):
        assert is_realtime_reply(byte) == matches_reply_pattern(byte), hex(byte)


@pytest.mark.parametrize("byte", [0x12, 0x16, 0x1A, 0x1E, 0x32, 0x52, 0x72, 0x7E])
def test_documented_reply_bytes_are_recognised(byte: int) -> None:
    assert is_realtime_reply(byte)


@pytest.mark.parametrize("byte", [0x00, 0x11, 0x13, 0x02, 0x10, 0x92, 0x14, 0x17, 0xFF, ord("A")])
def test_other_bytes_are_not_replies(byte: int) -> None:
    assert not is_realtime_reply(byte)


# -- decode_status: the documented bits -------------------------------------------------------------------
def test_all_clear() -> None:
    assert decode_status(0x12, 0x12, 0x12) == PrinterStatus(online=True, paper="ok", cover="closed")


def test_n1_bit3_is_offline_and_bit2_drawer_does_not_matter() -> None:
    assert decode_status(0x1A, 0x12, 0x12).online is False
    assert decode_status(0x16, 0x12, 0x12).online is True  # bit 2 is the drawer pin, not a fault


def test_n2_bit2_is_cover_open() -> None:
    assert decode_status(0x1A, 0x16, 0x12) == PrinterStatus(online=False, paper="ok", cover="open")


def test_n2_bit5_paper_end_stop_means_paper_end() -> None:
    assert decode_status(0x1A, 0x32, 0x12).paper == "end"


def test_n2_bit6_error_alone_is_neither_cover_nor_paper() -> None:
    status = decode_status(0x1A, 0x52, 0x12)
    assert status.cover == "closed"
    assert status.paper == "ok"
    assert status.online is False


@pytest.mark.parametrize(
    ("paper_byte", "expected"),
    [
        (0x12, "ok"),
        (0x1E, "near_end"),  # 0x0C
        (0x16, "near_end"),  # either near-end sensor bit
        (0x1A, "near_end"),
        (0x72, "end"),  # 0x60
        (0x32, "end"),
        (0x52, "end"),
        (0x7E, "end"),  # paper end wins over near end
    ],
)
def test_n4_paper_sensor(paper_byte: int, expected: str) -> None:
    assert decode_status(0x12, 0x12, paper_byte).paper == expected


# -- encode_status_byte / decode_status round trip ---------------------------------------------------------
@pytest.mark.parametrize(("status", "drawer"), ALL_STATES)
def test_every_state_round_trips(status: PrinterStatus, drawer: bool) -> None:
    replies = {n: encode_status_byte(n, status, drawer) for n in (1, 2, 3, 4)}
    for n, byte in replies.items():
        assert 0 <= byte <= 0xFF
        assert matches_reply_pattern(byte), (n, hex(byte))
    decoded = decode_status(replies[1], replies[2], replies[4])
    assert decoded.paper == status.paper
    assert decoded.cover == status.cover
    # A real printer is offline while its cover is open or it is out of paper, so those states read back
    # as offline whatever ``online`` said; otherwise ``online`` round-trips.
    physically_offline = status.cover == "open" or status.paper == "end"
    assert decoded.online == (status.online and not physically_offline)
    # The drawer is only in the n=1 reply, bit 2.
    assert bool(replies[1] & 0b0000_0100) is drawer
    assert replies[2] & 0b0000_0100 == (0b100 if status.cover == "open" else 0)
    assert replies[3] == 0x12  # no error causes are modelled


def test_state_count() -> None:
    assert len(ALL_STATES) == 24
    assert len({(s.online, s.paper, s.cover, d) for s, d in ALL_STATES}) == 24


def test_encoded_bytes_through_the_status_decoder() -> None:
    status = PrinterStatus(online=True, paper="near_end", cover="closed")
    wire = bytes(encode_status_byte(n, status, True) for n in (1, 2, 4))
    assert run([wire]) == [RealtimeReply(0x16), RealtimeReply(0x12), RealtimeReply(0x1E)]


# -- StatusDecoder ---------------------------------------------------------------------------------
def test_xon_xoff_are_skipped() -> None:
    assert run([b"\x11\x16\x13\x13\x1e\x11"]) == [RealtimeReply(0x16), RealtimeReply(0x1E)]


def test_non_reply_bytes_are_reported() -> None:
    assert run([b"\x12A\x00\x92"]) == [
        RealtimeReply(0x12),
        UnexpectedByte(0x41),
        UnexpectedByte(0x00),
        UnexpectedByte(0x92),
    ]


def starts_asb(byte: int) -> bool:
    """0xx1xx00b: the first byte of an Automatic Status Back message (tests/codecs/test_asb.py)."""
    bits = f"{byte:08b}"
    return bits[0] == "0" and bits[3] == "1" and bits[6:] == "00"


@PROPERTY
@given(stream=st.lists(st.integers(0, 255).filter(lambda b: not starts_asb(b)), max_size=100), cuts=cut_points)
def test_whole_split_and_byte_by_byte_feeds_agree(stream: list[int], cuts: list[int]) -> None:
    whole, split, single = three_ways(bytes(stream), cuts, run)
    assert whole == split == single
    # Independent classification: without ASB messages, every byte except XON/XOFF, in order.
    expected = [b for b in stream if b not in (0x11, 0x13)]
    assert [item.byte for item in whole] == expected
    assert all(isinstance(item, RealtimeReply) == matches_reply_pattern(item.byte) for item in whole)


@PROPERTY
@given(
    states=st.lists(st.sampled_from(ALL_STATES), max_size=5),
    flow=st.lists(st.sampled_from([b"", b"\x11", b"\x13", b"\x13\x11"]), min_size=16, max_size=16),
    cuts=cut_points,
)
def test_replies_survive_interleaved_flow_control(
    states: list[tuple[PrinterStatus, bool]], flow: list[bytes], cuts: list[int]
) -> None:
    replies = [encode_status_byte(n, status, drawer) for status, drawer in states for n in (1, 2, 4)]
    wire = b"".join(flow[i % len(flow)] + bytes([byte]) for i, byte in enumerate(replies)) + flow[0]
    for out in three_ways(wire, cuts, run):
        assert out == [RealtimeReply(byte) for byte in replies]


# -- drawer kick ------------------------------------------------------------------------------------
def test_drawer_kick_bytes() -> None:
    # ESC p m t1 t2, times in 2 ms units.
    assert drawer_kick(2, 100, 500) == b"\x1b\x70\x00\x32\xfa"
    assert drawer_kick(5, 100, 500) == b"\x1b\x70\x01\x32\xfa"
    assert drawer_kick(2, 50, 100) == bytes([0x1B, 0x70, 0, 25, 50])


def test_drawer_kick_limits() -> None:
    assert drawer_kick(2, 0, 0)[3:] == bytes([1, 1])  # at least one unit on
    assert drawer_kick(2, 10_000, 10_000)[3:] == bytes([255, 255])  # 510 ms at most
    assert drawer_kick(5, 200, 20)[3:] == bytes([100, 100])  # off time is never shorter than on time


@PROPERTY
@given(
    pin=st.sampled_from([2, 5]),
    on_ms=st.integers(min_value=0, max_value=2000),
    off_ms=st.integers(min_value=0, max_value=2000),
)
def test_drawer_kick_is_well_formed(pin: Literal[2, 5], on_ms: int, off_ms: int) -> None:
    command = drawer_kick(pin, on_ms, off_ms)
    assert len(command) == 5
    assert command[:2] == b"\x1bp"
    assert command[2] == {2: 0, 5: 1}[pin]
    t1, t2 = command[3], command[4]
    assert 1 <= t1 <= 255
    assert t1 <= t2 <= 255
    if 2 <= on_ms <= 511:
        assert t1 * 2 <= on_ms < t1 * 2 + 2  # the nearest 2 ms unit at or below the request
