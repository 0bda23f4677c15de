"""Logic Controls pole display: encode_lines and the display-side interpreter (drivers/logic_controls/codec.py).

Expected bytes come from the Logic Controls command list (PD3000/LD9000 manuals, protocols.md §5):
1F reset, 11 normal mode, 12 vertical scroll, 10 n position (00–13 upper, 14–27 lower), 14 cursor off,
04 n brightness, 08 backspace, 0A line feed, 0D carriage return.
"""

from __future__ import annotations

import pytest

from drivers.display_text import TextTooLong, UnsupportedText
from drivers.logic_controls.codec import LogicControlsInterpreter, encode_lines, setup_bytes

PAD = b" "


def screen(data: bytes) -> list[str]:
    display = LogicControlsInterpreter()
    display.feed(data)
    return display.lines


def test_two_lines_at_positions_0_and_20_in_normal_mode() -> None:
    assert encode_lines(["Hello", "World"]) == (
        b"\x14\x11" + b"\x10\x00" + b"Hello" + PAD * 15 + b"\x10\x14" + b"World" + PAD * 15
    )


def test_setup_resets_then_selects_normal_mode_and_hides_the_cursor() -> None:
    assert setup_bytes() == b"\x1f\x11\x14"


def test_latin_text_in_the_display_code_page() -> None:
    # cp437: é = 0x82, £ = 0x9C.
    assert b"caf\x82 \x9c3" in encode_lines(["café £3"])
    assert screen(setup_bytes() + encode_lines(["café £3", "ok"])) == ["café £3", "ok"]


@pytest.mark.parametrize("lines", [["x" * 21], ["ok", "y" * 21], ["a", "b", "c"]])
def test_too_much_text_is_refused(lines: list[str]) -> None:
    with pytest.raises(TextTooLong):
        encode_lines(lines)


@pytest.mark.parametrize("line", ["a\x10b", "\x1f", "cr\r", "\x7f", "\x9b"])
def test_control_characters_are_refused(line: str) -> None:
    with pytest.raises(UnsupportedText):
        encode_lines([line])


# -- display side --------------------------------------------------------------------------------------
def test_after_reset_text_goes_to_the_lower_row_and_line_feed_scrolls_it_up() -> None:
    # "Vertical scroll mode (default): data is written into the second row and transferred to the first
    # row when line feed is received, leaving the second row empty."
    assert screen(b"\x1fabc") == ["", "abc"]
    assert screen(b"\x1fabc\x0a") == ["abc", ""]


def test_normal_mode_continues_on_the_other_row_when_a_row_is_full() -> None:
    assert screen(b"\x1f\x11\x10\x00" + b"A" * 25) == ["A" * 20, "A" * 5]
    assert screen(b"\x1f\x11\x10\x14" + b"B" * 22) == ["BB", "B" * 20]


def test_position_out_of_range_is_ignored_and_backspace_erases() -> None:
    assert screen(b"\x1f\x11\x10\x00ab\x10\x28c") == ["abc", ""]
    assert screen(b"\x1f\x11\x10\x00abc\x08\x08x") == ["ax", ""]


def test_brightness_takes_only_its_four_levels() -> None:
    display = LogicControlsInterpreter()
    display.feed(b"\x04\x40")
    assert display.brightness == 0x40
    display.feed(b"\x04\x41")
    assert display.brightness == 0x40
    assert display.lines == ["", ""]


# Properties shared with the other command set: tests/codecs/test_display_properties.py.
