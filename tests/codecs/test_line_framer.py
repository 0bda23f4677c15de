"""Serial scanner line framing (drivers/serial_scanner/codec.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.models import ScanData
from drivers.scan_report import decode_label, scan_data
from drivers.serial_scanner.codec import SUFFIX_BYTES, Frame, FramingError, LineFramer
from tests.codecs._streams import PROPERTY, cut_points, three_ways

# Label bytes: anything but the two terminators.
label_bytes = st.binary(min_size=1, max_size=30).filter(lambda b: b"\r" not in b and b"\n" not in b)
terminators = st.sampled_from([b"\r", b"\n", b"\r\n"])


def labels_of(out: list[Frame | FramingError]) -> list[bytes]:
    return [item.label for item in out if isinstance(item, Frame)]


def run(chunks: list[bytes], prefix: bytes = b"", max_length: int = 4096) -> tuple[list[Frame | FramingError], bytes]:
    framer = LineFramer(prefix=prefix, max_length=max_length)
    out: list[Frame | FramingError] = []
    for chunk in chunks:
        out += framer.feed(chunk)
    return out, framer.pending


@pytest.mark.parametrize("suffix", ["CR", "LF", "CRLF"])
def test_each_configured_suffix_ends_exactly_one_label(suffix: str) -> None:
    end = SUFFIX_BYTES[suffix]
    out = LineFramer().feed(b"4006381333931" + end + b"96385074" + end)
    assert out == [
        Frame(raw=b"4006381333931", label=b"4006381333931"),
        Frame(raw=b"96385074", label=b"96385074"),
    ]


def test_suffix_table_matches_the_protocol() -> None:
    assert SUFFIX_BYTES == {"CR": b"\x0d", "LF": b"\x0a", "CRLF": b"\x0d\x0a"}


def test_cr_lf_and_crlf_mixed_give_one_label_each_and_no_empty_labels() -> None:
    out = LineFramer().feed(b"AAA\rBBB\nCCC\r\nDDD\n\rEEE\r\r\n\n")
    assert labels_of(out) == [b"AAA", b"BBB", b"CCC", b"DDD", b"EEE"]
    assert all(isinstance(item, Frame) for item in out)


def test_terminators_alone_produce_nothing() -> None:
    framer = LineFramer()
    assert framer.feed(b"\r\n\r\n\n\n\r\r") == []
    assert framer.pending == b""


def test_crlf_split_between_reads_is_still_one_label() -> None:
    framer = LineFramer()
    assert framer.feed(b"12345\r") == [Frame(raw=b"12345", label=b"12345")]
    assert framer.feed(b"\n") == []
    assert framer.feed(b"678") == []
    assert framer.pending == b"678"
    assert framer.feed(b"\n") == [Frame(raw=b"678", label=b"678")]


def test_prefix_is_stripped_from_the_label_but_kept_in_raw() -> None:
    framer = LineFramer(prefix=b"@S")
    out = framer.feed(b"@S]E04006381333931\r\n")
    assert out == [Frame(raw=b"@S]E04006381333931", label=b"]E04006381333931")]


def test_prefix_is_only_stripped_at_the_start() -> None:
    framer = LineFramer(prefix=b"@S")
    out = framer.feed(b"12@S34\rX@S\r@S@S9\r")
    assert out == [
        Frame(raw=b"12@S34", label=b"12@S34"),
        Frame(raw=b"X@S", label=b"X@S"),
        Frame(raw=b"@S@S9", label=b"@S9"),  # only one copy is stripped
    ]


def test_label_without_the_configured_prefix_is_passed_whole() -> None:
    out = LineFramer(prefix=b"PFX").feed(b"96385074\r")
    assert out == [Frame(raw=b"96385074", label=b"96385074")]


def test_over_long_label_is_dropped_reported_and_the_next_label_is_fine() -> None:
    framer = LineFramer(max_length=8)
    out = framer.feed(b"123456789ABCDEF\r\nOK\r")
    assert len(out) == 2
    error, frame = out
    assert isinstance(error, FramingError)
    assert b"123456789".startswith(error.dropped) or error.dropped.startswith(b"123456789")
    assert len(error.dropped) <= 9  # the buffer stops growing once the limit is passed
    assert frame == Frame(raw=b"OK", label=b"OK")


def test_label_of_exactly_max_length_is_accepted() -> None:
    out = LineFramer(max_length=8).feed(b"12345678\r123456789\r")
    assert out[0] == Frame(raw=b"12345678", label=b"12345678")
    assert isinstance(out[1], FramingError)
    assert len(out) == 2


def test_overflow_is_reported_once_however_long_the_line() -> None:
    framer = LineFramer(max_length=4)
    out: list[Frame | FramingError] = []
    for _ in range(1000):
        out += framer.feed(b"xxxxxxxxxx")
    assert out == []
    assert len(framer.pending) <= 5  # bounded memory while dropping
    out = framer.feed(b"\r\nabc\n")
    assert [type(item) for item in out] == [FramingError, Frame]
    assert labels_of(out) == [b"abc"]


def test_reset_returns_and_discards_the_unfinished_label() -> None:
    framer = LineFramer()
    framer.feed(b"done\rpart")
    assert framer.pending == b"part"
    assert framer.reset() == b"part"
    assert framer.pending == b""
    assert framer.feed(b"ial\r") == [Frame(raw=b"ial", label=b"ial")]


def test_reset_clears_an_overflow() -> None:
    framer = LineFramer(max_length=3)
    framer.feed(b"abcdefg")
    framer.reset()
    assert framer.feed(b"xy\r") == [Frame(raw=b"xy", label=b"xy")]


@PROPERTY
@given(
    items=st.lists(st.tuples(label_bytes, terminators), max_size=12),
    prefix=st.sampled_from([b"", b"P", b"@S"]),
    cuts=cut_points,
)
def test_labels_come_out_as_sent_whatever_the_terminator_and_split(
    items: list[tuple[bytes, bytes]], prefix: bytes, cuts: list[int]
) -> None:
    stream = b"".join(prefix + label + end for label, end in items)
    for out, pending in three_ways(stream, cuts, lambda chunks: run(chunks, prefix=prefix)):
        assert labels_of(out) == [label for label, _ in items]
        assert [item.raw for item in out if isinstance(item, Frame)] == [prefix + label for label, _ in items]
        assert pending == b""


@PROPERTY
@given(
    stream=st.binary(max_size=200),
    prefix=st.sampled_from([b"", b"\x02", b"AB"]),
    max_length=st.integers(min_value=1, max_value=12),
    cuts=cut_points,
)
def test_whole_split_and_byte_by_byte_feeds_agree(
    stream: bytes, prefix: bytes, max_length: int, cuts: list[int]
) -> None:
    whole, split, single = three_ways(stream, cuts, lambda chunks: run(chunks, prefix=prefix, max_length=max_length))
    assert whole == split == single


@PROPERTY
@given(stream=st.binary(max_size=200), max_length=st.integers(min_value=1, max_value=12))
def test_frames_match_an_independent_split_of_the_stream(stream: bytes, max_length: int) -> None:
    out, pending = run([stream], max_length=max_length)
    # Oracle: split at every CR or LF; the last part is unfinished; empty parts are not labels.
    *finished, tail = stream.replace(b"\n", b"\r").split(b"\r")
    lines = [part for part in finished if part]
    expected: list[bytes | None] = [part if len(part) <= max_length else None for part in lines]
    assert [item.raw if isinstance(item, Frame) else None for item in out] == expected
    for item in out:
        if isinstance(item, FramingError):
            assert len(item.dropped) == max_length + 1
    assert pending == tail[: max_length + 1]


@PROPERTY
@given(
    labels=st.lists(
        st.tuples(
            st.sampled_from(["]E0", "]C0", "]C1", "]Q1", "]Q3", ""]),
            st.text(alphabet="0123456789ABCxyz-/\x1d", min_size=1, max_size=30),
        ),
        max_size=8,
    ),
    suffix=st.sampled_from(["CR", "LF", "CRLF"]),
    cuts=cut_points,
)
def test_scans_are_the_same_whole_split_and_byte_by_byte(
    labels: list[tuple[str, str]], suffix: str, cuts: list[int]
) -> None:
    # The whole chain of the serial driver: framing, then AIM id, symbology, validation and GS1 fields.
    stream = b"".join((aim + data).encode() + SUFFIX_BYTES[suffix] for aim, data in labels)

    def scans(chunks: list[bytes]) -> list[ScanData]:
        out, _ = run(chunks)
        return [scan_data(decode_label(f.label), f.raw.decode("latin-1"))[0] for f in out if isinstance(f, Frame)]

    whole, split, single = three_ways(stream, cuts, scans)
    assert whole == split == single
    assert all((aim + data).endswith(s.data) for s, (aim, data) in zip(whole, labels, strict=True))
    assert [s.raw for s in whole] == [aim + data for aim, data in labels]
