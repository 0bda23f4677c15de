"""Output checks several harnesses share. Import this inside ``instrumented()``: it imports driver code."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drivers.display_text import COLUMNS, ROWS
from drivers.scale_codec import UNITS, BadFrame, ScaleReading
from drivers.scan_report import scan_data
from drivers.symbology import GS1_SYMBOLOGIES, SYMBOLOGIES, gtin_check_digit_ok

_GTIN_LENGTHS = {"EAN13": 13, "EAN8": 8, "UPCA": 12}


def readings(reading_of: Callable[[Any], ScaleReading | None]) -> Callable[[object], None]:
    """A scale decoder's items: frames it rejected, or replies whose reading is well-formed."""

    def check(item: object) -> None:
        if isinstance(item, BadFrame):
            return
        reading = reading_of(item)
        if reading is None:
            return
        assert isinstance(reading, ScaleReading), f"not a reading: {reading!r}"
        assert reading.value is None or reading.value.is_finite(), f"non-finite weight: {reading!r}"
        assert reading.unit is None or reading.unit in UNITS, f"unknown unit: {reading!r}"

    return check


def scan(label: str, raw: str) -> None:
    """One decoded label as every scanner driver publishes it: the symbology keeps the promise of its name."""
    data, problem = scan_data(label, raw)
    where = f"label {label!r} gave {data!r}"
    assert data.symbology in SYMBOLOGIES, f"unknown symbology: {where}"
    assert problem is None or data.symbology == "UNKNOWN", f"a demoted scan keeps its symbology: {where}"
    length = _GTIN_LENGTHS.get(data.symbology)
    if length is not None:
        assert len(data.data) == length, f"not a {data.symbology}: {where}"
        assert gtin_check_digit_ok(data.data), f"bad check digit: {where}"
    if data.gs1 is not None:
        assert data.gs1, f"empty GS1 fields: {where}"
        assert data.symbology in {*GS1_SYMBOLOGIES, "QR"}, f"GS1 fields on a non-GS1 scan: {where}"
    if data.symbology in GS1_SYMBOLOGIES:
        assert data.gs1, f"a GS1 scan without fields: {where}"
    assert data.aim is None or label.startswith(data.aim), f"AIM identifier not from the label: {where}"
    assert label.endswith(data.data), f"data not from the label: {where}"
    data.model_dump_json()  # the event payload serializes


def shows(encode_lines: Callable[[list[str]], bytes], lines: list[str]) -> Callable[[Any], None]:
    """A display interpreter's ``after`` check: its state is sane, and one update shows ``lines`` whatever came before.

    (The host side writes every cell of both lines so that an update resynchronizes a display that a glitch
    left anywhere, half-way through a command included.)
    """

    def after(display: Any) -> None:
        assert len(display.lines) == ROWS, display
        assert all(len(line) <= COLUMNS for line in display.lines), display
        display.feed(encode_lines(lines))
        assert display.lines == lines, (display.lines, lines)

    return after
