"""Mettler Toledo 8217 "SCP" replies and the resynchronising decoder (drivers/toledo/codec.py)."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.toledo.codec import (
    BadFrame,
    Reply,
    StatusReply,
    ToledoDecoder,
    WeightReply,
    encode_status,
    encode_weight,
    parse_payload,
)
from tests.codecs._streams import PROPERTY, cut_points, three_ways

STX = b"\x02"
CR = b"\r"
DIGITS = b"0123456789"

Out = list[Reply | BadFrame]


def decode(*chunks: bytes) -> Out:
    decoder = ToledoDecoder()
    out: Out = []
    for chunk in chunks:
        out += decoder.feed(chunk)
    return out


def run(chunks: list[bytes]) -> Out:
    return decode(*chunks)


def with_parity(data: bytes) -> bytes:
    """Set bit 7 on every byte, as a 7-bit line with mark / odd-even parity read as 8 bits can show."""
    return bytes(b | 0x80 for b in data)


def even_parity(data: bytes) -> bytes:
    """7E1 as read by an 8N1 port: bit 7 is the even-parity bit of the low seven bits."""
    return bytes(b | (0x80 if bin(b).count("1") % 2 else 0) for b in data)


def only_weight(out: Out) -> WeightReply:
    assert len(out) == 1, out
    reply = out[0]
    assert isinstance(reply, WeightReply), reply
    return reply


# Frames built by hand from the protocol (not with encode_weight): value, unit, net, bytes.
WeightFrame = tuple[Decimal, Literal["kg", "lb"], bool, bytes]


def kg_frame(whole: int, frac: int, net: bool) -> WeightFrame:
    text = f"{whole:02d}.{frac:03d}"  # WW.WWW
    return Decimal(f"{whole}.{frac:03d}"), "kg", net, STX + text.encode() + (b"N" if net else b"") + CR


def lb_frame(whole: int, frac: int, net: bool) -> WeightFrame:
    text = f"{whole:03d}.{frac:02d}"  # 0WW.WW (three integer digits)
    return Decimal(f"{whole}.{frac:02d}"), "lb", net, STX + text.encode() + (b"N" if net else b"") + CR


kg_frames = st.builds(kg_frame, st.integers(0, 99), st.integers(0, 999), st.booleans())
lb_frames = st.builds(lb_frame, st.integers(0, 999), st.integers(0, 99), st.booleans())
weight_frames = st.one_of(kg_frames, lb_frames)

# Noise that cannot start a frame: no STX, not even with the parity bit set (0x82 is STX on a 7E1 line).
noise = st.binary(max_size=40).map(lambda b: bytes(x for x in b if x & 0x7F != 0x02))


# -- protocol examples -------------------------------------------------------------------------------
def test_kg_weight_reply_decodes_exactly() -> None:
    reply = only_weight(decode(b"\x0201.235\r"))
    assert reply == WeightReply(value=Decimal("1.235"), unit="kg", net=False)
    # Exactly: same digits and exponent, not merely numerically close.
    assert reply.value.as_tuple() == Decimal("1.235").as_tuple()


def test_lb_weight_reply_has_two_decimals() -> None:
    reply = only_weight(decode(b"\x02012.34\r"))
    assert reply == WeightReply(value=Decimal("12.34"), unit="lb", net=False)
    assert reply.value.as_tuple() == Decimal("12.34").as_tuple()


def test_trailing_n_marks_a_net_weight() -> None:
    assert decode(b"\x0201.235N\r") == [WeightReply(value=Decimal("1.235"), unit="kg", net=True)]
    assert decode(b"\x02003.10N\r") == [WeightReply(value=Decimal("3.10"), unit="lb", net=True)]


@pytest.mark.parametrize(
    ("frame", "value", "unit"),
    [
        (b"\x0200.000\r", Decimal("0.000"), "kg"),
        (b"\x0299.999\r", Decimal("99.999"), "kg"),
        (b"\x0210.005\r", Decimal("10.005"), "kg"),
        (b"\x02000.00\r", Decimal("0.00"), "lb"),
        (b"\x02999.99\r", Decimal("999.99"), "lb"),
        (b"\x02100.50\r", Decimal("100.5"), "lb"),
    ],
)
def test_weight_range_ends(frame: bytes, value: Decimal, unit: str) -> None:
    reply = only_weight(decode(frame))
    assert reply.value == value
    assert reply.unit == unit


def test_status_reply_motion() -> None:
    out = decode(b"\x02?" + bytes([0x41]) + b"\r")
    assert out == [StatusReply(0x01)]
    status = out[0]
    assert isinstance(status, StatusReply)
    assert status.motion
    assert not status.over_capacity
    assert not status.under_zero


@pytest.mark.parametrize(
    ("byte", "motion", "over", "under"),
    [
        (0x40, False, False, False),
        (0x41, True, False, False),
        (0x42, False, True, False),
        (0x44, False, False, True),
        (0x47, True, True, True),
        (0x45, True, False, True),
        (0x78, False, False, False),  # outside zero range, center of zero, net: none of the three
    ],
)
def test_status_bits(byte: int, motion: bool, over: bool, under: bool) -> None:
    (status,) = decode(b"\x02?" + bytes([byte]) + b"\r")
    assert isinstance(status, StatusReply)
    assert (status.motion, status.over_capacity, status.under_zero) == (motion, over, under)
    assert status.bits == byte - 0x40  # bit 6 (always one) is not part of the status


@pytest.mark.parametrize(
    "frame",
    [
        b"\x0201.235\r",
        b"\x02012.34\r",
        b"\x0201.235N\r",
        b"\x02?A\r",
        b"\x02?G\r",
    ],
)
def test_parity_bit_is_ignored(frame: bytes) -> None:
    expected = decode(frame)
    assert expected  # sanity: the plain frame decodes to something
    assert not any(isinstance(item, BadFrame) for item in expected)
    assert decode(with_parity(frame)) == expected
    assert decode(even_parity(frame)) == expected


def test_status_with_parity_is_motion() -> None:
    (status,) = decode(with_parity(b"\x02?" + bytes([0x41]) + b"\r"))
    assert isinstance(status, StatusReply)
    assert status.motion


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"1.235",  # five characters
        b"001.235",  # seven characters
        b"1.2345",  # four decimals
        b"12345.6",
        b"123456",  # no decimal point
        b"01.2.3",
        b"-1.235",
        b" 1.235",
        b"01.23 ",
        b"01,235",
        b"0x.235",
        b"01.235NN",
        b"N",
        b"?",  # status without its byte
        b"?AB",  # status with two bytes
        b"?\x01",  # status byte without the always-one bit 6
        b"?\x00",
    ],
)
def test_malformed_payloads_are_bad_frames(payload: bytes) -> None:
    assert isinstance(parse_payload(payload), BadFrame)
    out = decode(STX + payload + CR)
    assert len(out) == 1
    assert isinstance(out[0], BadFrame)


def test_noise_before_stx_is_skipped() -> None:
    assert decode(b"garbage 99.999\r\n" + b"\x0201.235\r") == [WeightReply(Decimal("1.235"), "kg", False)]


def test_frame_cut_short_by_a_new_stx_is_reported_and_the_new_frame_decoded() -> None:
    out = decode(b"\x0201.2\x0202.500\r")
    assert len(out) == 2
    assert isinstance(out[0], BadFrame)
    assert out[1] == WeightReply(Decimal("2.500"), "kg", False)


def test_over_long_frame_is_reported_and_the_decoder_resyncs_on_the_next_stx() -> None:
    out = decode(b"\x02" + b"1" * 40 + b"\r" + b"\x0201.235\r")
    assert len(out) == 2
    assert isinstance(out[0], BadFrame)
    assert out[1] == WeightReply(Decimal("1.235"), "kg", False)


def test_a_frame_of_sixteen_bytes_is_not_over_long() -> None:
    out = decode(b"\x02" + b"0" * 16 + b"\r")
    assert len(out) == 1
    assert isinstance(out[0], BadFrame)  # malformed, but reported once, at the CR


def test_frame_may_arrive_in_pieces() -> None:
    decoder = ToledoDecoder()
    assert decoder.feed(b"\x0201") == []
    assert decoder.feed(b".2") == []
    assert decoder.feed(b"35") == []
    assert decoder.feed(b"\r") == [WeightReply(Decimal("1.235"), "kg", False)]


# -- encoders ----------------------------------------------------------------------------------------
def test_encoders_produce_the_documented_bytes() -> None:
    assert encode_weight(Decimal("1.235"), "kg") == b"\x0201.235\r"
    assert encode_weight(Decimal("1.235"), "kg", net=True) == b"\x0201.235N\r"
    assert encode_weight(Decimal("12.34"), "lb") == b"\x02012.34\r"
    assert encode_weight(Decimal("0"), "kg") == b"\x0200.000\r"
    assert encode_status(0x01) == b"\x02?A\r"
    assert encode_status(0x00) == b"\x02?@\r"
    assert encode_status(0x06) == b"\x02?F\r"


@PROPERTY
@given(
    value=st.decimals(min_value=0, max_value=Decimal("99.999"), places=3, allow_nan=False, allow_infinity=False),
    net=st.booleans(),
)
def test_kg_weights_round_trip(value: Decimal, net: bool) -> None:
    frame = encode_weight(value, "kg", net)
    assert frame[:1] == STX
    assert frame[-1:] == CR
    assert len(frame) == 8 + net
    reply = only_weight(decode(frame))
    assert reply.value == value
    assert reply.value.as_tuple().exponent == -3
    assert reply.unit == "kg"
    assert reply.net is net


@PROPERTY
@given(
    value=st.decimals(min_value=0, max_value=Decimal("999.99"), places=2, allow_nan=False, allow_infinity=False),
    net=st.booleans(),
)
def test_lb_weights_round_trip(value: Decimal, net: bool) -> None:
    reply = only_weight(decode(encode_weight(value, "lb", net)))
    assert reply.value == value
    assert reply.value.as_tuple().exponent == -2
    assert reply.unit == "lb"
    assert reply.net is net


@PROPERTY
@given(
    value=st.one_of(
        st.decimals(min_value=Decimal("100"), max_value=Decimal("100000"), places=3),
        st.decimals(min_value=Decimal("-99.999"), max_value=Decimal("-0.001"), places=3),
    ),
    unit=st.sampled_from(["kg", "lb"]),
)
def test_out_of_range_weights_never_decode_to_a_wrong_value(value: Decimal, unit: Literal["kg", "lb"]) -> None:
    if unit == "lb" and value >= 0:
        value = value * 10  # 1000 lb and up do not fit "0WW.WW" either
    out = decode(encode_weight(value, unit))
    assert not any(isinstance(item, WeightReply) for item in out)


@PROPERTY
@given(bits=st.integers(min_value=0, max_value=0xFF))
def test_status_round_trips(bits: int) -> None:
    frame = encode_status(bits)
    assert all(b < 0x80 for b in frame)  # 7-bit clean
    (status,) = decode(frame)
    assert isinstance(status, StatusReply)
    assert status.motion == bool(bits & 0b001)
    assert status.over_capacity == bool(bits & 0b010)
    assert status.under_zero == bool(bits & 0b100)
    assert status.bits == bits & 0b0011_1111


# -- decoder robustness ------------------------------------------------------------------------------
@PROPERTY
@given(frame=weight_frames, before=noise, after=noise)
def test_noise_without_stx_around_a_frame_never_changes_the_weight(
    frame: WeightFrame, before: bytes, after: bytes
) -> None:
    value, unit, net, data = frame
    out = decode(before + data + after)
    assert out == [WeightReply(value=value, unit=unit, net=net)]


@PROPERTY
@given(frame=weight_frames, parity=st.lists(st.booleans(), min_size=10, max_size=10))
def test_random_parity_bits_do_not_matter(frame: WeightFrame, parity: list[bool]) -> None:
    value, unit, net, data = frame
    noisy = bytes(b | (0x80 if flip else 0) for b, flip in zip(data, parity, strict=False)) + data[len(parity) :]
    assert decode(noisy) == [WeightReply(value=value, unit=unit, net=net)]


@PROPERTY
@given(frame=weight_frames, data=st.data())
def test_a_corrupted_digit_never_yields_a_weight(frame: WeightFrame, data: st.DataObject) -> None:
    _, _, _, raw = frame
    positions = [i for i, b in enumerate(raw) if b in DIGITS]
    position = data.draw(st.sampled_from(positions))
    # Any byte that is not a digit once the parity bit is masked off (so 0xB0 = "0" | 0x80 is excluded).
    bad = data.draw(st.integers(0, 0xFF).filter(lambda b: (b & 0x7F) not in DIGITS))
    corrupted = raw[:position] + bytes([bad]) + raw[position + 1 :]
    out = decode(corrupted)
    assert not any(isinstance(item, WeightReply) for item in out), (corrupted, out)
    assert any(isinstance(item, BadFrame) for item in out)


@PROPERTY
@given(
    junk=st.binary(min_size=17, max_size=60).map(lambda b: bytes(x for x in b if x & 0x7F not in (0x02, 0x0D))),
    tail=noise,
    frame=weight_frames,
)
def test_over_long_frame_is_reported_then_resync_on_next_stx(junk: bytes, tail: bytes, frame: WeightFrame) -> None:
    value, unit, net, data = frame
    junk = (junk + b"x" * 17)[: max(17, len(junk))]  # at least 17 payload bytes after filtering
    out = decode(STX + junk + tail + data)
    assert len(out) == 2, out
    assert isinstance(out[0], BadFrame)
    assert bytes(b & 0x7F for b in junk).startswith(out[0].data)
    assert out[1] == WeightReply(value=value, unit=unit, net=net)


@st.composite
def toledo_streams(draw: st.DrawFn) -> bytes:
    parts: list[bytes] = []
    for _ in range(draw(st.integers(0, 8))):
        kind = draw(st.sampled_from(["weight", "status", "noise", "junk", "long"]))
        if kind == "weight":
            parts.append(draw(weight_frames)[3])
        elif kind == "status":
            parts.append(encode_status(draw(st.integers(0, 0x7F))))
        elif kind == "noise":
            parts.append(draw(st.binary(max_size=10)))
        elif kind == "junk":
            parts.append(STX + draw(st.binary(max_size=10)))
        else:
            parts.append(STX + b"9" * draw(st.integers(15, 20)) + CR)
    return b"".join(parts)


@PROPERTY
@given(stream=st.one_of(toledo_streams(), st.binary(max_size=120)), cuts=cut_points)
def test_whole_split_and_byte_by_byte_feeds_agree(stream: bytes, cuts: list[int]) -> None:
    whole, split, single = three_ways(stream, cuts, run)
    assert whole == split == single


@PROPERTY
@given(frames=st.lists(weight_frames, max_size=6), cuts=cut_points)
def test_consecutive_frames_all_decode_in_order_whatever_the_split(frames: list[WeightFrame], cuts: list[int]) -> None:
    stream = b"".join(raw for *_, raw in frames)
    expected = [WeightReply(value=v, unit=u, net=n) for v, u, n, _ in frames]
    for out in three_ways(stream, cuts, run):
        assert out == expected
