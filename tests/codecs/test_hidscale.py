"""USB HID POS scale reports (report 3) as usbscale.c and the HID POS usage tables describe them."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.hidscale.codec import ZERO_REPORT, HidWeight, decode_report, encode_report, reading_of
from drivers.scale_codec import BadFrame, ScaleReading
from tests.codecs._scale_frames import PROTOCOLS
from tests.codecs._streams import PROPERTY

HID = next(p for p in PROTOCOLS if p.name == "hid-scale")


@pytest.mark.parametrize(
    ("report", "expected"),
    [
        # 03 status unit exp lsb msb; weight = (msb*256 + lsb) * 10^exp.
        (bytes([3, 4, 12, 0xFE, 0x5E, 0x01]), ScaleReading(value=Decimal("3.50"), unit="lb")),  # 350e-2 lb
        (bytes([3, 4, 3, 0xFD, 0xD3, 0x04]), ScaleReading(value=Decimal("1.235"), unit="kg")),  # 1235e-3 kg
        (bytes([3, 2, 11, 0xFF, 0x00, 0x00]), ScaleReading(value=Decimal("0.0"), unit="oz")),  # stable at zero
        (bytes([3, 3, 2, 0x00, 0xF4, 0x01]), ScaleReading(value=Decimal(500), unit="g", motion=True)),
        (bytes([3, 5, 2, 0x00, 0x0A, 0x00]), ScaleReading(value=Decimal(-10), unit="g", under_zero=True)),
        (bytes([3, 6, 3, 0xFD, 0xFF, 0xFF]), ScaleReading(value=Decimal("65.535"), unit="kg", over_capacity=True)),
        (bytes([3, 1, 3, 0xFD, 0, 0]), ScaleReading(value=Decimal("0.000"), unit="kg", fault=True)),
        (bytes([3, 7, 3, 0xFD, 0, 0]), ScaleReading(value=Decimal("0.000"), unit="kg", fault=True)),  # calibrate
        (bytes([3, 8, 3, 0xFD, 0, 0]), ScaleReading(value=Decimal("0.000"), unit="kg", fault=True)),  # re-zero
        (bytes([3, 4, 2, 0x01, 0x05, 0x00]), ScaleReading(value=Decimal(50), unit="g")),  # positive exponent
    ],
)
def test_reports(report: bytes, expected: ScaleReading) -> None:
    item = decode_report(report)
    assert isinstance(item, HidWeight)
    assert reading_of(item) == expected


@pytest.mark.parametrize(
    "report",
    [
        bytes([3, 4, 3, 0xFD, 0xD3]),  # short
        bytes([3, 4, 3, 0xFD, 0xD3, 0x04, 0x00]),  # long
        bytes([4, 4, 3, 0xFD, 0xD3, 0x04]),  # another report
        bytes([3, 0, 3, 0xFD, 0xD3, 0x04]),  # status 0
        bytes([3, 9, 3, 0xFD, 0xD3, 0x04]),  # status 9
        bytes([3, 4, 1, 0xFD, 0xD3, 0x04]),  # milligrams: not served
        bytes([3, 4, 3, 0x7F, 0xD3, 0x04]),  # absurd exponent
    ],
)
def test_bad_reports_give_no_weight(report: bytes) -> None:
    assert isinstance(decode_report(report), BadFrame)


@PROPERTY
@given(data=st.data())
def test_reports_decode_as_described_and_garbage_reports_cost_only_themselves(data: st.DataObject) -> None:
    frames = data.draw(st.lists(HID.frames, min_size=1, max_size=5))
    garbage = data.draw(st.lists(st.binary(min_size=6, max_size=6).filter(lambda r: r[0] != 3), max_size=3))
    decoder = HID.decoder()
    got = []
    for report in [*garbage, *(frame for frame, _ in frames)]:
        got += [reading_of(item) for item in decoder.feed(report) if not isinstance(item, BadFrame)]
    assert got == [reading for _, reading in frames]


def test_zero_report_and_simulator_encoder() -> None:
    assert ZERO_REPORT == b"\x02\x02"
    assert encode_report(4, Decimal("1.235"), "kg", -3) == bytes([3, 4, 3, 0xFD, 0xD3, 0x04])
