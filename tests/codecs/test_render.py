"""Receipt documents → ESC/POS (drivers/escpos/render.py).

Expected bytes are written out from the Epson ESC/POS reference (protocols.md §2); what the paper shows is
read back through the device-side interpreter.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from drivers.errors import PosdError
from drivers.escpos import render
from drivers.escpos.document import Document
from drivers.escpos.interpreter import EscposInterpreter, PrintedBarcode, PrintedCut, PrintedImage, PrintedLine
from drivers.escpos.profile import SIMULATED_PROFILE_NAME, PrinterProfile, get_profile
from drivers.escpos.render import RenderError, render_document, render_image, render_raw
from tests.codecs._streams import PROPERTY

EPSON_80 = get_profile("TM-T20II")
CLONE_58 = get_profile("POS-5890")
SIMULATED = get_profile(SIMULATED_PROFILE_NAME)

# ESC @, ESC R 0 (USA), ESC t 19 (CP858): how every job on the TM-T20II begins.
EPSON_START = b"\x1b@" + b"\x1bR\x00" + b"\x1bt\x13"
# The clone also leaves the double-byte mode it powers up in (FS .).
CLONE_START = b"\x1b@" + b"\x1bR\x00" + b"\x1c." + b"\x1bt\x13"


def doc(*blocks: dict[str, Any]) -> Document:
    return Document.model_validate({"blocks": list(blocks)})


def paper(data: bytes, profile: PrinterProfile) -> EscposInterpreter:
    printer = EscposInterpreter.for_profile(profile)
    assert printer.feed(data) == []  # no status request or drawer pulse ever comes out of a rendered job
    return printer


def png(image: Image.Image) -> str:
    out = io.BytesIO()
    image.save(out, "PNG")
    return base64.b64encode(out.getvalue()).decode()


# -- job start and plain text ------------------------------------------------------------------------
def test_every_job_starts_with_init_and_an_explicit_text_state() -> None:
    assert render_document(doc({"type": "text", "text": "Hi"}), EPSON_80) == EPSON_START + b"Hi\n"
    assert render_document(doc({"type": "text", "text": "Hi"}), CLONE_58) == CLONE_START + b"Hi\n"


def test_text_lines_and_empty_lines() -> None:
    data = render_document(doc({"type": "text", "text": "a\n\nb\r\nc"}), EPSON_80)
    assert data == EPSON_START + b"a\n\nb\nc\n"


def test_styles_are_sent_only_when_they_change() -> None:
    data = render_document(
        doc(
            {"type": "text", "text": "T", "align": "center", "bold": True, "underline": True, "size": [2, 3]},
            {"type": "text", "text": "U", "align": "center", "bold": True, "underline": True, "size": [2, 3]},
            {"type": "text", "text": "b", "font": "b"},
        ),
        EPSON_80,
    )
    # ESC a 1, ESC E 1, ESC - 1, GS ! 0x12 (width 2 → bits 4-6 = 1, height 3 → bits 0-2 = 2)
    styled = b"\x1ba\x01\x1bE\x01\x1b-\x01\x1d!\x12"
    # back to left, bold off, underline off, size 1×1, then ESC M 1 (font B)
    plain_b = b"\x1ba\x00\x1bE\x00\x1b-\x00\x1d!\x00\x1bM\x01"
    assert data == EPSON_START + styled + b"T\nU\n" + plain_b + b"b\n"


def test_underline_also_sets_double_byte_underline_on_chinese_models() -> None:
    data = render_document(doc({"type": "text", "text": "x", "underline": True}), SIMULATED)
    assert b"\x1b-\x01\x1c-\x01x\n" in data


def test_styles_reach_the_paper() -> None:
    data = render_document(
        doc({"type": "text", "text": "Total", "bold": True, "size": [2, 2], "align": "right"}), SIMULATED
    )
    (line,) = [item for item in paper(data, SIMULATED).paper if isinstance(item, PrintedLine)]
    assert line.align == 2
    assert [(span.text, span.style.bold, span.style.width, span.style.height) for span in line.spans] == [
        ("Total", True, 2, 2)
    ]


def test_tabs_expand_to_the_printer_tab_stops() -> None:
    assert paper(render_document(doc({"type": "text", "text": "ab\tc"}), EPSON_80), EPSON_80).lines == ["ab      c"]


# -- layout --------------------------------------------------------------------------------------------
def test_long_text_wraps_at_words_to_the_columns() -> None:
    text = "Um texto bem longo que precisa ser quebrado em várias linhas"
    lines = paper(render_document(doc({"type": "text", "text": text}), CLONE_58), CLONE_58).lines
    assert lines == ["Um texto bem longo que precisa", "ser quebrado em várias linhas"]
    assert all(len(line) <= 32 for line in lines)


def test_a_word_longer_than_the_line_is_split() -> None:
    lines = paper(render_document(doc({"type": "text", "text": "x" * 70}), CLONE_58), CLONE_58).lines
    assert lines == ["x" * 32, "x" * 32, "x" * 6]


def test_double_width_halves_the_columns() -> None:
    data = render_document(doc({"type": "text", "text": "abcd " * 6, "size": [2, 1]}), CLONE_58)
    assert paper(data, CLONE_58).lines == ["abcd abcd abcd", "abcd abcd abcd "]  # only spaces at a break go


def test_chinese_is_two_columns_wide_and_breaks_between_characters() -> None:
    text = "收银台" * 6  # 18 characters, 36 columns on a 32-column paper
    lines = paper(render_document(doc({"type": "text", "text": text}), CLONE_58), CLONE_58).lines
    assert lines == ["收银台" * 5 + "收", "银台"]


def test_row_pads_to_the_full_width() -> None:
    data = render_document(doc({"type": "row", "left": "Café", "right": "R$ 3,50"}), CLONE_58)
    assert paper(data, CLONE_58).lines == ["Café" + " " * 21 + "R$ 3,50"]


def test_row_too_long_wraps_the_left_and_keeps_the_right_aligned() -> None:
    left = "Pão de queijo recheado com requeijão"
    data = render_document(doc({"type": "row", "left": left, "right": "12,50"}), CLONE_58)
    assert paper(data, CLONE_58).lines == ["Pão de queijo recheado com", "requeijão" + " " * 18 + "12,50"]


def test_rule_fills_the_line() -> None:
    data = render_document(doc({"type": "rule"}, {"type": "rule", "char": "="}), EPSON_80)
    assert paper(data, EPSON_80).lines == ["-" * 48, "=" * 48]


def test_feed() -> None:
    assert render_document(doc({"type": "feed", "lines": 3}), EPSON_80) == EPSON_START + b"\x1bd\x03"


# -- cuts ---------------------------------------------------------------------------------------------
def test_cuts_feed_to_the_cutter_first() -> None:
    full = render_document(doc({"type": "cut"}), EPSON_80)
    partial = render_document(doc({"type": "cut", "partial": True}), EPSON_80)
    assert full == EPSON_START + b"\x1dVA\x00"  # GS V 65 0
    assert partial == EPSON_START + b"\x1dVB\x00"  # GS V 66 0
    assert paper(partial, EPSON_80).paper[-1] == PrintedCut(partial=True)


def test_printer_without_cutter_feeds_the_receipt_out_instead() -> None:
    data = render_document(doc({"type": "cut"}), CLONE_58)
    assert data == CLONE_START + b"\x1bd\x04"
    assert paper(data, CLONE_58).cuts == 0


def test_partial_cut_asked_of_a_full_cut_only_printer_cuts_fully() -> None:
    profile = get_profile("TM-T20II", {"partial_cut": False})
    assert render_document(doc({"type": "cut", "partial": True}), profile).endswith(b"\x1dVA\x00")


# -- COPY banner -----------------------------------------------------------------------------------------
def test_copy_banner_is_at_the_top_large_and_bold() -> None:
    data = render_document(doc({"type": "text", "text": "Recibo"}), SIMULATED, copy=True)
    printer = paper(data, SIMULATED)
    assert printer.lines[0] == "*** COPY ***"
    assert printer.lines[-1] == "Recibo"
    first = printer.paper[0]
    assert isinstance(first, PrintedLine)
    assert first.align == 1
    assert (first.spans[0].style.bold, first.spans[0].style.width, first.spans[0].style.height) == (True, 2, 2)
    last = printer.paper[-1]
    assert isinstance(last, PrintedLine)
    assert (last.align, last.spans[0].style.bold, last.spans[0].style.width) == (0, False, 1)


def test_copy_banner_text_is_configurable_and_encoded_like_any_text() -> None:
    data = render_document(doc({"type": "text", "text": "x"}), SIMULATED, copy=True, copy_text="2ª VIA — 副本")
    assert paper(data, SIMULATED).lines[0] == "2ª VIA — 副本"


# -- barcodes and QR codes -----------------------------------------------------------------------------
def test_ean13_native_command() -> None:
    data = render_document(doc({"type": "barcode", "data": "4006381333931", "symbology": "EAN13"}), EPSON_80)
    # ESC a 1 (centred), GS h 80, GS w 3, GS H 2 (HRI below), GS f 0, GS k 67 12 + digits without check digit
    expected = b"\x1ba\x01\x1dh\x50\x1dw\x03\x1dH\x02\x1df\x00\x1dkC\x0c400638133393"
    assert data == EPSON_START + expected
    (code,) = [item for item in paper(data, EPSON_80).paper if isinstance(item, PrintedBarcode)]
    assert (code.symbology, code.data, code.height, code.module, code.hri, code.align) == (
        "EAN13",
        b"400638133393",
        80,
        3,
        2,
        1,
    )


@pytest.mark.parametrize(
    ("symbology", "data", "payload"),
    [
        ("EAN13", "400638133393", b"C\x0c400638133393"),
        ("EAN8", "96385074", b"D\x079638507"),
        ("UPCA", "036000291452", b"A\x0b03600029145"),
        ("CODE39", "ABC-123", b"E\x07ABC-123"),
        ("ITF", "12345678", b"F\x0812345678"),
        ("CODE128", "Hello {x}", b"I\x0c{BHello {{x}"),  # a literal brace is sent doubled
        ("CODE128", "123456", b"I\x05{C\x0c\x22\x38"),  # code set C: one byte per digit pair
        ("CODE128", "16040123", b"I\x0a{B16040123"),  # {C would hold 10 04 (DLE EOT): code set B instead
    ],
)
def test_barcode_payloads(symbology: str, data: str, payload: bytes) -> None:
    rendered = render_document(doc({"type": "barcode", "data": data, "symbology": symbology}), EPSON_80)
    assert rendered.endswith(b"\x1dk" + payload)


@pytest.mark.parametrize(
    ("symbology", "data", "message"),
    [
        ("EAN13", "4006381333932", "check digit"),
        ("EAN13", "40063813339", "12 digits"),
        ("EAN8", "9638507A", "7 digits"),
        ("UPCA", "03600029145x", "11 digits"),
        ("CODE39", "abc", "cannot encode"),
        ("ITF", "123", "even number"),
        ("CODE128", "tab\there", "printable ASCII"),
        ("CODE128", "x" * 60, "wider than the paper"),
    ],
)
def test_invalid_barcode_data_is_an_invalid_document(symbology: str, data: str, message: str) -> None:
    document = doc({"type": "text", "text": "ok"}, {"type": "barcode", "data": data, "symbology": symbology})
    with pytest.raises(RenderError) as caught:
        render_document(document, EPSON_80)
    assert caught.value.code == "invalid_document"
    assert message in str(caught.value)
    assert str(caught.value).startswith("blocks[1] (barcode): ")


def test_qr_native_commands() -> None:
    data = render_document(doc({"type": "qr", "data": "https://x.y/1", "size": 5, "ecc": "Q"}), EPSON_80)
    expected = (
        b"\x1ba\x01"
        + b"\x1d(k\x04\x00\x31\x41\x32\x00"  # model 2
        + b"\x1d(k\x03\x00\x31\x43\x05"  # module 5 dots
        + b"\x1d(k\x03\x00\x31\x45\x32"  # error correction Q (0x32)
        + b"\x1d(k\x10\x00\x31\x50\x30https://x.y/1"  # store: pL = 13 + 3
        + b"\x1d(k\x03\x00\x31\x51\x30"  # print
    )
    assert data == EPSON_START + expected


def test_qr_module_shrinks_to_fit_the_paper() -> None:
    # 300 bytes at H need version 14 at most (73 modules + 8 quiet): 384 // 81 = 4 dots per module.
    data = render_document(doc({"type": "qr", "data": "A" * 300, "size": 16, "ecc": "H"}), CLONE_58)
    (image,) = [item for item in paper(data, CLONE_58).paper if isinstance(item, PrintedImage)]
    assert image.width <= 384


def test_qr_data_too_long_or_with_control_characters_is_invalid() -> None:
    for data in ("x" * 1274, "a\x10\x04b"):
        with pytest.raises(RenderError) as caught:
            render_document(doc({"type": "qr", "data": data, "ecc": "H"}), EPSON_80)
        assert caught.value.code == "invalid_document"


def test_printers_without_native_symbols_get_raster_images() -> None:
    data = render_document(
        doc(
            {"type": "qr", "data": "https://x.y/1"},
            {"type": "barcode", "data": "4006381333931", "symbology": "EAN13"},
        ),
        CLONE_58,
    )
    assert b"\x1d(k" not in data
    assert b"\x1dk" not in data
    printer = paper(data, CLONE_58)
    assert printer.images == 2
    assert printer.lines == ["4006381333931"]  # the HRI digits, printed as text under the bars


# -- images --------------------------------------------------------------------------------------------
def test_image_bytes_worked_out_by_hand() -> None:
    image = Image.new("L", (10, 2), 255)
    image.putpixel((0, 0), 0)
    image.putpixel((9, 0), 0)
    image.putpixel((4, 1), 0)
    data = render_document(doc({"type": "image", "png": png(image), "align": "left"}), EPSON_80)
    # 10 dots → 2 bytes per row, padded with white; row 0: 1000 0000 | 0100 0000, row 1: 0000 1000 | 0000 0000
    assert data == EPSON_START + b"\x1dv0\x00\x02\x00\x02\x00" + b"\x80\x40" + b"\x08\x00"


def test_transparent_pixels_are_paper() -> None:
    image = Image.new("RGBA", (8, 1), (0, 0, 0, 0))
    image.putpixel((7, 0), (0, 0, 0, 255))
    assert render_document(doc({"type": "image", "png": png(image)}), EPSON_80).endswith(b"\x01")


def test_wide_image_is_scaled_down_to_the_paper() -> None:
    data = render_document(doc({"type": "image", "png": png(Image.new("L", (1152, 40), 0))}), EPSON_80)
    (image,) = [item for item in paper(data, EPSON_80).paper if isinstance(item, PrintedImage)]
    assert (image.width, image.height) == (576, 20)
    assert image.data == b"\xff" * (72 * 20)


def test_image_bytes_never_hold_a_realtime_command() -> None:
    # Pixels 3 and 13 of a 16-dot row make the bytes 10 04: DLE EOT, which a printer answers even inside
    # image data. One dot is dropped instead.
    image = Image.new("L", (16, 1), 255)
    image.putpixel((3, 0), 0)
    image.putpixel((13, 0), 0)
    data = render_document(doc({"type": "image", "png": png(image)}), EPSON_80)
    assert data.endswith(b"\x1dv0\x00\x02\x00\x01\x00\x00\x04")
    assert b"\x10\x04" not in data


@PROPERTY
@given(rows=st.lists(st.binary(min_size=2, max_size=2), min_size=1, max_size=6))
def test_no_image_makes_a_status_request_or_drawer_pulse(rows: list[bytes]) -> None:
    bits = "".join(f"{byte:08b}" for row in rows for byte in row)
    image = Image.new("L", (16, len(rows)), 255)
    image.putdata([0 if bit == "1" else 255 for bit in bits])
    data = render_document(doc({"type": "image", "png": png(image)}), EPSON_80)
    for prefix in (b"\x10\x04", b"\x10\x05", b"\x10\x14"):
        assert prefix not in data
    printer = EscposInterpreter.for_profile(EPSON_80)
    assert printer.feed(data) == []
    (printed,) = printer.paper
    assert isinstance(printed, PrintedImage)
    # At most one dot differs per removed sequence.
    expected = b"".join(rows)
    changed = sum(bin(a ^ b).count("1") for a, b in zip(printed.data, expected, strict=True))
    assert changed <= sum(expected.count(prefix) for prefix in (b"\x10\x04", b"\x10\x05", b"\x10\x14"))


def test_tall_images_go_out_in_bands() -> None:
    data = render_document(doc({"type": "image", "png": png(Image.new("L", (8, 2500), 255))}), EPSON_80)
    assert data.count(b"\x1dv0") == 3
    heights = [item.height for item in paper(data, EPSON_80).paper if isinstance(item, PrintedImage)]
    assert heights == [1024, 1024, 452]


def test_image_too_tall_for_the_printer() -> None:
    profile = get_profile("TM-T20II", {"max_image_height_dots": 1000})
    with pytest.raises(RenderError) as caught:
        render_document(doc({"type": "image", "png": png(Image.new("L", (576, 1001), 255))}), profile)
    assert caught.value.code == "image_too_large"
    assert "1001 dots" in str(caught.value)


def test_image_too_large_to_decode() -> None:
    huge = Image.new("1", (8000, 5001), 1)
    with pytest.raises(RenderError) as caught:
        render_document(doc({"type": "image", "png": png(huge)}), EPSON_80)
    assert caught.value.code == "image_too_large"


@pytest.mark.parametrize("payload", ["not base64!", base64.b64encode(b"GIF89a....").decode(), ""])
def test_image_that_is_not_a_png_is_an_invalid_document(payload: str) -> None:
    with pytest.raises(RenderError) as caught:
        render_document(doc({"type": "image", "png": payload}), EPSON_80)
    assert caught.value.code == "invalid_document"


def test_the_logo_raster_is_cached_by_content() -> None:
    logo = png(Image.new("L", (384, 120), 0))
    render._raster_from_base64.cache_clear()
    for _ in range(3):
        render_document(doc({"type": "image", "png": logo}), EPSON_80)
    assert render._raster_from_base64.cache_info().misses == 1
    assert render._raster_from_base64.cache_info().hits == 2


def test_printer_without_raster_cannot_print_images() -> None:
    with pytest.raises(RenderError) as caught:
        render_document(doc({"type": "image", "png": png(Image.new("L", (8, 8)))}), get_profile("TM-U220"))
    assert caught.value.code == "not_supported"


# -- whole-receipt images and raw jobs --------------------------------------------------------------------
def test_render_image_scales_centres_and_cuts() -> None:
    out = io.BytesIO()
    Image.new("L", (800, 100), 0).save(out, "PNG")
    data = render_image(out.getvalue(), EPSON_80)
    # 800×100 scaled to 576 wide: 576 / 8 = 72 bytes per row, 100 × 576 / 800 = 72 rows
    assert data.startswith(EPSON_START + b"\x1ba\x01\x1dv0\x00\x48\x00\x48\x00")
    assert data.endswith(b"\x1dVA\x00")
    printer = paper(data, EPSON_80)
    assert (printer.images, printer.cuts) == (1, 1)


def test_render_image_copy_has_the_banner() -> None:
    out = io.BytesIO()
    Image.new("L", (8, 8), 0).save(out, "PNG")
    assert paper(render_image(out.getvalue(), EPSON_80, copy=True), EPSON_80).lines[0] == "*** COPY ***"


def test_render_raw_adds_init_once() -> None:
    assert render_raw(b"hello\n") == b"\x1b@hello\n"
    assert render_raw(b"\x1b@hello\n") == b"\x1b@hello\n"
    copy = render_raw(b"hello\n", copy=True, profile=EPSON_80)
    assert paper(copy, EPSON_80).lines == ["*** COPY ***", "", "hello"]


# -- errors ----------------------------------------------------------------------------------------------
def test_render_error_is_a_value_error_and_a_posd_error_with_its_code() -> None:
    error = RenderError("image_too_large", "too tall")
    assert isinstance(error, ValueError)
    assert isinstance(error, PosdError)
    assert error.code == "image_too_large"
    assert str(error) == "too tall"


def test_unencodable_under_strict_and_replaced_otherwise() -> None:
    document = doc({"type": "row", "left": "Item 가", "right": "1,00"})
    with pytest.raises(RenderError) as caught:
        render_document(document, EPSON_80, strict=True)
    assert caught.value.code == "unencodable_text"
    assert "U+AC00" in str(caught.value)
    lines = paper(render_document(document, EPSON_80, replacement="*"), EPSON_80).lines
    assert lines == ["Item *" + " " * 38 + "1,00"]


def test_size_multipliers_are_validated_by_the_model() -> None:
    with pytest.raises(ValueError, match="less than or equal to 8"):
        doc({"type": "text", "text": "x", "size": [9, 1]})
