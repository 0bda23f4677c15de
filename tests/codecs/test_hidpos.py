"""HID POS scanner reports (drivers/hidpos/codec.py).

The hand-checked examples are reports captured from a Honeywell Voyager 1602g in HID POS mode
(published in HenkVanAsselt/python_hon_usbhid's README): 64 bytes, [0]=02, [1]=data length,
[2..4]=AIM id, data, [61]=Honeywell code id, [63]=1 while more reports follow.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.hidpos.codec import HidPosAssembler, HidProblem, HidScan, encode_reports
from tests.codecs._streams import PROPERTY


def report(values: list[int]) -> bytes:
    assert len(values) == 64
    return bytes(values)


# The last two reports of the capture (a REVINF reply): "…Checks" + "um: N/A\r\n".
CAPTURED_MORE = report(
    [2, 56, 93, 88, 48, 32, 84, 121, 112, 101, 58, 32, 78, 47, 65, 32, 32, 32, 82, 101, 118, 105, 115, 105, 111, 110,
     58, 32, 78, 47, 65, 32, 32, 32, 83, 101, 114, 105, 97, 108, 32, 78, 117, 109, 98, 101, 114, 58, 32, 78, 47, 65,
     32, 32, 32, 67, 104, 101, 99, 107, 115, 63, 0, 1]
)  # fmt: skip
CAPTURED_LAST = report([2, 9, 93, 88, 48, 117, 109, 58, 32, 78, 47, 65, 13, 10, *([0] * 47), 63, 0, 0])


def test_captured_single_report() -> None:
    assert HidPosAssembler().feed(CAPTURED_LAST) == [HidScan(b"]X0", b"um: N/A\r\n")]


def test_captured_multi_report_scan_is_reassembled() -> None:
    assembler = HidPosAssembler()
    assert assembler.feed(CAPTURED_MORE) == []
    assert assembler.pending
    (scan,) = assembler.feed(CAPTURED_LAST)
    assert isinstance(scan, HidScan)
    assert scan.aim == b"]X0"
    assert scan.data == b" Type: N/A   Revision: N/A   Serial Number: N/A   Checksum: N/A\r\n"
    assert scan.label == b"]X0" + scan.data


def test_encoding_matches_the_captured_layout() -> None:
    # The same text re-encoded as one report gives the captured bytes (code id 63 = '?').
    assert encode_reports(b"]X0", b"um: N/A\r\n", 64, code_id=63) == [CAPTURED_LAST]
    first, last = encode_reports(b"]X0", CAPTURED_MORE[5:61] + b"um: N/A\r\n", 64, code_id=63)
    assert first == CAPTURED_MORE
    assert last == CAPTURED_LAST


def test_reports_of_other_ids_are_ignored_and_counted() -> None:
    assembler = HidPosAssembler()
    assert assembler.feed(bytes([4]) + bytes(63)) == []
    assert assembler.feed(b"") == []
    assert assembler.ignored_reports == 2
    assert assembler.feed(CAPTURED_LAST) == [HidScan(b"]X0", b"um: N/A\r\n")]


def test_a_corrupt_length_is_reported_and_breaks_the_pending_scan() -> None:
    assembler = HidPosAssembler()
    assembler.feed(CAPTURED_MORE)
    bad = bytearray(CAPTURED_LAST)
    bad[1] = 57  # more than the 56 data bytes a 64-byte report holds
    out = assembler.feed(bytes(bad))
    assert [type(item) for item in out] == [HidProblem, HidProblem]
    assert out[0].dropped.startswith(b"]X0 Type")  # type: ignore[union-attr]
    assert assembler.feed(CAPTURED_LAST) == [HidScan(b"]X0", b"um: N/A\r\n")]


def test_a_new_aim_before_the_last_report_reports_the_broken_scan() -> None:
    assembler = HidPosAssembler()
    assembler.feed(CAPTURED_MORE)
    (ean,) = encode_reports(b"]E0", b"4006381333931")
    out = assembler.feed(ean)
    assert isinstance(out[0], HidProblem)
    assert out[1:] == [HidScan(b"]E0", b"4006381333931")]


def test_abandon_drops_a_scan_whose_last_report_never_came() -> None:
    assembler = HidPosAssembler()
    assembler.feed(CAPTURED_MORE)
    problem = assembler.abandon()
    assert problem.dropped == CAPTURED_MORE[2:61]
    assert not assembler.pending


def test_a_report_too_small_to_hold_the_header_is_reported() -> None:
    (problem,) = HidPosAssembler().feed(bytes([2, 1, 93]))
    assert isinstance(problem, HidProblem)


@pytest.mark.parametrize("size", [9, 10, 32, 64])
def test_no_aim_and_tiny_reports(size: int) -> None:
    reports = encode_reports(b"", b"HELLO", size)
    assert len(reports) == -(-5 // (size - 8))
    assembler = HidPosAssembler()
    out = [item for r in reports for item in assembler.feed(r)]
    assert out == [HidScan(b"", b"HELLO")]


@PROPERTY
@given(
    labels=st.lists(
        st.tuples(st.sampled_from([b"]E0", b"]Q1", b"]C1", b""]), st.binary(min_size=1, max_size=300)), max_size=5
    ),
    size=st.sampled_from([16, 32, 64]),
)
def test_any_labels_come_out_as_sent_one_scan_each(labels: list[tuple[bytes, bytes]], size: int) -> None:
    assembler = HidPosAssembler()
    out = []
    for aim, data in labels:
        for r in encode_reports(aim, data, size):
            assert len(r) == size
            out += assembler.feed(r)
    assert out == [HidScan(aim, data) for aim, data in labels]
    assert not assembler.pending


def feed_all(assembler: HidPosAssembler, reports: list[bytes]) -> list[HidScan | HidProblem]:
    return [item for report in reports for item in assembler.feed(report)]


def test_an_over_long_scan_is_dropped_whole_and_its_last_reports_make_no_scan() -> None:
    # Found by tests/fuzz/fuzz_hidpos.py: the reports after the one that crossed the limit used to start a new
    # scan, and the last of them published the label's tail as a scan of its own.
    assembler = HidPosAssembler(max_length=100)
    out = feed_all(assembler, encode_reports(b"]Q1", b"A" * 150))  # 56 + 56 (over the limit) + 38 bytes
    assert len(out) == 1
    assert isinstance(out[0], HidProblem)
    assert "longer than 100" in out[0].reason
    assert not assembler.pending
    assert feed_all(assembler, encode_reports(b"]Q1", b"next")) == [HidScan(b"]Q1", b"next")]


def test_when_the_end_of_an_over_long_scan_is_lost_the_next_scan_still_decodes() -> None:
    assembler = HidPosAssembler(max_length=100)
    feed_all(assembler, encode_reports(b"]Q1", b"A" * 300)[:-1])
    assert assembler.pending  # the driver's quiet timer will abandon it
    assert feed_all(assembler, encode_reports(b"]E0", b"4006381333931")) == [HidScan(b"]E0", b"4006381333931")]
    feed_all(assembler, encode_reports(b"]Q1", b"B" * 300)[:-1])
    assembler.abandon()
    assert not assembler.pending
    assert feed_all(assembler, encode_reports(b"]Q1", b"C" * 10)) == [HidScan(b"]Q1", b"C" * 10)]
