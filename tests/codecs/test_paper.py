"""The simulated paper as a PNG (drivers/escpos/paper.py), read back by an independent decoder: zxing-cpp."""

from __future__ import annotations

import base64
import io
from typing import Any

import pytest
import zxingcpp
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageChops

from drivers.escpos import paper
from drivers.escpos.document import Document
from drivers.escpos.interpreter import EscposInterpreter, PrintedLine, Span, TextStyle
from drivers.escpos.paper import MARGIN, paper_png, preview_png
from drivers.escpos.profile import SIMULATED_PROFILE_NAME, PrinterProfile, get_profile
from drivers.escpos.render import render_document
from drivers.escpos.simulator import RECEIVED_KEEP_BYTES, EscposSimulator, ResetOutputControl
from drivers.simulator import TcpEndpoint

PROFILES = ["TM-T20II", SIMULATED_PROFILE_NAME, "POS-5890"]  # native QR/barcodes, and raster ones (POS-5890)
NFCE_URL = (
    "https://www.sefaz.rs.gov.br/NFCE/NFCE-COM.aspx?p=43230112345678000199650010000000011000000019|2|1|1|"
    "8D6A0C5E5E1C0E7E0C4B7A9F0C2B1A0D9E8F7A6B"
)


def doc(*blocks: dict[str, Any]) -> Document:
    return Document.model_validate({"blocks": list(blocks)})


def decoded(document: Document, profile: PrinterProfile) -> list[tuple[zxingcpp.BarcodeFormat, str]]:
    image = Image.open(io.BytesIO(preview_png(render_document(document, profile), profile)))
    return sorted(((result.format, result.text) for result in zxingcpp.read_barcodes(image)), key=str)


def gs1_check_digit(body: str) -> str:
    # Written out from the GS1 General Specifications: weights 3 and 1 alternating from the right.
    odd = sum(int(d) for d in body[::-1][0::2])
    even = sum(int(d) for d in body[::-1][1::2])
    return str((10 - (3 * odd + even) % 10) % 10)


# -- the acceptance: QR and EAN-13 decode to exactly the data sent ------------------------------------
@pytest.mark.parametrize("name", PROFILES)
def test_nfce_qr_and_ean13_decode_from_the_png(name: str) -> None:
    document = doc(
        {"type": "text", "text": "NFC-e 收银台"},
        {"type": "barcode", "data": "7891000315507", "symbology": "EAN13"},
        {"type": "qr", "data": NFCE_URL},
        {"type": "cut"},
    )
    assert decoded(document, get_profile(name)) == sorted(
        [(zxingcpp.BarcodeFormat.EAN13, "7891000315507"), (zxingcpp.BarcodeFormat.QRCode, NFCE_URL)], key=str
    )


@pytest.mark.parametrize("name", PROFILES)
@settings(max_examples=40, deadline=None)
@given(
    data=st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=300),
    ecc=st.sampled_from(["L", "M", "Q", "H"]),
    size=st.integers(min_value=3, max_value=8),
)
def test_any_qr_decodes_to_its_data(name: str, data: str, ecc: str, size: int) -> None:
    document = doc({"type": "qr", "data": data, "ecc": ecc, "size": size})
    assert decoded(document, get_profile(name)) == [(zxingcpp.BarcodeFormat.QRCode, data)]


@pytest.mark.parametrize("name", PROFILES)
@settings(max_examples=40, deadline=None)
@given(body=st.text("0123456789", min_size=12, max_size=12), with_check=st.booleans())
def test_any_ean13_decodes_to_its_digits(name: str, body: str, with_check: bool) -> None:
    full = body + gs1_check_digit(body)
    document = doc({"type": "barcode", "data": full if with_check else body, "symbology": "EAN13"})
    assert decoded(document, get_profile(name)) == [(zxingcpp.BarcodeFormat.EAN13, full)]


@pytest.mark.parametrize("name", PROFILES)
@pytest.mark.parametrize(
    ("symbology", "data", "expected_format", "expected"),
    [
        ("EAN8", "9638507", zxingcpp.BarcodeFormat.EAN8, "96385074"),
        # zxing reports a UPC-A as the EAN-13 it is a subset of: the same bars with a leading 0.
        ("UPCA", "03600029145", zxingcpp.BarcodeFormat.EAN13, "0036000291452"),
        ("CODE39", "POSD-42", zxingcpp.BarcodeFormat.Code39, "POSD-42"),
        ("ITF", "12345678", zxingcpp.BarcodeFormat.ITF, "12345678"),
        ("CODE128", "Pedido #1234", zxingcpp.BarcodeFormat.Code128, "Pedido #1234"),
        ("CODE128", "78910003155078", zxingcpp.BarcodeFormat.Code128, "78910003155078"),
    ],
)
def test_other_symbologies_decode(
    name: str, symbology: str, data: str, expected_format: zxingcpp.BarcodeFormat, expected: str
) -> None:
    document = doc({"type": "barcode", "data": data, "symbology": symbology, "height": 100})
    assert decoded(document, get_profile(name)) == [(expected_format, expected)]


# -- images, text, cuts ---------------------------------------------------------------------------------
def test_raster_image_is_drawn_dot_for_dot_where_it_was_aligned() -> None:
    profile = get_profile("TM-T20II")
    logo = Image.new("L", (40, 20), 255)
    logo.paste(0, (10, 5, 30, 15))  # a 20×10 black block
    out = io.BytesIO()
    logo.save(out, "PNG")
    document = doc({"type": "image", "png": base64.b64encode(out.getvalue()).decode(), "align": "right"})
    page = Image.open(io.BytesIO(preview_png(render_document(document, profile), profile)))
    assert page.size == (576 + 2 * MARGIN, 20 + 2 * MARGIN)
    left = MARGIN + 576 - 40  # right-aligned
    assert ImageChops.invert(page.convert("L")).getbbox() == (left + 10, MARGIN + 5, left + 30, MARGIN + 15)


def test_text_is_drawn_on_the_character_grid_with_its_size() -> None:
    profile = get_profile(SIMULATED_PROFILE_NAME)
    data = render_document(doc({"type": "text", "text": "WW"}, {"type": "text", "text": "WW", "size": [2, 2]}), profile)
    page = ImageChops.invert(Image.open(io.BytesIO(preview_png(data, profile))).convert("L"))
    small = page.crop((MARGIN, MARGIN, MARGIN + 576, MARGIN + 30)).getbbox()
    large = page.crop((MARGIN, MARGIN + 30, MARGIN + 576, MARGIN + 30 + 48)).getbbox()
    assert small is not None
    assert large is not None
    assert small[2] <= 24 < large[2] <= 48  # two 12-dot cells, then two 24-dot cells
    assert (large[3] - large[1]) >= 2 * (small[3] - small[1]) - 2


def test_bold_has_more_ink_and_reverse_is_white_on_black() -> None:
    plain = paper._styled_cell("B", TextStyle(), False)
    bold = paper._styled_cell("B", TextStyle(bold=True), False)
    reverse = paper._styled_cell("B", TextStyle(reverse=True), False)

    def ink(cell: Image.Image) -> int:
        return sum(255 - value for value in cell.tobytes())

    assert ink(bold) > ink(plain) > 0
    assert ink(reverse) > 12 * 24 * 255 // 2  # most of the cell is black


def test_cjk_glyphs_come_from_a_cjk_font_and_unknown_glyphs_are_boxes() -> None:
    chinese = paper._cell("你", 0, True, False)
    other = paper._cell("好", 0, True, False)
    unknown = paper._cell("\ue000", 0, True, False)  # private use: no font has it
    assert chinese.size == (24, 24)
    assert chinese.tobytes() != other.tobytes()
    # The box: ink on the outline of the cell, none inside it.
    assert unknown.getpixel((1, 12)) == 0
    assert unknown.getpixel((12, 12)) == 255
    assert chinese.tobytes() != unknown.tobytes()


def test_a_line_wider_than_the_paper_is_cut_off_like_on_a_printer() -> None:
    strip = paper._line(PrintedLine((Span("x" * 60, TextStyle()),), 0, 30), 576)
    assert strip.width == 576


def test_cuts_are_drawn_across_the_paper() -> None:
    profile = get_profile("TM-T20II")
    page = Image.open(io.BytesIO(preview_png(render_document(doc({"type": "cut"}), profile), profile))).convert("L")
    row = [page.getpixel((x, MARGIN + paper.CUT_GAP)) for x in range(page.width)]
    assert row.count(0) > page.width // 2


def test_paper_keeps_only_the_newest_part_of_a_long_roll() -> None:
    printer = EscposInterpreter()
    printer.feed(b"line\n" * 2000)
    image = paper.render_paper(printer.paper, 576, max_height=3000)
    assert image.height == 3000 // 30 * 30 + 2 * MARGIN


def test_simulated_printer_shows_its_paper() -> None:
    simulator = EscposSimulator("printer-x", TcpEndpoint())
    profile = simulator.profile
    assert profile.name == SIMULATED_PROFILE_NAME
    data = render_document(doc({"type": "text", "text": "收银台 你好"}, {"type": "qr", "data": "posd"}), profile)
    simulator.on_bytes(data)
    assert simulator.output()["lines"] == ["收银台 你好"]
    image = Image.open(io.BytesIO(simulator.paper_png()))
    assert image.format == "PNG"
    assert [result.text for result in zxingcpp.read_barcodes(image)] == ["posd"]
    assert paper_png(simulator.paper_out) == simulator.paper_png()


async def test_a_simulated_printer_printing_all_day_keeps_only_recent_bytes_and_lines() -> None:
    simulator = EscposSimulator("printer-x", TcpEndpoint())
    line = b"%06d PAO DE QUEIJO 100G 12,50\n"
    chunks = [b"".join(line % (start + i) for i in range(1000)) for start in range(0, 100_000, 1000)]
    for chunk in chunks:
        simulator.on_bytes(chunk)
    total = sum(len(chunk) for chunk in chunks)
    assert total > 2 * RECEIVED_KEEP_BYTES
    output = simulator.output()
    assert output["bytes"] == total
    assert RECEIVED_KEEP_BYTES <= len(simulator.received) <= 2 * RECEIVED_KEEP_BYTES
    assert bytes(simulator.received) == b"".join(chunks)[-len(simulator.received) :]
    kept = simulator.paper_out.max_lines
    assert kept <= len(output["lines"]) <= 2 * kept
    assert output["lines"][-1] == "099999 PAO DE QUEIJO 100G 12,50"
    cleared = await simulator.apply(ResetOutputControl(action="clear"))
    assert (cleared["bytes"], cleared["lines"]) == (0, [])
