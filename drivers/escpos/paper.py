"""The simulated paper as a PNG: what the interpreter says was printed, drawn the way a printer draws it.

Text is drawn cell by cell on the printer's grid (font A 12×24 dots, font B 9×17, double-byte characters 24×24),
scaled by the character size, with bold, underline and reverse; raster images dot for dot; QR codes from their
stored data with the same error correction and module size (the matrix from the ``qrcode`` library); 1-D
barcodes from their bars (python-barcode) with the human-readable text under them; cuts as dashed lines.
The paper has white margins like the unprintable edges of a real roll, which also gives scanners their quiet zone.

Glyphs come from DejaVu Sans Mono and, for CJK, WenQuanYi Micro Hei (Debian ``fonts-dejavu-core``,
``fonts-wqy-microhei``). Without a font for a character, its cell gets a box, so a missing glyph is visible
rather than silently wrong.
"""

from __future__ import annotations

import functools
import io
import logging
from collections.abc import Iterable
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageOps

from drivers.escpos.barcodes import bars, qr_matrix
from drivers.escpos.interpreter import (
    EscposInterpreter,
    PaperItem,
    PrintedBarcode,
    PrintedCut,
    PrintedFeed,
    PrintedImage,
    PrintedLine,
    PrintedQr,
    Span,
    TextStyle,
)
from drivers.escpos.profile import PrinterProfile

_LOGGER = logging.getLogger(__name__)

MONO_FONTS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationMono-Regular.ttf",
)
CJK_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
)
#: Character cells in dots: font A, font B, and a double-byte character (203 dpi printers).
CELLS = {0: (12, 24), 1: (9, 17)}
DOUBLE_BYTE_CELL = (24, 24)
MARGIN = 32  # dots of bare paper left and right (80 mm paper, 72 mm printable) and at the top and bottom
CUT_GAP = 12
#: The tallest paper drawn (the newest part of a long-running simulator's roll); about 4 m at 203 dpi.
MAX_PAPER_DOTS = 32000
PAPER = 255
INK = 0
_TYPE_SIZES = {0: 20, 1: 15}  # font size giving a DejaVu Sans Mono advance of 12 and 9 dots


@functools.cache
def _font(paths: tuple[str, ...], size: int) -> ImageFont.FreeTypeFont | None:
    for path in paths:
        if Path(path).exists():
            return ImageFont.truetype(path, size)
    return None


@functools.cache
def _missing_glyph(font: ImageFont.FreeTypeFont) -> bytes:
    return bytes(font.getmask("\U0010fffd"))


def _has_glyph(font: ImageFont.FreeTypeFont, char: str) -> bool:
    return bytes(font.getmask(char)) != _missing_glyph(font)


@functools.lru_cache(maxsize=4096)
def _cell(char: str, font: int, double_byte: bool, bold: bool) -> Image.Image:
    """One character's cell at size 1×1: white paper, black glyph (a box if no font has the glyph)."""
    width, height = DOUBLE_BYTE_CELL if double_byte else CELLS[font]
    cell = Image.new("L", (width, height), PAPER)
    if char in (" ", "\u3000", "\xa0"):
        return cell
    draw = ImageDraw.Draw(cell)
    typeface = _typeface(char, font, double_byte)
    if typeface is None:
        draw.rectangle((1, 2, width - 2, height - 3), outline=INK)
        return cell
    for offset in (0, 1) if bold else (0,):
        draw.text((width / 2 + offset, height * 0.82), char, font=typeface, fill=INK, anchor="ms")
    return cell


def _typeface(char: str, font: int, double_byte: bool) -> ImageFont.FreeTypeFont | None:
    if not double_byte:
        mono = _font(MONO_FONTS, _TYPE_SIZES[font])
        if mono is not None and _has_glyph(mono, char):
            return mono
    cjk = _font(CJK_FONTS, 22 if double_byte else _TYPE_SIZES[font])
    if cjk is not None and _has_glyph(cjk, char):
        return cjk
    return None


@functools.lru_cache(maxsize=4096)
def _styled_cell(char: str, style: TextStyle, double_byte: bool) -> Image.Image:
    cell = _cell(char, style.font, double_byte, style.bold)
    if style.underline:
        cell = cell.copy()
        draw = ImageDraw.Draw(cell)
        for row in range(style.underline):
            draw.line((0, cell.height - 1 - row, cell.width, cell.height - 1 - row), fill=INK)
    if style.reverse:
        cell = ImageOps.invert(cell)
    if style.width > 1 or style.height > 1:
        cell = cell.resize((cell.width * style.width, cell.height * style.height), Image.Resampling.NEAREST)
    return cell


def _cells(span: Span) -> Iterable[Image.Image]:
    for char in span.text:
        yield _styled_cell(" " if char == "\t" else char, span.style, span.double_byte)


def _x(align: int, item_width: int, width_dots: int) -> int:
    if align == 1:
        return max(0, (width_dots - item_width) // 2)
    if align == 2:
        return max(0, width_dots - item_width)
    return 0


def _line(line: PrintedLine, width_dots: int) -> Image.Image:
    cells = [cell for span in line.spans for cell in _cells(span)]
    text_height = max((cell.height for cell in cells), default=0)
    height = max(line.spacing, text_height)
    strip = Image.new("L", (width_dots, height), PAPER)
    x = _x(line.align, sum(cell.width for cell in cells), width_dots)
    for cell in cells:
        if x + cell.width > width_dots:  # what would not fit is not printed (the renderer wraps lines itself)
            break
        strip.paste(cell, (x, text_height - cell.height))
        x += cell.width
    return strip


def _image(item: PrintedImage, width_dots: int) -> Image.Image:
    inverted = bytes(255 - b for b in item.data)  # in mode "1" a set bit is white
    picture = Image.frombytes("1", (item.width, item.height), inverted).convert("L")
    if item.scale_x > 1 or item.scale_y > 1:
        picture = picture.resize((item.width * item.scale_x, item.height * item.scale_y), Image.Resampling.NEAREST)
    return _placed(picture, item.align, width_dots)


def _placed(picture: Image.Image, align: int, width_dots: int) -> Image.Image:
    strip = Image.new("L", (width_dots, picture.height), PAPER)
    strip.paste(
        picture.crop((0, 0, min(picture.width, width_dots), picture.height)), (_x(align, picture.width, width_dots), 0)
    )
    return strip


def _qr(item: PrintedQr, width_dots: int) -> Image.Image:
    try:
        matrix = qr_matrix(item.data, item.ecc, border=0)
    except Exception:  # the printer prints nothing for data it cannot encode
        _LOGGER.debug("QR data of %d bytes cannot be encoded", len(item.data))
        return Image.new("L", (width_dots, 1), PAPER)
    size = len(matrix)
    picture = Image.new("L", (size, size), PAPER)
    picture.putdata([INK if dark else PAPER for row in matrix for dark in row])
    picture = picture.resize((size * item.module, size * item.module), Image.Resampling.NEAREST)
    return _placed(picture, item.align, width_dots)


def _barcode(item: PrintedBarcode, width_dots: int) -> Image.Image:
    drawn = bars(item.symbology, item.data)
    if drawn is None:  # a symbology not drawn here: say what it was
        label = f"[{item.symbology} {item.data.decode('latin-1')}]"
        return _line(PrintedLine((Span(label, TextStyle()),), item.align, 30), width_dots)
    pattern, text = drawn
    picture = Image.new("L", (len(pattern), 1), PAPER)
    picture.putdata([INK if bit == "1" else PAPER for bit in pattern])
    picture = picture.resize((len(pattern) * item.module, item.height), Image.Resampling.NEAREST)
    strip = _placed(picture, item.align, width_dots)
    if item.hri == 0:
        return strip
    hri = _line(PrintedLine((Span(text, TextStyle()),), item.align, 24), width_dots)
    parts = [hri, strip, hri] if item.hri == 3 else [hri, strip] if item.hri == 1 else [strip, hri]
    return _stack(parts, width_dots)


def _cut(item: PrintedCut, width_dots: int) -> Image.Image:
    strip = Image.new("L", (width_dots + 2 * MARGIN, 2 * CUT_GAP + 1), PAPER)
    draw = ImageDraw.Draw(strip)
    dash, gap = (12, 6) if not item.partial else (3, 6)
    for x in range(0, strip.width, dash + gap):
        draw.line((x, CUT_GAP, x + dash - 1, CUT_GAP), fill=INK)
    return strip


def _stack(parts: list[Image.Image], width: int) -> Image.Image:
    total = Image.new("L", (width, sum(part.height for part in parts)), PAPER)
    y = 0
    for part in parts:
        total.paste(part, (0, y))
        y += part.height
    return total


def _item(item: PaperItem, width_dots: int) -> Image.Image:
    if isinstance(item, PrintedLine):
        return _line(item, width_dots)
    if isinstance(item, PrintedImage):
        return _image(item, width_dots)
    if isinstance(item, PrintedQr):
        return _qr(item, width_dots)
    if isinstance(item, PrintedBarcode):
        return _barcode(item, width_dots)
    if isinstance(item, PrintedCut):
        return _cut(item, width_dots)
    assert isinstance(item, PrintedFeed)
    return Image.new("L", (width_dots, max(1, item.dots)), PAPER)


def render_paper(items: Iterable[PaperItem], width_dots: int, max_height: int = MAX_PAPER_DOTS) -> Image.Image:
    """The paper (newest ``max_height`` dots at most) as a grayscale image with white margins."""
    strips: list[Image.Image] = []
    height = 0
    for item in reversed(list(items)):
        strip = _item(item, width_dots)
        if height + strip.height > max_height:
            break
        strips.append(strip)
        height += strip.height
    paper = Image.new("L", (width_dots + 2 * MARGIN, height + 2 * MARGIN), PAPER)
    y = MARGIN
    for strip in reversed(strips):
        paper.paste(strip, (0 if strip.width > width_dots else MARGIN, y))
        y += strip.height
    return paper


_THRESHOLD = [INK] * 128 + [PAPER] * 128


def _png(image: Image.Image) -> bytes:
    """A 1-bit PNG: a thermal printer's dots are black or not (and the file is a fraction of the size)."""
    out = io.BytesIO()
    image.point(_THRESHOLD, "1").save(out, "PNG", compress_level=6)
    return out.getvalue()


def paper_png(interpreter: EscposInterpreter) -> bytes:
    """What the interpreter's printer has printed so far, as a PNG."""
    return _png(render_paper(interpreter.paper, interpreter.width_dots))


def preview_png(data: bytes, profile: PrinterProfile) -> bytes:
    """A PNG of what ``data`` prints on a fresh printer with ``profile`` (the preview: the same bytes, the same
    interpreter as the simulated printer)."""
    interpreter = EscposInterpreter.for_profile(profile)
    interpreter.feed(data)
    return paper_png(interpreter)
