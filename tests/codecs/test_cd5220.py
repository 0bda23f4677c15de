"""CD5220 2x20 customer display: encode_lines and the display-side interpreter (drivers/cd5220/codec.py)."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.cd5220.codec import DisplayInterpreter, TextTooLong, UnsupportedText, encode_lines, encode_text
from tests.codecs._streams import PROPERTY, cut_points, three_ways

FF = b"\x0c"
UPPER = b"\x1bQA"
LOWER = b"\x1bQB"
CR = b"\r"

# Printable characters cp437 has (Python's own cp437 table is the oracle), without whitespace other
# than the plain space: the display pads with spaces, so trailing spaces are not part of a line.
CP437_PRINTABLE = sorted(
    {ch for ch in bytes(range(0x20, 0x100)).decode("cp437") if ch.isprintable() and (ch == " " or not ch.isspace())}
)
display_line = st.text(alphabet=CP437_PRINTABLE, max_size=20)


def screen(data: bytes) -> list[str]:
    display = DisplayInterpreter()
    display.feed(data)
    return display.lines


def run(chunks: list[bytes]) -> tuple[list[str], bytes]:
    display = DisplayInterpreter()
    for chunk in chunks:
        display.feed(chunk)
    return display.lines, bytes(display._pending)


# -- encode_lines ------------------------------------------------------------------------------------
def test_two_lines_are_cleared_addressed_and_padded() -> None:
    assert encode_lines(["Hello", "World"]) == (
        b"\x0c" + b"\x1bQAHello               \r" + b"\x1bQBWorld               \r"
    )


def test_a_single_line_blanks_the_lower_line() -> None:
    data = encode_lines(["Total 12.50"])
    assert data == b"\x0c\x1bQATotal 12.50         \r\x1bQB" + b" " * 20 + b"\r"


def test_no_lines_blanks_both() -> None:
    assert encode_lines([]) == b"\x0c\x1bQA" + b" " * 20 + b"\r\x1bQB" + b" " * 20 + b"\r"


def test_twenty_columns_fit_exactly() -> None:
    line = "12345678901234567890"
    assert encode_lines([line, line]) == FF + UPPER + line.encode() + CR + LOWER + line.encode() + CR


@pytest.mark.parametrize(
    "lines",
    [
        ["x" * 21],
        ["ok", "y" * 21],
        ["z" * 40, "ok"],
        ["one", "two", "three"],
        ["", "", ""],
    ],
)
def test_too_much_text_is_rejected(lines: list[str]) -> None:
    with pytest.raises(TextTooLong):
        encode_lines(lines)


def test_text_too_long_is_a_value_error_and_names_the_problem() -> None:
    with pytest.raises(ValueError, match="21"):
        encode_lines(["a" * 21])
    with pytest.raises(ValueError, match="3"):
        encode_lines(["a", "b", "c"])


def test_narrower_display_columns() -> None:
    assert encode_lines(["abc"], columns=4) == b"\x0c\x1bQAabc \r\x1bQB    \r"
    with pytest.raises(TextTooLong):
        encode_lines(["abcde"], columns=4)


def test_characters_outside_cp437_become_question_marks() -> None:
    data = encode_lines(["€ 1,50", "你好 Pão"])
    # cp437 has no euro sign, no CJK and no "ã" (it does have "å", 0x86: not a stand-in).
    assert data == b"\x0c\x1bQA? 1,50" + b" " * 14 + b"\r\x1bQB?? P?o" + b" " * 14 + b"\r"
    assert screen(data) == ["? 1,50", "?? P?o"]


def test_cp437_accents_and_symbols_survive() -> None:
    # é = 0x82, ñ = 0xA4, £ = 0x9C, ü = 0x81 in code page 437.
    data = encode_lines(["café mañana", "£5 Müller"])
    assert b"caf\x82 ma\xa4ana" in data
    assert b"\x9c5 M\x81ller" in data
    assert screen(data) == ["café mañana", "£5 Müller"]


def test_encode_text_replacement_and_other_code_pages() -> None:
    assert encode_text("a€b", "cp437") == b"a?b"
    assert encode_text("a€b", "cp437", replacement="*") == b"a*b"
    assert encode_text("a€b", "cp858") == b"a\xd5b"


@PROPERTY
@given(lines=st.lists(display_line, max_size=2), cuts=cut_points)
def test_interpreter_recovers_the_lines(lines: list[str], cuts: list[int]) -> None:
    data = encode_lines(lines)
    expected = [line.rstrip(" ") for line in [*lines, "", ""][:2]]
    for shown, pending in three_ways(data, cuts, run):
        assert shown == expected
        assert pending == b""


# C0, DEL and C1: Unicode category Cc. A display would take any of them as a command.
CONTROL = [chr(c) for c in range(0x20)] + [chr(c) for c in range(0x7F, 0xA0)]
SHOWABLE = st.text(alphabet=st.characters(blacklist_characters=CONTROL, blacklist_categories=["Cs"]), max_size=20)


def nfc_width(line: str) -> int:
    """Characters once composed (NFC), which is what the display shows: e + combining acute is one."""
    return len(unicodedata.normalize("NFC", line))


@PROPERTY
@given(lines=st.lists(SHOWABLE.filter(lambda t: nfc_width(t) <= 20), max_size=2))
def test_any_text_encodes_to_single_bytes_and_never_raises(lines: list[str]) -> None:
    data = encode_lines(lines)
    assert len(data) == 1 + 2 * (3 + 20 + 1)


@PROPERTY
@given(text=SHOWABLE, control=st.sampled_from(CONTROL), at=st.integers(min_value=0, max_value=20))
def test_control_characters_are_refused_not_sent(text: str, control: str, at: int) -> None:
    line = (text[:at] + control + text[at:])[:20]
    if control not in line:
        line = line[:-1] + control if line else control
    with pytest.raises(UnsupportedText):
        encode_lines([line])


@PROPERTY
@given(lines=st.lists(SHOWABLE.map(lambda t: t * 2), min_size=0, max_size=4))
def test_rejects_exactly_what_does_not_fit(lines: list[str]) -> None:
    fits = len(lines) <= 2 and all(nfc_width(line) <= 20 for line in lines)
    if fits:
        encode_lines(lines)
    else:
        with pytest.raises(TextTooLong):
            encode_lines(lines)


# -- DisplayInterpreter ------------------------------------------------------------------------------
def test_form_feed_and_init_clear_the_screen() -> None:
    display = DisplayInterpreter()
    display.feed(encode_lines(["a", "b"]))
    assert display.lines == ["a", "b"]
    display.feed(FF)
    assert display.lines == ["", ""]
    display.feed(UPPER + b"x\r" + LOWER + b"y\r")
    assert display.lines == ["x", "y"]
    display.feed(b"\x1b@")
    assert display.lines == ["", ""]


def test_lines_can_be_written_separately() -> None:
    display = DisplayInterpreter()
    display.feed(LOWER + b"lower\r")
    assert display.lines == ["", "lower"]
    display.feed(UPPER + b"upper\r")
    assert display.lines == ["upper", "lower"]
    display.feed(UPPER + b"new\r")
    assert display.lines == ["new", "lower"]


def test_stray_bytes_and_unknown_escapes_are_ignored() -> None:
    assert screen(b"junk\x1bX" + UPPER + b"ok\r" + b"\x1bQD scrolled\r") == ["ok", ""]


def test_command_split_across_reads() -> None:
    display = DisplayInterpreter()
    for piece in (b"\x1b", b"Q", b"A", b"Hel", b"lo", b"\r"):
        display.feed(piece)
    assert display.lines == ["Hello", ""]


def test_over_long_line_without_cr_does_not_depend_on_how_it_was_read() -> None:
    data = UPPER + b"x" * 30 + CR + LOWER + b"fine\r"
    whole, _, single = three_ways(data, [], run)
    assert whole == single
    assert whole[0][1] == "fine"


@st.composite
def display_streams(draw: st.DrawFn) -> bytes:
    parts: list[bytes] = []
    for _ in range(draw(st.integers(0, 8))):
        kind = draw(st.sampled_from(["line", "long", "clear", "init", "noise"]))
        if kind == "line":
            parts.append(b"\x1bQ" + draw(st.sampled_from([b"A", b"B", b"C"])) + draw(st.binary(max_size=20)) + CR)
        elif kind == "long":
            parts.append(UPPER + b"y" * draw(st.integers(20, 40)) + CR)
        elif kind == "clear":
            parts.append(FF)
        elif kind == "init":
            parts.append(b"\x1b@")
        else:
            parts.append(draw(st.binary(max_size=8)))
    return b"".join(parts)


@PROPERTY
@given(stream=st.one_of(display_streams(), st.binary(max_size=120)), cuts=cut_points)
def test_whole_split_and_byte_by_byte_feeds_agree(stream: bytes, cuts: list[int]) -> None:
    whole, split, single = three_ways(stream, cuts, run)
    assert whole == split == single


@PROPERTY
@given(stream=st.binary(max_size=200))
def test_interpreter_never_shows_more_than_the_columns(stream: bytes) -> None:
    shown = screen(stream)
    assert len(shown) == 2
    assert all(len(line) <= 20 for line in shown)
