"""Properties every scale codec must have, run over all of them (frames built by hand in _scale_frames):

* a frame decodes to the reading the protocol description gives;
* fed whole, split anywhere or byte by byte, a stream gives the same items;
* after arbitrary noise the decoder is back in step within one frame, and never reports a weight that
  was not sent; noise that cannot start a frame costs nothing;
* bit 7 (parity on a 7-bit line read at 8 bits) changes nothing (7-bit protocols);
* a frame with a wrong checksum never yields a weight (protocols with a checksum);
* a byte that failed its parity check (read as NUL) never makes a wrong weight (7-bit protocols);
* arbitrary bytes never make a decoder raise (the hypothesis half of the fuzzing; atheris is the other).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.scale_codec import BadFrame, ScaleReading
from tests.codecs._scale_frames import PROTOCOLS, Protocol, readings
from tests.codecs._streams import PROPERTY, cut_points, three_ways

STREAMING = [p for p in PROTOCOLS if p.stream]


def decode_chunks(protocol: Protocol, chunks: list[bytes]) -> list[Any]:
    decoder = protocol.decoder()
    out: list[Any] = []
    for chunk in chunks:
        out += decoder.feed(chunk)
    return out


def decode(protocol: Protocol, stream: bytes) -> list[ScaleReading | None]:
    return readings(protocol, decode_chunks(protocol, [stream]))


def strip(data: bytes, unwanted: bytes) -> bytes:
    return bytes(b for b in data if b & 0x7F not in unwanted)


@pytest.mark.parametrize("protocol", STREAMING, ids=lambda p: p.name)
@PROPERTY
@given(data=st.data(), noise=st.binary(max_size=40), cuts=cut_points, flips=st.binary(min_size=64, max_size=64))
def test_stream_properties(
    protocol: Protocol, data: st.DataObject, noise: bytes, cuts: list[int], flips: bytes
) -> None:
    frames = data.draw(st.lists(protocol.frames, min_size=2, max_size=6), label="frames")
    stream = b"".join(frame for frame, _ in frames)
    expected = [reading for _, reading in frames]

    # Clean: every frame decodes to the described reading, nothing is dropped.
    items = decode_chunks(protocol, [stream])
    assert not [item for item in items if isinstance(item, BadFrame)], items
    assert readings(protocol, items) == expected

    # Arbitrary noise first: whole, split and byte by byte agree; at most the first frame is lost;
    # nothing reads as a weight that was not sent.
    noise = strip(noise, protocol.one_byte_messages)
    if any(len(frame) == 1 for frame, _ in frames):
        # A stray frame start holds one-byte answers (CAS DC2 BEL/NAK) until a frame's length has arrived:
        # the driver drains the line before every request, so that costs one poll, not a wrong weight.
        noise = strip(noise, protocol.start)
    outs = three_ways(noise + stream, cuts, lambda chunks: decode_chunks(protocol, chunks))
    assert outs[0] == outs[1] == outs[2]
    got = readings(protocol, outs[0])
    assert got[-(len(frames) - 1) :] == expected[1:], (noise, got)
    sent = {(r.value, r.unit) for r in expected if r is not None}
    assert all(r is None or r.value is None or (r.value, r.unit) in sent for r in got), (noise, got)

    # Noise that cannot start a frame, before, between and after frames, costs nothing.
    quiet = strip(noise, protocol.start + protocol.one_byte_messages)
    if protocol.name == "mt-sics":
        quiet += b"\r\n"  # a line protocol: noise is its own (bad) line
    padded = quiet + quiet.join(frame for frame, _ in frames) + quiet
    assert decode(protocol, padded) == expected

    # Parity garbage in bit 7 of a 7-bit line changes nothing.
    if protocol.seven_bit:
        noisy = bytes(b | (flips[i % len(flips)] & 0x80) for i, b in enumerate(stream))
        assert decode(protocol, noisy) == expected


@pytest.mark.parametrize("protocol", [p for p in PROTOCOLS if p.checksum is not None], ids=lambda p: p.name)
@PROPERTY
@given(data=st.data(), bad=st.integers(1, 0xFF))
def test_a_bad_checksum_never_yields_a_weight(protocol: Protocol, data: st.DataObject, bad: int) -> None:
    frame, _ = data.draw(protocol.frames.filter(lambda f: len(f[0]) > 2), label="frame")  # not a lone BEL/NAK
    assert protocol.checksum is not None
    index = len(frame) + protocol.checksum
    mask = 0x7F if protocol.seven_bit else 0xFF
    wrong = (frame[index] + bad) & mask  # any other value, bit 7 included for 8-bit lines
    if wrong == frame[index] & mask:
        wrong ^= 1
    damaged = frame[:index] + bytes([wrong]) + frame[index + 1 :]
    items = decode_chunks(protocol, [damaged])
    assert readings(protocol, items) == []
    assert any(isinstance(item, BadFrame) for item in items)


@pytest.mark.parametrize("protocol", [p for p in PROTOCOLS if p.seven_bit], ids=lambda p: p.name)
@PROPERTY
@given(data=st.data(), where=st.integers(0, 1000))
def test_a_byte_that_failed_parity_never_yields_a_wrong_weight(
    protocol: Protocol, data: st.DataObject, where: int
) -> None:
    # The serial transport turns on input parity checking (INPCK without IGNPAR/PARMRK): the kernel reads a
    # byte that fails its check as NUL. Whatever byte that was, the frame must not read as another weight.
    frame, expected = data.draw(protocol.frames.filter(lambda f: len(f[0]) > 2), label="frame")
    index = where % len(frame)
    damaged = frame[:index] + b"\x00" + frame[index + 1 :]
    for reading in decode(protocol, damaged):
        if reading is not None and reading.value is not None:
            assert expected is not None, (damaged, reading)
            assert (reading.value, reading.unit) == (expected.value, expected.unit), (damaged, reading)


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=lambda p: p.name)
@PROPERTY
@given(chunks=st.lists(st.binary(max_size=80), max_size=8))
def test_arbitrary_bytes_never_raise(protocol: Protocol, chunks: list[bytes]) -> None:
    decoder = protocol.decoder()
    for chunk in chunks:
        for item in decoder.feed(chunk):
            if not isinstance(item, BadFrame):
                reading = protocol.reading(item)
                assert reading is None or isinstance(reading, ScaleReading)
