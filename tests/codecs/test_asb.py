"""Automatic Status Back in the ESC/POS status codec (drivers/escpos/codec.py).

Expected bytes are worked by hand from the manuals' tables (Epson TM-T85/TM-T88 and Citizen/Sewoo/Samsung
ESC/POS references, GS a n): byte 1 = 0xx1xx00b with bit2 drawer pin 3, bit3 offline, bit5 cover open; bytes
2-4 = 0xx0xxxx, byte 3 bits 0-1 near end, bits 2-3 paper end; the 4 bytes are consecutive except for XOFF.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.escpos.codec import (
    AutoStatus,
    RealtimeReply,
    StatusDecoder,
    StatusItem,
    UnexpectedByte,
    asb_enable,
    encode_asb,
    encode_status_byte,
    is_asb_header,
    is_realtime_reply,
)
from drivers.models import PrinterStatus
from tests.codecs._streams import PROPERTY, cut_points, three_ways

XON, XOFF = 0x11, 0x13


def bits(byte: int) -> str:
    return f"{byte:08b}"


def header_pattern(byte: int) -> bool:
    """0xx1xx00b, spelt out bit by bit."""
    b = bits(byte)
    return b[0] == "0" and b[3] == "1" and b[6:] == "00"


def body_pattern(byte: int) -> bool:
    """0xx0xxxx."""
    b = bits(byte)
    return b[0] == "0" and b[3] == "0"


def reply_pattern(byte: int) -> bool:
    """0xx1xx10b (a DLE EOT reply)."""
    b = bits(byte)
    return b[0] == "0" and b[3] == "1" and b[6:] == "10"


def run(chunks: list[bytes]) -> list[StatusItem]:
    decoder = StatusDecoder()
    out: list[StatusItem] = []
    for chunk in chunks:
        out += decoder.feed(chunk)
    return out


def oracle(stream: bytes) -> list[StatusItem]:
    """Classify a whole stream by looking ahead (the decoder keeps state instead)."""
    data = [b for b in stream if b not in (XON, XOFF)]
    out: list[StatusItem] = []
    i = 0
    while i < len(data):
        byte = data[i]
        if reply_pattern(byte):
            out.append(RealtimeReply(byte))
            i += 1
        elif header_pattern(byte):
            following = data[i + 1 : i + 4]
            broken = next((k for k, b in enumerate(following) if not body_pattern(b)), None)
            if broken is None and len(following) == 3:
                out.append(AutoStatus(bytes(data[i : i + 4])))
                i += 4
            elif broken is None:
                break  # the stream ends inside a message: nothing to report yet
            else:
                out += [UnexpectedByte(b) for b in data[i : i + 1 + broken]]
                i += 1 + broken
        else:
            out.append(UnexpectedByte(byte))
            i += 1
    return out


ALL_STATES = [
    (PrinterStatus(online=online, paper=paper, cover=cover), drawer)
    for online, paper, cover, drawer in itertools.product(
        (True, False), ("ok", "near_end", "end"), ("open", "closed"), (True, False)
    )
]


# -- GS a n and the byte patterns ------------------------------------------------------------------------
def test_gs_a_enables_every_item_by_default() -> None:
    assert asb_enable() == bytes([0x1D, 0x61, 0x0F])  # drawer 1 + online 2 + errors 4 + paper 8
    assert asb_enable(0) == b"\x1d\x61\x00"
    assert asb_enable(0x08) == b"\x1d\x61\x08"


def test_header_pattern_on_every_byte() -> None:
    for byte in range(256):
        assert is_asb_header(byte) == header_pattern(byte), hex(byte)


def test_asb_dle_eot_and_flow_control_bytes_are_told_apart() -> None:
    for byte in range(256):
        kinds = [header_pattern(byte), reply_pattern(byte), byte in (XON, XOFF)]
        assert sum(kinds) <= 1, hex(byte)
        assert is_realtime_reply(byte) == reply_pattern(byte)
    assert not is_asb_header(XON)
    assert not is_asb_header(XOFF)
    assert not body_pattern(XON)  # so XON/XOFF can never be taken for the body of a message
    assert not body_pattern(XOFF)


# -- documented messages ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("message", "status", "drawer"),
    [
        ("10000000", PrinterStatus(online=True, paper="ok", cover="closed"), False),
        ("14000000", PrinterStatus(online=True, paper="ok", cover="closed"), True),  # byte1 bit2: pin 3 high
        ("18000000", PrinterStatus(online=False, paper="ok", cover="closed"), False),  # bit3: offline
        ("38000000", PrinterStatus(online=False, paper="ok", cover="open"), False),  # bit5: cover open
        ("10000300", PrinterStatus(online=True, paper="near_end", cover="closed"), False),  # byte3 0x03
        ("10000100", PrinterStatus(online=True, paper="near_end", cover="closed"), False),  # either sensor bit
        ("18000c00", PrinterStatus(online=False, paper="end", cover="closed"), False),  # byte3 0x0C
        ("18000f00", PrinterStatus(online=False, paper="end", cover="closed"), False),  # end wins over near end
        ("50000000", PrinterStatus(online=True, paper="ok", cover="closed"), False),  # bit6: feed button, no fault
        ("10680000", PrinterStatus(online=True, paper="ok", cover="closed"), False),  # error causes: not modelled
    ],
)
def test_documented_messages(message: str, status: PrinterStatus, drawer: bool) -> None:
    data = bytes.fromhex(message)
    (decoded,) = run([data])
    assert decoded == AutoStatus(data)
    assert isinstance(decoded, AutoStatus)
    assert decoded.status == status
    assert decoded.drawer_pin3_high is drawer


@pytest.mark.parametrize(
    ("status", "drawer", "expected"),
    [
        (PrinterStatus(online=True, paper="ok", cover="closed"), False, "10000000"),
        (PrinterStatus(online=True, paper="near_end", cover="closed"), True, "14000300"),
        (PrinterStatus(online=True, paper="end", cover="closed"), False, "18000c00"),  # out of paper: offline
        (PrinterStatus(online=True, paper="ok", cover="open"), False, "38000000"),  # cover open: offline
        (PrinterStatus(online=False, paper="ok", cover="closed"), True, "1c000000"),
    ],
)
def test_simulator_side_encoding(status: PrinterStatus, drawer: bool, expected: str) -> None:
    assert encode_asb(status, drawer).hex() == expected


@pytest.mark.parametrize(("status", "drawer"), ALL_STATES)
def test_every_state_round_trips(status: PrinterStatus, drawer: bool) -> None:
    message = encode_asb(status, drawer)
    assert len(message) == 4
    assert header_pattern(message[0])
    assert all(body_pattern(b) for b in message[1:])
    (decoded,) = run([message])
    assert isinstance(decoded, AutoStatus)
    physically_offline = status.cover == "open" or status.paper == "end"
    assert decoded.status == PrinterStatus(
        online=status.online and not physically_offline, paper=status.paper, cover=status.cover
    )
    assert decoded.drawer_pin3_high is drawer


# -- framing -------------------------------------------------------------------------------------------------
def test_xoff_and_xon_inside_a_message_are_skipped() -> None:
    wire = b"\x18\x13\x00\x0c\x11\x00"
    assert run([wire]) == [AutoStatus(b"\x18\x00\x0c\x00")]


def test_dle_eot_replies_between_messages() -> None:
    wire = b"\x12" + b"\x38\x00\x00\x00" + b"\x16\x1e" + b"\x10\x00\x03\x00"
    assert run([wire]) == [
        RealtimeReply(0x12),
        AutoStatus(b"\x38\x00\x00\x00"),
        RealtimeReply(0x16),
        RealtimeReply(0x1E),
        AutoStatus(b"\x10\x00\x03\x00"),
    ]


def test_a_broken_message_is_noise_and_the_next_byte_counts_afresh() -> None:
    # Header, one body byte, then a DLE EOT reply: the 4 bytes are never interrupted, so the start was noise.
    assert run([b"\x10\x00\x12"]) == [UnexpectedByte(0x10), UnexpectedByte(0x00), RealtimeReply(0x12)]
    # A header right after a broken one starts a message of its own.
    assert run([b"\x10\x80\x14\x00\x00\x00"]) == [
        UnexpectedByte(0x10),
        UnexpectedByte(0x80),
        AutoStatus(b"\x14\x00\x00\x00"),
    ]


def test_a_message_cut_anywhere_waits_for_its_end() -> None:
    decoder = StatusDecoder()
    assert decoder.feed(b"\x18") == []
    assert decoder.feed(b"\x00\x0c") == []
    assert decoder.feed(b"\x00\x12") == [AutoStatus(b"\x18\x00\x0c\x00"), RealtimeReply(0x12)]


messages = st.one_of(
    st.sampled_from(ALL_STATES).map(lambda state: encode_asb(*state)),
    st.tuples(st.sampled_from([1, 2, 3, 4]), st.sampled_from(ALL_STATES)).map(
        lambda pick: bytes([encode_status_byte(pick[0], *pick[1])])
    ),
)
flow = st.lists(st.sampled_from([XON, XOFF]), max_size=2).map(bytes)


def classify(message: bytes) -> StatusItem:
    """What a message built by the test is, decided from its length alone."""
    return AutoStatus(message) if len(message) == 4 else RealtimeReply(message[0])


def sprinkle(message: bytes, xonxoff: list[bytes]) -> bytes:
    """Put flow-control bytes before and between the bytes of ``message``."""
    return b"".join(xonxoff[i % len(xonxoff)] + bytes([b]) for i, b in enumerate(message))


@PROPERTY
@given(
    sent=st.lists(messages, max_size=12),
    xonxoff=st.lists(flow, min_size=4, max_size=4),
    cuts=cut_points,
)
def test_messages_interleaved_with_replies_and_flow_control(
    sent: list[bytes], xonxoff: list[bytes], cuts: list[int]
) -> None:
    wire = b"".join(sprinkle(message, xonxoff) for message in sent) + xonxoff[0]
    expected = [classify(message) for message in sent]
    for out in three_ways(wire, cuts, run):
        assert out == expected


@PROPERTY
@given(
    noise=st.binary(max_size=20),
    resync=st.sampled_from([0x12, 0x16, 0x1A, 0x32, 0x72]),
    sent=st.lists(messages, max_size=8),
    cuts=cut_points,
)
def test_after_noise_a_dle_eot_reply_resynchronizes(
    noise: bytes, resync: int, sent: list[bytes], cuts: list[int]
) -> None:
    # A DLE EOT reply has bit 4 set, so it can never be swallowed as the body of a half-read message.
    wire = noise + bytes([resync]) + b"".join(sent)
    for out in three_ways(wire, cuts, run):
        assert out[-len(sent) - 1 :] == [RealtimeReply(resync), *[classify(m) for m in sent]]


@PROPERTY
@given(stream=st.binary(max_size=120), cuts=cut_points)
def test_any_stream_whole_split_and_byte_by_byte_agree_with_the_lookahead_oracle(
    stream: bytes, cuts: list[int]
) -> None:
    whole, split, single = three_ways(stream, cuts, run)
    assert whole == split == single == oracle(stream)
