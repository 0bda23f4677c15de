"""Properties every scale codec must have, run over all of them (frames built by hand in _scale_frames):

* a frame decodes to the reading the protocol description gives;
* fed whole, split anywhere or byte by byte, a stream gives the same items;
* after arbitrary noise the decoder is back in step within one frame, and never reports a weight that
  was not sent;
* a frame with a wrong checksum never yields a weight (protocols with a checksum);
* bit 7 (parity on a 7-bit line read at 8 bits) changes nothing (7-bit protocols);
* arbitrary bytes never make a decoder raise (the hypothesis half of the fuzzing; atheris is the other).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.scale_codec import BadFrame, ScaleReading
from tests.codecs._scale_frames import PROTOCOLS, Frame, Protocol, readings
from tests.codecs._streams import PROPERTY, cut_points, three_ways

STREAMING = [p for p in PROTOCOLS if p.stream]
ids = [p.name for p in PROTOCOLS]
streaming_ids = [p.name for p in STREAMING]


def decode_chunks(protocol: Protocol, chunks: list[bytes]) -> list[Any]:
    decoder = protocol.decoder()
    out: list[Any] = []
    for chunk in chunks:
        out += decoder.feed(chunk)
    return out


def frames_of(protocol: Protocol, count: int) -> st.SearchStrategy[list[Frame]]:
    return st.lists(protocol.frames, min_size=count, max_size=count + 4)


def without(start: bytes) -> st.SearchStrategy[bytes]:
    return st.binary(max_size=40).map(lambda data: bytes(b for b in data if b & 0x7F not in start))


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=ids)
@PROPERTY
@given(data=st.data())
def test_frames_decode_to_the_described_reading(protocol: Protocol, data: st.DataObject) -> None:
    frames = data.draw(frames_of(protocol, 1))
    decoder = protocol.decoder()
    for frame, expected in frames:
        items = decoder.feed(frame)
        assert [item for item in items if isinstance(item, BadFrame)] == [], (frame, items)
        assert readings(protocol, items) == [expected], frame


@pytest.mark.parametrize("protocol", STREAMING, ids=streaming_ids)
@PROPERTY
@given(data=st.data(), cuts=cut_points)
def test_whole_split_and_byte_by_byte_agree(protocol: Protocol, data: st.DataObject, cuts: list[int]) -> None:
    parts = data.draw(
        st.lists(st.one_of(protocol.frames.map(lambda f: f[0]), st.binary(max_size=12)), min_size=1, max_size=8)
    )
    stream = b"".join(parts)
    whole, split, single = three_ways(stream, cuts, lambda chunks: decode_chunks(protocol, chunks))
    assert whole == split == single


@pytest.mark.parametrize("protocol", STREAMING, ids=streaming_ids)
@PROPERTY
@given(data=st.data(), noise=st.binary(max_size=60), cuts=cut_points)
def test_back_in_step_within_one_frame_after_noise_and_never_a_wrong_weight(
    protocol: Protocol, data: st.DataObject, noise: bytes, cuts: list[int]
) -> None:
    frames = data.draw(frames_of(protocol, 2))
    stream = noise + b"".join(frame for frame, _ in frames)
    for out in three_ways(stream, cuts, lambda chunks: decode_chunks(protocol, chunks)):
        got = readings(protocol, out)
        expected = [reading for _, reading in frames]
        # At most the first frame is lost to the noise before it; everything after is decoded exactly.
        assert got[-(len(frames) - 1) :] == expected[1:], (noise, got)
        sent = {(r.value, r.unit) for r in expected if r is not None}
        assert all(r is None or r.value is None or (r.value, r.unit) in sent for r in got), (noise, got)


@pytest.mark.parametrize("protocol", STREAMING, ids=streaming_ids)
@PROPERTY
@given(data=st.data())
def test_noise_without_frame_starts_costs_nothing(protocol: Protocol, data: st.DataObject) -> None:
    frames = data.draw(frames_of(protocol, 1))
    before, after = data.draw(without(protocol.start)), data.draw(without(protocol.start))
    if protocol.name == "mt-sics":  # a line protocol: noise must end with a line end to stay apart
        before, after = before + b"\r\n", b"\r\n" + after
    stream = before + b"".join(frame for frame, _ in frames) + after
    assert readings(protocol, decode_chunks(protocol, [stream])) == [reading for _, reading in frames]


@pytest.mark.parametrize("protocol", [p for p in PROTOCOLS if p.checksum is not None], ids=lambda p: p.name)
@PROPERTY
@given(data=st.data())
def test_a_bad_checksum_never_yields_a_weight(protocol: Protocol, data: st.DataObject) -> None:
    frame, _ = data.draw(protocol.frames)
    assert protocol.checksum is not None
    index = len(frame) + protocol.checksum
    good = frame[index]
    mask = 0x7F if protocol.seven_bit else 0xFF
    bad = data.draw(st.integers(0, 0xFF).filter(lambda b: (b & mask) != (good & mask)))
    damaged = frame[:index] + bytes([bad]) + frame[index + 1 :]
    items = decode_chunks(protocol, [damaged])
    assert readings(protocol, items) == []
    assert any(isinstance(item, BadFrame) for item in items)


@pytest.mark.parametrize("protocol", [p for p in PROTOCOLS if p.seven_bit], ids=lambda p: p.name)
@PROPERTY
@given(data=st.data())
def test_parity_bits_change_nothing(protocol: Protocol, data: st.DataObject) -> None:
    frames = data.draw(frames_of(protocol, 1))
    stream = b"".join(frame for frame, _ in frames)
    flips = data.draw(st.lists(st.booleans(), min_size=len(stream), max_size=len(stream)))
    noisy = bytes(b | 0x80 if flip else b for b, flip in zip(stream, flips, strict=True))
    assert readings(protocol, decode_chunks(protocol, [noisy])) == [reading for _, reading in frames]


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=ids)
@PROPERTY
@given(chunks=st.lists(st.binary(max_size=80), max_size=8))
def test_arbitrary_bytes_never_raise(protocol: Protocol, chunks: list[bytes]) -> None:
    decoder = protocol.decoder()
    for chunk in chunks:
        for item in decoder.feed(chunk):
            if not isinstance(item, BadFrame):
                reading = protocol.reading(item)
                assert reading is None or isinstance(reading, ScaleReading)
