"""Epson DM-D customer display: encode_lines and the display-side interpreter (drivers/epson_dmd/codec.py).

Expected bytes are written out by hand from the command list (protocols.md §5): US MD1 = 1F 01,
ESC t n = 1B 74 n, US $ x y = 1F 24 x y (1-based), FF = 0C, CAN = 18, US MD2 = 1F 02.
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from drivers.display_text import TextTooLong, UnsupportedText
from drivers.epson_dmd.codec import DmdInterpreter, encode_lines, setup_bytes
from drivers.epson_dmd.driver import EpsonDmdOptions

PAD = b" "


def screen(data: bytes) -> list[str]:
    display = DmdInterpreter()
    display.feed(data)
    return display.lines


# -- host side ---------------------------------------------------------------------------------------
def test_two_lines_are_written_in_overwrite_mode_at_explicit_positions() -> None:
    assert encode_lines(["Hello", "World"]) == (
        b"\x1f\x01\x1f\x01"  # US MD1, twice (resynchronization)
        + b"\x1bt\x00"  # ESC t 0: PC437
        + b"\x1f$\x01\x01"
        + b"Hello"
        + PAD * 15
        + b"\x1f$\x01\x02"
        + b"World"
        + PAD * 15
    )


def test_one_line_blanks_the_other() -> None:
    data = encode_lines(["Total 9.99"])
    assert data.endswith(b"\x1f$\x01\x02" + PAD * 20)
    assert screen(data) == ["Total 9.99", ""]


def test_setup_initializes_hides_the_cursor_and_selects_the_table() -> None:
    assert setup_bytes() == b"\x1b@" + b"\x1fC\x00" + b"\x1bt\x00"
    assert setup_bytes("cp858") == b"\x1b@\x1fC\x00\x1bt\x13"


def test_code_page_858_selects_table_19_and_encodes_euro_and_cedilla() -> None:
    # PC858 (Epson table 19): ç = 0x87, € = 0xD5 (where PC850 has ı).
    data = encode_lines(["Preço 5€"], "cp858")
    assert b"\x1bt\x13" in data
    assert b"Pre\x87o 5\xd5" + PAD * 12 in data
    display = DmdInterpreter()
    display.feed(data)
    assert display.lines == ["Preço 5€", ""]
    assert display.encoding == "cp858"


def test_characters_the_table_lacks_become_question_marks() -> None:
    assert b"? 1,50" + PAD * 14 in encode_lines(["€ 1,50"], "cp437")


def test_a_code_page_without_a_table_number_is_a_config_error() -> None:
    with pytest.raises(ValueError, match="cp1250"):
        encode_lines(["x"], "cp1250")
    with pytest.raises(ValidationError, match="cp1250"):
        EpsonDmdOptions(encoding="cp1250")
    with pytest.raises(ValidationError, match="single-byte"):
        EpsonDmdOptions(encoding="utf-8")
    with pytest.raises(ValidationError, match="extra"):
        EpsonDmdOptions.model_validate({"encodng": "cp437"})
    assert EpsonDmdOptions(encoding="cp858").encoding == "cp858"


@pytest.mark.parametrize("lines", [["x" * 21], ["ok", "y" * 21], ["a", "b", "c"]])
def test_too_much_text_is_refused(lines: list[str]) -> None:
    with pytest.raises(TextTooLong):
        encode_lines(lines)


@pytest.mark.parametrize("line", ["a\x1bb", "\x0c", "tab\there", "del\x7f", "c1\x85"])
def test_control_characters_are_refused(line: str) -> None:
    with pytest.raises(UnsupportedText):
        encode_lines([line])


def test_combining_accents_count_as_one_column() -> None:
    decomposed = "Cafe\u0301" + "x" * 16  # 21 code points, 20 characters once composed
    assert screen(encode_lines([decomposed], "cp850")) == ["Café" + "x" * 16, ""]


# -- display side --------------------------------------------------------------------------------------
def test_cursor_set_writes_where_it_says() -> None:
    assert screen(b"\x1f$\x05\x02abc") == ["", "    abc"]


def test_out_of_range_cursor_is_ignored() -> None:
    assert screen(b"\x1f$\x15\x01a\x1f$\x01\x03b") == ["ab", ""]


def test_overwrite_mode_wraps_to_the_next_line_then_home() -> None:
    assert screen(b"A" * 25) == ["A" * 20, "A" * 5]
    assert screen(b"A" * 40 + b"BC") == ["BC" + "A" * 18, "A" * 20]


def test_vertical_scroll_mode_scrolls_past_the_last_line() -> None:
    assert screen(b"\x1f\x02" + b"1" * 20 + b"2" * 20 + b"3") == ["2" * 20, "3"]


def test_clear_cancel_and_init() -> None:
    display = DmdInterpreter()
    display.feed(encode_lines(["upper", "lower"]))
    display.feed(b"\x1f$\x01\x01\x18")  # CAN clears the cursor line
    assert display.lines == ["", "lower"]
    display.feed(b"\x0c")
    assert display.lines == ["", ""]
    # 0x9B is ø in PC850 (table 2) and ¢ in PC437 (table 0); ESC @ returns to table 0.
    display.feed(b"\x1bt\x02\x9b")
    assert display.lines == ["ø", ""]
    display.feed(b"\x1b@\x9b")
    assert (display.lines, display.encoding) == (["¢", ""], "cp437")


def test_a_command_split_across_reads() -> None:
    display = DmdInterpreter()
    for piece in (b"\x1f", b"$", b"\x03", b"\x02", b"hi"):
        display.feed(piece)
    assert display.lines == ["", "  hi"]


# Properties shared with the other command set: tests/codecs/test_display_properties.py.
