"""Device-side ESC/POS interpreter (drivers/escpos/interpreter.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.escpos.codec import drawer_kick, status_request
from drivers.escpos.interpreter import (
    Action,
    DrawerPulse,
    EscposInterpreter,
    PrintedBarcode,
    PrintedCut,
    PrintedFeed,
    PrintedImage,
    PrintedLine,
    PrintedQr,
    Span,
    StatusRequest,
    TextStyle,
    count_printed,
)
from drivers.escpos.profile import get_profile
from tests.codecs._streams import PROPERTY, cut_points, three_ways

ESC = b"\x1b"
GS = b"\x1d"
FS = b"\x1c"
DLE = b"\x10"
LF = b"\n"
INIT = b"\x1b@"
DOUBLE_BYTE_ON = b"\x1c&"
DOUBLE_BYTE_OFF = b"\x1c."

Snapshot = tuple[list[Action], list[str], str, int, int, int, str, bool, bytes]


def snapshot(chunks: list[bytes]) -> Snapshot:
    printer = EscposInterpreter()
    actions: list[Action] = []
    for chunk in chunks:
        actions += printer.feed(chunk)
    return (
        actions,
        list(printer.lines),
        printer.current_line,
        printer.cuts,
        printer.images,
        printer.barcodes,
        printer.code_page,
        printer.double_byte,
        bytes(printer._pending),
    )


def printed(data: bytes) -> EscposInterpreter:
    printer = EscposInterpreter()
    printer.feed(data)
    return printer


# Command builders written from the Epson reference, independently of the interpreter.
def select_code_page(n: int) -> bytes:
    return ESC + b"t" + bytes([n])


def raster(width_bytes: int, height: int, image: bytes, mode: int = 0) -> bytes:
    assert len(image) == width_bytes * height
    return GS + b"v0" + bytes([mode, width_bytes & 0xFF, width_bytes >> 8, height & 0xFF, height >> 8]) + image


def qr_store(data: bytes) -> bytes:
    size = len(data) + 3
    return GS + b"(k" + bytes([size & 0xFF, size >> 8, 49, 80, 48]) + data


QR_MODEL = GS + b"(k\x04\x00\x31\x41\x32\x00"  # fn 65: model 2
QR_SIZE = GS + b"(k\x03\x00\x31\x43\x06"  # fn 67: module size 6
QR_ECC = GS + b"(k\x03\x00\x31\x45\x31"  # fn 69: error correction M
QR_PRINT = GS + b"(k\x03\x00\x31\x51\x30"  # fn 81: print the stored symbol


# -- text and code pages -----------------------------------------------------------------------------
def test_plain_text_lines() -> None:
    printer = printed(b"Hello\nWorld\n\nunfinished")
    assert printer.lines == ["Hello", "World", ""]
    assert printer.current_line == "unfinished"


def test_cr_and_nul_are_ignored_and_tab_is_kept() -> None:
    printer = printed(b"a\rb\x00c\td\r\n")
    assert printer.lines == ["abc\td"]


def test_esc_d_feeds_n_lines() -> None:
    printer = printed(b"total" + ESC + b"d\x03" + b"next\n")
    assert printer.lines == ["total", "", "", "next"]


@pytest.mark.parametrize(
    ("n", "codec", "text"),
    [
        (2, "cp850", "Pão ação"),  # cp850 / cp860 have no euro sign
        (3, "cp860", "Pão ação"),
        (19, "cp858", "Pão ação €"),  # cp858 = cp850 with € at 0xD5
        (16, "cp1252", "Pão ação €"),
    ],
)
def test_code_page_switching_decodes_text(n: int, codec: str, text: str) -> None:
    printer = printed(select_code_page(n) + text.encode(codec) + LF)
    assert printer.code_page == codec
    assert printer.lines == [text]


def test_euro_needs_cp858_not_cp850() -> None:
    # The same byte 0xD5 is "€" in cp858 but "ı" in cp850: the code page really matters.
    cp858_bytes = "Pão ação €".encode("cp858")
    assert printed(select_code_page(19) + cp858_bytes + LF).lines == ["Pão ação €"]
    assert printed(select_code_page(2) + cp858_bytes + LF).lines == ["Pão ação ı"]


def test_default_code_page_is_cp437_and_init_restores_it() -> None:
    cp850_bytes = "Pão".encode("cp850")  # ã = 0xC6, "╞" in cp437
    assert printed(cp850_bytes + LF).lines == ["P╞o"]
    printer = printed(select_code_page(2) + cp850_bytes + LF + INIT + cp850_bytes + LF)
    assert printer.lines == ["Pão", "P╞o"]
    assert printer.code_page == "cp437"


def test_unknown_code_page_falls_back_to_cp437() -> None:
    printer = printed(select_code_page(2) + select_code_page(250) + b"\x82" + LF)
    assert printer.code_page == "cp437"
    assert printer.lines == ["é"]


@PROPERTY
@given(data=st.data(), n=st.sampled_from([0, 2, 3, 4, 5, 16, 17, 18, 19]))
def test_any_printable_text_round_trips_in_its_code_page(data: st.DataObject, n: int) -> None:
    codec = {0: "cp437", 2: "cp850", 3: "cp860", 4: "cp863", 5: "cp865", 16: "cp1252", 17: "cp866"}.get(
        n, {18: "cp852", 19: "cp858"}.get(n, "")
    )
    alphabet = []
    for byte in range(0x20, 0x100):
        try:
            char = bytes([byte]).decode(codec)
        except UnicodeDecodeError:
            continue
        if char.isprintable():
            alphabet.append(char)
    text = data.draw(st.text(alphabet=alphabet, max_size=40))
    printer = printed(select_code_page(n) + text.encode(codec) + LF)
    assert printer.lines == [text]


def test_double_byte_gb18030() -> None:
    printer = printed(DOUBLE_BYTE_ON + "你好".encode("gb18030") + DOUBLE_BYTE_OFF + LF)
    assert "你好".encode("gb18030") == b"\xc4\xe3\xba\xc3"
    assert printer.lines == ["你好"]
    assert printer.double_byte is False


def test_double_byte_mixed_with_ascii_and_switched_off() -> None:
    printer = printed(
        DOUBLE_BYTE_ON + "合计 12.50 元".encode("gb18030") + LF + DOUBLE_BYTE_OFF + b"\x82" + LF + DOUBLE_BYTE_ON
    )
    assert printer.lines == ["合计 12.50 元", "é"]  # back to single-byte cp437 after FS .
    assert printer.double_byte is True


def test_init_leaves_double_byte_mode() -> None:
    printer = printed(DOUBLE_BYTE_ON + INIT + b"\x82" + LF)
    assert printer.double_byte is False
    assert printer.lines == ["é"]


@PROPERTY
@given(
    text=st.text(
        alphabet=st.one_of(st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5), st.sampled_from("ab 01.,")),
        max_size=20,
    ),
    cuts=cut_points,
)
def test_double_byte_text_survives_any_split(text: str, cuts: list[int]) -> None:
    data = DOUBLE_BYTE_ON + text.encode("gb18030") + DOUBLE_BYTE_OFF + LF
    for result in three_ways(data, cuts, snapshot):
        assert result[1] == [text]


# -- actions: status requests and drawer pulses ------------------------------------------------------
@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_status_request_is_an_action(n: int) -> None:
    printer = EscposInterpreter()
    assert printer.feed(b"\x10\x04" + bytes([n])) == [StatusRequest(n)]
    assert printer.lines == []
    assert printer.current_line == ""


def test_status_request_split_in_every_place() -> None:
    data = b"abc" + status_request(1) + b"def" + status_request(4)
    for cut in range(len(data) + 1):
        printer = EscposInterpreter()
        actions = printer.feed(data[:cut]) + printer.feed(data[cut:])
        assert actions == [StatusRequest(1), StatusRequest(4)]
        assert printer.current_line == "abcdef"


@pytest.mark.parametrize(
    ("command", "pulse"),
    [
        (b"\x1bp\x00\x32\xfa", DrawerPulse(pin=2, on_ms=100)),
        (b"\x1bp\x01\x32\xfa", DrawerPulse(pin=5, on_ms=100)),
        (b"\x1bp0\x19\x19", DrawerPulse(pin=2, on_ms=50)),  # m may also be ASCII "0" / "1"
        (b"\x1bp1\x19\x19", DrawerPulse(pin=5, on_ms=50)),
        (b"\x10\x14\x01\x00\x01", DrawerPulse(pin=2, on_ms=100)),  # DLE DC4 1 m t: t in 100 ms units
        (b"\x10\x14\x01\x01\x05", DrawerPulse(pin=5, on_ms=500)),
    ],
)
def test_drawer_pulses(command: bytes, pulse: DrawerPulse) -> None:
    printer = EscposInterpreter()
    assert printer.feed(b"x" + command + b"y") == [pulse]
    assert printer.current_line == "xy"  # parameters are not printed


def test_dle_dc4_other_functions_are_not_pulses() -> None:
    printer = EscposInterpreter()
    assert printer.feed(b"\x10\x14\x02\x01\x08ok") == []
    assert printer.current_line == "ok"


@PROPERTY
@given(
    pin=st.sampled_from([2, 5]),
    on_ms=st.integers(min_value=1, max_value=255).map(lambda units: units * 2),
    off_ms=st.integers(min_value=0, max_value=600),
    cuts=cut_points,
)
def test_host_drawer_kick_is_seen_by_the_device(pin: Literal[2, 5], on_ms: int, off_ms: int, cuts: list[int]) -> None:
    data = b"before" + drawer_kick(pin, on_ms, off_ms) + b"after\n"
    for actions, lines, *_ in three_ways(data, cuts, snapshot):
        assert actions == [DrawerPulse(pin=pin, on_ms=on_ms)]
        assert lines == ["beforeafter"]


# -- images, barcodes, cuts --------------------------------------------------------------------------
def test_raster_image_containing_dle_eot_is_not_a_status_request() -> None:
    image = b"\x10\x04\x01" * 4  # 12 bytes: 3 bytes wide, 4 dots high
    data = b"logo" + LF + raster(3, 4, image) + b"thanks" + LF + status_request(2)
    for actions, lines, _, cuts, images, *_ in three_ways(data, [5, 9, 14, 20], snapshot):
        assert actions == [StatusRequest(2)]
        assert lines == ["logo", "thanks"]
        assert images == 1
        assert cuts == 0


@PROPERTY
@given(
    width=st.integers(min_value=1, max_value=6),
    height=st.integers(min_value=1, max_value=6),
    data=st.data(),
    cuts=cut_points,
)
def test_raster_data_is_skipped_whatever_it_contains(
    width: int, height: int, data: st.DataObject, cuts: list[int]
) -> None:
    image = data.draw(st.binary(min_size=width * height, max_size=width * height))
    stream = raster(width, height, image) + b"ok" + LF
    for actions, lines, _, n_cuts, images, barcodes, _, _, pending in three_ways(stream, cuts, snapshot):
        assert actions == []
        assert lines == ["ok"]
        assert (n_cuts, images, barcodes) == (0, 1, 0)
        assert pending == b""


def test_large_raster_uses_the_high_length_bytes() -> None:
    width, height = 300, 2  # xL xH = 0x2C 0x01
    image = (b"\x10\x04\x01" * 200)[: width * height]
    printer = EscposInterpreter()
    assert printer.feed(raster(width, height, image) + b"ok\n") == []
    assert printer.images == 1
    assert printer.lines == ["ok"]


def test_unfinished_raster_waits_for_its_data() -> None:
    printer = EscposInterpreter()
    head = raster(2, 2, b"\x10\x04\x01\x00")
    assert printer.feed(head[:-1]) == []
    assert printer.images == 0
    assert printer.feed(head[-1:] + status_request(1)) == [StatusRequest(1)]
    assert printer.images == 1


def test_bit_image_esc_star() -> None:
    # ESC * m nL nH: m 33 = 24-dot double density, 3 bytes per column.
    columns = 4
    data = ESC + b"*\x21" + bytes([columns, 0]) + b"\x10\x04\x01" * columns + b"ok\n"
    printer = EscposInterpreter()
    assert printer.feed(data) == []
    assert printer.images == 1
    assert printer.lines == ["ok"]


@pytest.mark.parametrize(
    "cut",
    [
        GS + b"V\x00",
        GS + b"V\x01",
        GS + b"V0",
        GS + b"V1",
        GS + b"VA\x0a",
        GS + b"VB\x03",
        GS + b"Va\x0a",
        GS + b"Vg\x00",
    ],
)
def test_each_cut_form_counts_once_and_its_parameter_is_not_printed(cut: bytes) -> None:
    printer = printed(b"a" + cut + b"b" + LF)
    assert printer.cuts == 1
    assert printer.lines == ["ab"]  # GS V 65 n: n = 0x0A must not be taken as a line feed


def test_cut_with_feed_split_before_its_parameter() -> None:
    printer = EscposInterpreter()
    printer.feed(b"x" + GS + b"VA")
    printer.feed(b"y")  # n of GS V 65 n: a feed amount, not text
    printer.feed(b"z\n")
    assert printer.cuts == 1
    assert printer.lines == ["xz"]


def test_cuts_are_counted() -> None:
    printer = printed(b"receipt 1\n" + GS + b"V\x00" + b"receipt 2\n" + GS + b"VB\x00" + GS + b"V1")
    assert printer.cuts == 3
    assert printer.lines == ["receipt 1", "receipt 2"]


def test_qr_store_and_print_is_one_image() -> None:
    payload = b"https://example.com/\x10\x04\x01/r?id=42"
    data = QR_MODEL + QR_SIZE + QR_ECC + qr_store(payload) + QR_PRINT + b"scan me\n"
    for actions, lines, _, cuts, images, barcodes, *_ in three_ways(data, [3, 11, 30, 47], snapshot):
        assert actions == []  # the DLE EOT inside the QR data is data
        assert images == 1
        assert barcodes == 0
        assert cuts == 0
        assert lines == ["scan me"]


def test_qr_store_without_print_is_no_image() -> None:
    printer = printed(qr_store(b"hello") + b"x\n")
    assert printer.images == 0
    assert printer.lines == ["x"]


def test_graphics_buffer_print_is_an_image() -> None:
    # GS ( L pL pH m fn: fn 50 prints the graphics buffer.
    printer = printed(GS + b"(L\x02\x000" + b"2" + b"ok\n")
    assert printer.images == 1
    assert printer.lines == ["ok"]


def test_gs_8_l_long_form_is_skipped() -> None:
    body = b"0p" + b"\x10\x04\x01" * 3
    printer = EscposInterpreter()
    assert printer.feed(GS + b"8L" + len(body).to_bytes(4, "little") + body + b"ok\n") == []
    assert printer.lines == ["ok"]


@pytest.mark.parametrize(
    "barcode",
    [
        GS + b"k\x02" + b"4006381333931\x00",  # format A: m 0..6, NUL-terminated (EAN-13)
        GS + b"kC\x0d" + b"4006381333931",  # format B: m 65..79, length byte (EAN-13)
        GS + b"kI\x0a" + b"{B\x10\x04\x01\n1234",  # CODE128 whose data holds DLE EOT and LF
    ],
)
def test_barcodes_are_counted_and_their_data_not_printed(barcode: bytes) -> None:
    printer = EscposInterpreter()
    assert printer.feed(b"a" + barcode + b"b\n") == []
    assert printer.barcodes == 1
    assert printer.lines == ["ab"]


# -- parameters are consumed, not printed --------------------------------------------------------------
@pytest.mark.parametrize(
    "command",
    [
        ESC + b"!\x38",
        ESC + b"-1",
        ESC + b"E1",
        ESC + b"a1",
        ESC + b"M1",
        ESC + b"3\x40",
        ESC + b"2",
        ESC + b"@",
        ESC + b"c5\x01",
        ESC + b"$\x10\x00",
        ESC + b"D\x08\x10\x18\x00",  # tab stops, NUL-terminated
        ESC + b"S",  # select standard mode: no parameter
        ESC + b"=\x01",  # select peripheral device: one parameter
        ESC + b"=1",
        GS + b"!\x11",
        GS + b"B1",
        GS + b"h\x50",
        GS + b"w\x02",
        GS + b"H2",
        GS + b"L\x00\x00",
        FS + b"!\x04",
        FS + b"C\x01",
        FS + b"-1",
    ],
)
def test_command_parameters_are_not_printed(command: bytes) -> None:
    printer = printed(b"A" + command + b"BC" + LF)
    assert printer.lines == ["ABC"]


# -- split invariance --------------------------------------------------------------------------------
@dataclass
class Expected:
    stream: bytes = b""
    actions: list[Action] = field(default_factory=list)
    text: str = ""
    cuts: int = 0
    images: int = 0
    barcodes: int = 0


@st.composite
def receipts(draw: st.DrawFn) -> Expected:
    """A receipt made of well-formed commands, with what a printer must make of it worked out alongside."""
    out = Expected()
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(
            st.sampled_from(
                ["text", "lf", "status", "kick", "dc4", "raster", "cut", "cut_n", "page", "qr", "barcode", "dbcs"]
            )
        )
        if kind == "text":
            text = draw(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=12))
            out.stream += text.encode("ascii")
            out.text += text
        elif kind == "lf":
            out.stream += LF
            out.text += "\n"
        elif kind == "status":
            n = draw(st.sampled_from([1, 2, 3, 4]))
            out.stream += status_request(n)
            out.actions.append(StatusRequest(n))
        elif kind == "kick":
            m = draw(st.sampled_from([0, 1, 48, 49]))
            t1, t2 = draw(st.integers(0, 255)), draw(st.integers(0, 255))
            out.stream += ESC + b"p" + bytes([m, t1, t2])
            out.actions.append(DrawerPulse(pin=2 if m in (0, 48) else 5, on_ms=2 * t1))
        elif kind == "dc4":
            m, t = draw(st.sampled_from([0, 1])), draw(st.integers(1, 8))
            out.stream += DLE + b"\x14\x01" + bytes([m, t])
            out.actions.append(DrawerPulse(pin=2 if m == 0 else 5, on_ms=100 * t))
        elif kind == "raster":
            width, height = draw(st.integers(1, 4)), draw(st.integers(1, 4))
            out.stream += raster(width, height, draw(st.binary(min_size=width * height, max_size=width * height)))
            out.images += 1
        elif kind == "cut":
            out.stream += GS + b"V" + bytes([draw(st.sampled_from([0, 1, 48, 49]))])
            out.cuts += 1
        elif kind == "cut_n":
            out.stream += GS + b"V" + bytes([draw(st.sampled_from([65, 66])), draw(st.integers(0, 255))])
            out.cuts += 1
        elif kind == "page":
            out.stream += select_code_page(draw(st.sampled_from([0, 2, 3, 16, 19, 99])))
        elif kind == "qr":
            out.stream += QR_MODEL + qr_store(draw(st.binary(max_size=20))) + QR_PRINT
            out.images += 1
        elif kind == "barcode":
            digits = draw(st.text(alphabet="0123456789", min_size=1, max_size=13)).encode()
            if draw(st.booleans()):
                out.stream += GS + b"k\x04" + digits + b"\x00"
            else:
                out.stream += GS + b"kI" + bytes([len(digits)]) + digits
            out.barcodes += 1
        else:
            out.stream += draw(st.sampled_from([DOUBLE_BYTE_ON, DOUBLE_BYTE_OFF, INIT]))
    return out


@PROPERTY
@given(receipt=receipts(), cuts=cut_points)
def test_well_formed_receipts_give_the_same_result_however_they_are_split(receipt: Expected, cuts: list[int]) -> None:
    *finished, last = receipt.text.split("\n")
    for actions, lines, current, n_cuts, images, barcodes, _, _, pending in three_ways(receipt.stream, cuts, snapshot):
        assert actions == receipt.actions
        assert lines == finished
        assert current == last
        assert (n_cuts, images, barcodes) == (receipt.cuts, receipt.images, receipt.barcodes)
        assert pending == b""


@PROPERTY
@given(stream=st.binary(max_size=160), cuts=cut_points)
def test_arbitrary_bytes_give_the_same_result_however_they_are_split(stream: bytes, cuts: list[int]) -> None:
    whole, split, single = three_ways(stream, cuts, snapshot)
    assert whole == split == single


@PROPERTY
@given(
    noise=st.lists(st.sampled_from([b"\x1b", b"\x1d", b"\x1c", b"\x10", b"\x04", b"\x00", b"(k", b"v0", b"V", b"A"])),
    cuts=cut_points,
)
def test_command_bytes_soup_gives_the_same_result_however_it_is_split(noise: list[bytes], cuts: list[int]) -> None:
    whole, split, single = three_ways(b"".join(noise), cuts, snapshot)
    assert whole == split == single


# -- the paper: styles, GB18030 four-byte sequences, images, QR codes, barcodes, cuts -------------------------
def paper_items(data: bytes, printer: EscposInterpreter | None = None) -> list[object]:
    printer = printer or EscposInterpreter()
    assert printer.feed(data) == []
    return list(printer.paper)


def test_styles_become_spans() -> None:
    data = (
        ESC
        + b"a\x01"
        + b"a"
        + ESC
        + b"E\x01"
        + b"b"
        + ESC
        + b"-\x02"
        + b"c"
        + GS
        + b"!\x21"
        + b"d"
        + GS
        + b"B\x01"
        + b"e"
        + ESC
        + b"M\x01"
        + b"f"
        + ESC
        + b"!\x00"
        + b"g"
        + LF
    )
    (line,) = paper_items(data)
    assert isinstance(line, PrintedLine)
    assert line.align == 1
    assert [(span.text, span.style) for span in line.spans] == [
        ("a", TextStyle()),
        ("b", TextStyle(bold=True)),
        ("c", TextStyle(bold=True, underline=2)),
        ("d", TextStyle(bold=True, underline=2, width=3, height=2)),  # GS ! 0x21: width 3, height 2
        ("e", TextStyle(bold=True, underline=2, width=3, height=2, reverse=True)),
        ("f", TextStyle(bold=True, underline=2, width=3, height=2, reverse=True, font=1)),
        ("g", TextStyle(reverse=True)),  # ESC ! 0 resets font, bold, underline and size, not reverse
    ]


def test_esc_bang_print_mode_bits() -> None:
    (line,) = paper_items(ESC + b"!\xb9" + b"x" + LF)  # font B, bold, double height, double width, underline
    assert isinstance(line, PrintedLine)
    assert line.spans[0].style == TextStyle(font=1, bold=True, height=2, width=2, underline=1)


def test_init_resets_styles_alignment_and_spacing() -> None:
    items = paper_items(ESC + b"E\x01" + ESC + b"a\x02" + ESC + b"3\x40" + b"x" + LF + INIT + b"y" + LF)
    assert [(item.spans[0].style.bold, item.align, item.spacing) for item in items] == [  # type: ignore[attr-defined]
        (True, 2, 0x40),
        (False, 0, 30),
    ]


def test_double_byte_spans_are_marked_and_take_the_kanji_underline() -> None:
    (line,) = paper_items(DOUBLE_BYTE_ON + FS + b"-\x01" + b"ab" + "你".encode("gb18030") + LF)
    assert isinstance(line, PrintedLine)
    assert [(span.text, span.double_byte, span.style.underline) for span in line.spans] == [
        ("ab", False, 0),
        ("你", True, 1),
    ]


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (b"\x81\x30\x84\x36", "¥"),  # GB18030 four-byte: the first byte pair's second byte is a digit 30-39
        (b"\x81\x39\xee\x39", "㐀"),  # CJK Extension A, U+3400
        (b"\xa2\xe3", "€"),  # two-byte
        (b"\xca\xd5\xd2\xf8\xcc\xa8", "收银台"),
    ],
)
def test_gb18030_two_and_four_byte_sequences(data: bytes, text: str) -> None:
    for cut in range(len(data) + 1):
        printer = EscposInterpreter()
        printer.feed(DOUBLE_BYTE_ON + data[:cut])
        printer.feed(data[cut:] + LF)
        assert printer.lines == [text]


def test_invalid_double_byte_sequences_print_a_replacement_and_resynchronise() -> None:
    # 0x80 and 0xFF lead nothing; 0x81 followed by LF has no trail byte; 81 30 81 0A is a broken four-byte form.
    printer = printed(DOUBLE_BYTE_ON + b"\x80a\xffb\x81" + LF + b"\x81\x30\x81\x0a" + "好".encode("gb18030") + LF)
    assert printer.lines == ["\ufffda\ufffdb\ufffd", "\ufffd0\ufffd", "好"]


@PROPERTY
@given(
    text=st.text(
        alphabet=st.one_of(
            st.characters(min_codepoint=0x3400, max_codepoint=0x4DB5),  # four-byte in GB18030
            st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5),  # two-byte
            st.sampled_from("ab 01.,¥"),
        ),
        max_size=20,
    ),
    cuts=cut_points,
)
def test_four_byte_text_survives_any_split(text: str, cuts: list[int]) -> None:
    data = DOUBLE_BYTE_ON + text.encode("gb18030") + DOUBLE_BYTE_OFF + LF
    for result in three_ways(data, cuts, snapshot):
        assert result[1] == [text]


def test_profile_numbering_and_double_byte_default() -> None:
    printer = EscposInterpreter.for_profile(get_profile("POS-5890"))
    # The clone starts in Chinese mode, and ESC @ puts it back there: without FS . Latin bytes pair up.
    printer.feed("Pão".encode("cp858") + LF)
    assert printer.lines == [("P" + bytes([0xC6, ord("o")]).decode("gb18030"))]
    printer.feed(DOUBLE_BYTE_OFF + select_code_page(53) + "Pão €".encode("cp858") + LF + INIT)
    assert printer.lines[1] == "Pão €"  # ESC t 53 is CP858 on this clone
    assert printer.double_byte is True


def test_international_character_set() -> None:
    printer = printed(ESC + b"R\x03" + b"#1" + LF + ESC + b"R\x00" + b"#1" + LF)
    assert printer.lines == ["£1", "#1"]  # U.K. set: 0x23 is the pound sign


def test_raster_image_is_kept_on_the_paper() -> None:
    (image,) = paper_items(ESC + b"a\x02" + raster(2, 2, b"\x80\x01\xff\x00", mode=1))
    assert image == PrintedImage(16, 2, b"\x80\x01\xff\x00", align=2, scale_x=2, scale_y=1)


def test_graphics_store_and_print() -> None:
    # GS ( L fn 112: a=48 bx=1 by=1 c=49 width 10 dots (2 bytes a row) height 2, then fn 50 prints it.
    body = b"0p0\x01\x011" + bytes([10, 0, 2, 0]) + b"\xc0\x40\x00\x80"
    store = GS + b"(L" + bytes([len(body), 0]) + body
    items = paper_items(store + GS + b"(L\x02\x0002")
    assert items == [PrintedImage(10, 2, b"\xc0\x40\x00\x80", align=0)]


def test_bit_image_columns_become_rows() -> None:
    # ESC * 1 (8-dot, double density), 2 columns: column 0 = top dot only, column 1 = bottom dot only.
    (image,) = paper_items(ESC + b"*\x01\x02\x00" + b"\x80\x01")
    assert isinstance(image, PrintedImage)
    assert (image.width, image.height, image.scale_x) == (2, 8, 1)
    assert image.data == b"\x80" + b"\x00" * 6 + b"\x40"


def test_qr_code_settings_data_and_print() -> None:
    data = ESC + b"a\x01" + QR_MODEL + QR_SIZE + GS + b"(k\x03\x00\x31\x45\x33" + qr_store(b"posd") + QR_PRINT
    assert paper_items(data) == [PrintedQr(b"posd", module=6, ecc="H", align=1)]


def test_barcode_settings_reach_the_paper() -> None:
    data = GS + b"h\x50" + GS + b"w\x02" + GS + b"H\x02" + GS + b"kC\x0c400638133393"
    assert paper_items(data) == [PrintedBarcode("EAN13", b"400638133393", height=80, module=2, hri=2, align=0)]


@pytest.mark.parametrize(
    ("cut", "partial"), [(GS + b"V\x00", False), (GS + b"V1", True), (GS + b"VA\x00", False), (GS + b"VB\x05", True)]
)
def test_cut_kind(cut: bytes, partial: bool) -> None:
    assert paper_items(cut) == [PrintedCut(partial=partial)]


def test_esc_j_prints_the_line_or_feeds() -> None:
    items = paper_items(b"ab" + ESC + b"J\x10" + ESC + b"J\x20")
    assert items == [PrintedLine((Span("ab", TextStyle()),), 0, 0x10), PrintedFeed(0x20)]


def test_the_paper_is_identical_however_the_stream_is_split() -> None:
    data = (
        INIT
        + ESC
        + b"E\x01"
        + b"bold "
        + DOUBLE_BYTE_ON
        + "你好".encode("gb18030")
        + LF
        + raster(1, 2, b"\x10\x04")
        + QR_SIZE
        + qr_store(b"data")
        + QR_PRINT
        + GS
        + b"kC\x0c400638133393"
        + GS
        + b"VB\x00"
    )
    whole = paper_items(data)
    for cut in range(len(data) + 1):
        printer = EscposInterpreter()
        printer.feed(data[:cut])
        printer.feed(data[cut:])
        assert list(printer.paper) == whole


def columns_to_raster_dot_by_dot(column_data: bytes, columns: int, rows_bytes: int) -> bytes:
    """The ESC * transpose written out dot by dot: the reference the fast one must agree with."""
    row_bytes = (columns + 7) // 8
    raster = bytearray(row_bytes * rows_bytes * 8)
    for x in range(columns):
        for byte_index in range(rows_bytes):
            value = column_data[x * rows_bytes + byte_index]
            for bit in range(8):
                if value & (0x80 >> bit):
                    raster[(byte_index * 8 + bit) * row_bytes + x // 8] |= 0x80 >> (x % 8)
    return bytes(raster)


@PROPERTY
@given(mode=st.sampled_from([0, 1, 32, 33]), data=st.data())
def test_bit_image_raster_matches_the_dot_by_dot_transpose(mode: int, data: st.DataObject) -> None:
    rows_bytes = 3 if mode >= 32 else 1
    columns = data.draw(st.integers(1, 70))
    column_data = data.draw(st.binary(min_size=columns * rows_bytes, max_size=columns * rows_bytes))
    (image,) = paper_items(ESC + b"*" + bytes([mode, columns, 0]) + column_data)
    assert isinstance(image, PrintedImage)
    assert (image.width, image.height) == (columns, rows_bytes * 8)
    assert image.data == columns_to_raster_dot_by_dot(column_data, columns, rows_bytes)


RECEIPTISH = st.lists(
    st.sampled_from(
        [
            b"Arroz 5kg   12,50\n",
            ESC + b"d\x03",
            ESC + b"*\x21\x02\x00" + b"\xff\x00\x81" * 2,
            GS + b"v0\x00\x01\x00\x02\x00\xf0\x0f",
            GS + b"kC\x0c400638133393",
            GS + b"V\x00",
            ESC + b"p\x00\x19\xfa",
            DLE + b"\x04\x01",
            ESC + b"J\x10",
            b"\xe7\xe3o\n",
        ]
    )
    | st.binary(max_size=8),
    max_size=40,
).map(b"".join)


@PROPERTY
@given(job=RECEIPTISH)
def test_without_paper_the_counts_text_and_actions_are_the_same(job: bytes) -> None:
    drawn, counted = EscposInterpreter(), EscposInterpreter(draw=False)
    assert counted.feed(job) == drawn.feed(job)
    assert (counted.lines, counted.current_line) == (drawn.lines, drawn.current_line)
    assert (counted.cuts, counted.images, counted.barcodes) == (drawn.cuts, drawn.images, drawn.barcodes)
    assert not counted.paper


def test_a_job_of_feeds_keeps_few_lines_and_still_counts_its_text() -> None:
    # 3 bytes of ESC d 255 are 255 lines: 4 MB of them (the API's body limit) would be 350 million.
    job = b"first\n" + (ESC + b"d\xff") * 2000 + b"last\n"
    printer = EscposInterpreter()
    printer.feed(job)
    assert printer.max_lines <= len(printer.lines) <= 2 * printer.max_lines
    assert printer.lines[-1] == "last"
    assert printer.text_lines == 2
    assert count_printed(job).lines == 2
