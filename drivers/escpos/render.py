"""Receipt documents → ESC/POS bytes for one printer profile (sans-I/O, pure).

Every job starts with ``ESC @`` and then puts the printer in a known state explicitly (USA character set,
double-byte mode off, a code page), because ``ESC @`` returns a printer to its *configured* defaults, which
differ between units. Text is laid out here (word wrap to the profile's columns, rows padded to the width),
so every printed line ends with the LF we send and the device never wraps by itself. Text encoding is
:mod:`drivers.escpos.encoding`'s; barcodes and QR codes are drawn by the printer when its profile says it can,
and sent as raster images otherwise.

What does not change between receipts is cached: the profile's encoder tables, and a logo's raster (by the
image's content).
"""

from __future__ import annotations

import base64
import binascii
import functools
import io
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from drivers.errors import PosdError
from drivers.escpos import barcodes
from drivers.escpos.barcodes import SymbolError
from drivers.escpos.document import (
    BarcodeBlock,
    Block,
    CutBlock,
    Document,
    FeedBlock,
    ImageBlock,
    QrBlock,
    RowBlock,
    RuleBlock,
    TextBlock,
)
from drivers.escpos.encoding import TextEncoder, UnencodableText, encoder_for
from drivers.escpos.profile import PrinterProfile

if TYPE_CHECKING:
    from PIL import Image

# Pillow is imported where images are handled: a till that prints text and printer-drawn codes never loads it.

RenderErrorCode = Literal["invalid_document", "image_too_large", "unencodable_text", "not_supported"]

INIT = b"\x1b@"
CHARACTER_SET_USA = b"\x1bR\x00"
#: Rows per GS v 0 command: taller images go out in bands (printers limit one raster's height, e.g. 2303 on a TM-T88V).
RASTER_BAND_ROWS = 1024
#: Source images larger than this are refused before they are decoded (a PNG can inflate to gigabytes).
MAX_SOURCE_PIXELS = 40_000_000
COPY_TEXT = "*** COPY ***"
TAB_SIZE = 8
_ALIGN = {"left": 0, "center": 1, "right": 2}
_INVERT = bytes(255 - value for value in range(256))
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class RenderError(PosdError, ValueError):
    """A job that cannot be printed as given; ``code`` is the API's problem code."""

    code: RenderErrorCode

    def __init__(self, code: RenderErrorCode, detail: str) -> None:
        super().__init__(detail)
        self.code = code


# -- images --------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Raster:
    width_bytes: int
    height: int
    data: bytes  # 1 = black, rows of width_bytes

    def commands(self) -> bytes:
        """GS v 0 commands printing this raster, in bands of at most :data:`RASTER_BAND_ROWS` rows."""
        out = bytearray()
        row = self.width_bytes
        for top in range(0, self.height, RASTER_BAND_ROWS):
            rows = min(RASTER_BAND_ROWS, self.height - top)
            out += b"\x1dv0\x00" + bytes((row & 0xFF, row >> 8, rows & 0xFF, rows >> 8))
            out += self.data[top * row : (top + rows) * row]
        return bytes(out)


def _no_realtime_sequences(data: bytes) -> bytes:
    """Clear one dot wherever image bytes would read as DLE EOT / DLE ENQ / DLE DC4: a printer acts on those
    even inside image data (a status reply out of nowhere, or a drawer kick)."""
    for prefix in barcodes.REALTIME_PREFIXES:
        if prefix in data:
            data = data.replace(prefix, b"\x00" + prefix[1:])
    return data


def _to_raster(image: Image.Image) -> Raster:
    from PIL import Image

    """A grayscale image → a dithered 1-bit raster (width padded with white to whole bytes)."""
    width, height = image.size
    padded_width = (width + 7) // 8 * 8
    if padded_width != width:
        padded = Image.new("L", (padded_width, height), 255)
        padded.paste(image, (0, 0))
        image = padded
    mono = image.convert("1")  # Floyd–Steinberg dithering; in mode "1" a set bit is white
    data = mono.tobytes().translate(_INVERT)
    return Raster(padded_width // 8, height, _no_realtime_sequences(data))


def _decode_png(png: bytes) -> Image.Image:
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(png), formats=["PNG"])
            if image.width * image.height > MAX_SOURCE_PIXELS:
                raise RenderError(
                    "image_too_large", f"image of {image.width}×{image.height} pixels is over {MAX_SOURCE_PIXELS}"
                )
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise RenderError("image_too_large", f"image is too large: {err}") from err
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as err:
        if isinstance(err, RenderError):
            raise
        raise RenderError("invalid_document", f"not a readable PNG image: {err}") from err
    return image


def _grayscale(image: Image.Image) -> Image.Image:
    from PIL import Image

    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    return image.convert("L")


@functools.lru_cache(maxsize=64)
def raster_from_png(png: bytes, max_width: int, max_height: int) -> Raster:
    """A PNG scaled down (never up) to ``max_width`` dots and dithered; cached by content."""
    from PIL import Image

    image = _grayscale(_decode_png(png))
    if image.width > max_width:
        height = max(1, round(image.height * max_width / image.width))
        image = image.resize((max_width, height), Image.Resampling.LANCZOS)
    if image.height > max_height:
        raise RenderError(
            "image_too_large",
            f"image is {image.height} dots tall at the paper width; this printer takes at most {max_height}",
        )
    return _to_raster(image)


@functools.lru_cache(maxsize=64)
def _raster_from_base64(png_base64: str, max_width: int, max_height: int) -> Raster:
    # Keyed by the base64 text itself, so a logo sent with every receipt is not even base64-decoded again.
    try:
        png = base64.b64decode(png_base64, validate=True)
    except (binascii.Error, ValueError) as err:
        raise RenderError("invalid_document", f"image is not valid base64: {err}") from err
    return raster_from_png(png, max_width, max_height)


def _modules_raster(rows: list[str], module_x: int, module_y: int) -> Raster:
    """A raster from rows of '1'/'0' modules, each module scaled to module_x × module_y dots."""
    width = len(rows[0]) * module_x
    width_bytes = (width + 7) // 8
    out = bytearray()
    for row in rows:
        bits = "".join(bit * module_x for bit in row).ljust(width_bytes * 8, "0")
        line = int(bits, 2).to_bytes(width_bytes, "big")
        out += line * module_y
    return Raster(width_bytes, len(rows) * module_y, _no_realtime_sequences(bytes(out)))


# -- layout --------------------------------------------------------------------------------------------
def _tokens(text: str, encoder: TextEncoder) -> Iterator[str]:
    """Runs of spaces, runs of narrow non-space characters, and single wide (double-byte) characters."""
    token: list[str] = []
    kind = ""
    for char in text:
        if char == " ":
            char_kind = "space"
        elif not char.isascii() and encoder.char_width(char) == 2:
            char_kind = "wide"  # CJK text may break between any two characters
        else:
            char_kind = "word"
        if char_kind == kind and kind != "wide":
            token.append(char)
            continue
        if token:
            yield "".join(token)
        token, kind = [char], char_kind
    if token:
        yield "".join(token)


def wrap(text: str, columns: int, encoder: TextEncoder) -> list[str]:
    """Word-wrap ``text`` (already prepared) to ``columns``; spaces at a break are dropped, long words split."""
    if encoder.width(text) <= columns:
        return [text]
    lines: list[str] = []
    line, used = "", 0
    for word in _tokens(text, encoder):
        token, width = word, encoder.width(word)
        if token[0] == " ":
            if used + width <= columns:
                line, used = line + token, used + width
            else:  # break here; the spaces go
                lines.append(line.rstrip(" "))
                line, used = "", 0
            continue
        if used + width > columns and used > 0:
            lines.append(line.rstrip(" "))
            line, used = "", 0
        while width > columns:  # a word longer than a line: split it
            head, head_width = token[0], encoder.char_width(token[0])
            for char in token[1:]:
                char_width = encoder.char_width(char)
                if head_width + char_width > columns:
                    break
                head, head_width = head + char, head_width + char_width
            lines.append(head)
            token, width = token[len(head) :], width - head_width
        line, used = line + token, used + width
    if line:
        lines.append(line)
    return lines


def _expand_tabs(text: str) -> str:
    return text.expandtabs(TAB_SIZE) if "\t" in text else text


# -- the renderer --------------------------------------------------------------------------------------
class _Renderer:
    def __init__(self, profile: PrinterProfile, replacement: str, strict: bool) -> None:
        self.profile = profile
        self.encoder = encoder_for(profile)
        self.encoder.check_replacement(replacement)
        self.replacement = replacement
        self.strict = strict
        self.out = bytearray(INIT + CHARACTER_SET_USA)
        start, self.state = self.encoder.start()
        self.out += start
        # What ESC @ leaves the printer with; commands are sent only when a block needs a change.
        self.align = 0
        self.bold = False
        self.underline = False
        self.size = (1, 1)
        self.font = "a"

    # -- state ---------------------------------------------------------------------------------------
    def set_style(
        self,
        align: int = 0,
        bold: bool = False,
        underline: bool = False,
        size: tuple[int, int] = (1, 1),
        font: str = "a",
    ) -> None:
        out = self.out
        if align != self.align:
            out += b"\x1ba" + bytes((align,))
            self.align = align
        if bold != self.bold:
            out += b"\x1bE\x01" if bold else b"\x1bE\x00"
            self.bold = bold
        if underline != self.underline:
            out += b"\x1b-\x01" if underline else b"\x1b-\x00"
            if self.profile.double_byte is not None:
                out += b"\x1c-\x01" if underline else b"\x1c-\x00"  # FS -: underline of double-byte characters
            self.underline = underline
        if size != self.size:
            out += b"\x1d!" + bytes((((size[0] - 1) << 4) | (size[1] - 1),))
            self.size = size
        if font != self.font:
            out += b"\x1bM\x00" if font == "a" else b"\x1bM\x01"
            self.font = font

    def prepare(self, text: str) -> str:
        try:
            return self.encoder.prepare(_expand_tabs(text), replacement=self.replacement, strict=self.strict)
        except UnencodableText as err:
            raise RenderError("unencodable_text", str(err)) from err

    def line(self, text: str) -> None:
        data, self.state = self.encoder.encode(text, self.state)
        self.out += data
        self.out += b"\n"

    def columns(self, font: str = "a", width: int = 1) -> int:
        base = self.profile.columns_a if font == "a" else self.profile.columns_b
        return max(1, base // width)

    # -- blocks --------------------------------------------------------------------------------------
    def banner(self, text: str) -> None:
        self.set_style(align=1, bold=True, size=(2, 2))
        for line in wrap(self.prepare(text), self.columns(width=2), self.encoder):
            self.line(line)
        self.set_style()
        self.out += b"\n"

    def block(self, block: Block) -> None:
        if isinstance(block, TextBlock):
            self.text(block)
        elif isinstance(block, RowBlock):
            self.row(block)
        elif isinstance(block, RuleBlock):
            self.rule(block)
        elif isinstance(block, BarcodeBlock):
            self.barcode(block)
        elif isinstance(block, QrBlock):
            self.qr(block)
        elif isinstance(block, ImageBlock):
            self.image(block)
        elif isinstance(block, FeedBlock):
            self.out += b"\x1bd" + bytes((block.lines,))
        elif isinstance(block, CutBlock):
            self.cut(partial=block.partial)

    def text(self, block: TextBlock) -> None:
        self.set_style(_ALIGN[block.align], block.bold, block.underline, block.size, block.font)
        columns = self.columns(block.font, block.size[0])
        encoder = self.encoder
        for paragraph in _LINE_BREAK.split(block.text):
            for line in wrap(self.prepare(paragraph), columns, encoder):
                self.line(line)

    def row(self, block: RowBlock) -> None:
        self.set_style(bold=block.bold)
        columns = self.columns()
        encoder = self.encoder
        left, right = self.prepare(block.left), self.prepare(block.right)
        left_width, right_width = encoder.width(left), encoder.width(right)
        if left_width + right_width + 1 <= columns or (not left and right_width <= columns):
            self.line(left + " " * (columns - left_width - right_width) + right)
            return
        lines = wrap(left, columns, encoder) if left else []
        last_width = encoder.width(lines[-1]) if lines else 0
        right_lines = wrap(right, columns, encoder)
        if len(right_lines) == 1 and lines and last_width + 1 + right_width <= columns:
            lines[-1] += " " * (columns - last_width - right_width) + right
        else:
            lines += [" " * (columns - encoder.width(part)) + part for part in right_lines]
        for line in lines:
            self.line(line)

    def rule(self, block: RuleBlock) -> None:
        self.set_style()
        char = self.prepare(block.char)
        self.line(char * max(1, self.columns() // max(1, self.encoder.width(char))))

    def barcode(self, block: BarcodeBlock) -> None:
        try:
            payload = barcodes.printer_payload(block.symbology, block.data)
        except SymbolError as err:
            raise RenderError("invalid_document", str(err)) from err
        module = next(
            (m for m in (3, 2) if barcodes.width_dots(block.symbology, payload, m) <= self.profile.width_dots), None
        )
        if module is None:
            raise RenderError("invalid_document", f"{block.symbology} {block.data!r} is wider than the paper")
        self.set_style(align=_ALIGN[block.align])
        if self.profile.native_barcodes:
            self.out += b"\x1dh" + bytes((block.height,)) + b"\x1dw" + bytes((module,))
            self.out += b"\x1dH\x02\x1df\x00" if block.hri else b"\x1dH\x00"
            self.out += b"\x1dk" + bytes((barcodes.FUNCTION_B[block.symbology], len(payload))) + payload
            return
        drawn = barcodes.bars(block.symbology, payload)
        if drawn is None:
            raise RenderError("invalid_document", f"{block.symbology} {block.data!r} cannot be drawn")
        pattern, text = drawn
        if len(pattern) * module > self.profile.width_dots:
            module = 2 if len(pattern) * 2 <= self.profile.width_dots else 1
        self.out += _modules_raster([pattern], module, block.height).commands()
        if block.hri:
            self.line(text)

    def qr(self, block: QrBlock) -> None:
        if any(ord(char) < 0x20 and char not in "\t\n\r\x1d" for char in block.data):
            raise RenderError("invalid_document", "QR data holds control characters other than tab, CR, LF and GS")
        data = block.data.encode("utf-8")
        try:
            version = barcodes.qr_version(len(data), block.ecc)
        except SymbolError as err:
            raise RenderError("invalid_document", str(err)) from err
        modules = 17 + 4 * version + 8  # symbol plus its quiet zone of four modules each side
        module = min(block.size, self.profile.width_dots // modules)
        if module < 1:
            raise RenderError("invalid_document", f"a QR code of {len(data)} bytes is wider than the paper")
        self.set_style(align=_ALIGN[block.align])
        if self.profile.native_qr:
            store = len(data) + 3
            self.out += b"\x1d(k\x04\x001A2\x00"  # model 2
            self.out += b"\x1d(k\x03\x001C" + bytes((module,))
            self.out += b"\x1d(k\x03\x001E" + bytes((barcodes.QR_ECC_PARAMETER[block.ecc],))
            self.out += b"\x1d(k" + bytes((store & 0xFF, store >> 8)) + b"1P0" + data
            self.out += b"\x1d(k\x03\x001Q0"
            return
        matrix = barcodes.qr_matrix(data, block.ecc)
        rows = ["".join("1" if dark else "0" for dark in row) for row in matrix]
        module = min(module, self.profile.width_dots // len(rows[0]))
        self.out += _modules_raster(rows, module, module).commands()

    def image(self, block: ImageBlock) -> None:
        if not self.profile.raster:
            raise RenderError("not_supported", f"profile {self.profile.name!r} cannot print raster images")
        raster = _raster_from_base64(block.png, self.profile.width_dots, self.profile.max_image_height_dots)
        self.set_style(align=_ALIGN[block.align])
        self.out += raster.commands()

    def cut(self, partial: bool) -> None:
        profile = self.profile
        if profile.partial_cut and (partial or not profile.full_cut):
            self.out += b"\x1dVB\x00"  # feed to the cutter, partial cut
        elif profile.full_cut:
            self.out += b"\x1dVA\x00"  # feed to the cutter, full cut
        else:
            self.out += b"\x1bd\x04"  # no cutter: feed the receipt out to be torn off


def render_document(
    document: Document,
    profile: PrinterProfile,
    *,
    copy: bool = False,
    replacement: str = "?",
    strict: bool = False,
    copy_text: str = COPY_TEXT,
) -> bytes:
    """ESC/POS bytes printing ``document`` on a printer with ``profile``.

    ``copy`` prints ``copy_text`` large at the top (a reprint). Characters the printer cannot print become
    ``replacement``, or raise RenderError("unencodable_text") when ``strict``.
    """
    try:
        renderer = _Renderer(profile, replacement, strict)
    except ValueError as err:
        raise RenderError("invalid_document", str(err)) from err
    if copy:
        renderer.banner(copy_text)
    for index, block in enumerate(document.blocks):
        try:
            renderer.block(block)
        except RenderError as err:
            raise RenderError(err.code, f"blocks[{index}] ({block.type}): {err}") from err
    return bytes(renderer.out)


def copy_banner(profile: PrinterProfile, copy_text: str = COPY_TEXT) -> bytes:
    """``ESC @``, the known text state and the COPY banner: what a reprinted image or raw job starts with."""
    renderer = _Renderer(profile, "?", False)
    renderer.banner(copy_text)
    return bytes(renderer.out)


def render_image(png: bytes, profile: PrinterProfile, *, copy: bool = False, cut: bool = True) -> bytes:
    """A whole receipt given as a PNG: scaled down to the paper width if wider, centred, then cut."""
    if not profile.raster:
        raise RenderError("not_supported", f"profile {profile.name!r} cannot print raster images")
    raster = raster_from_png(png, profile.width_dots, profile.max_image_height_dots)
    renderer = _Renderer(profile, "?", False)
    if copy:
        renderer.banner(COPY_TEXT)
    renderer.set_style(align=1)
    renderer.out += raster.commands()
    renderer.set_style()
    if cut:
        renderer.cut(partial=False)
    return bytes(renderer.out)


def render_raw(data: bytes, *, copy: bool = False, profile: PrinterProfile | None = None) -> bytes:
    """Raw ESC/POS from the client, sent as it is, after ``ESC @`` (unless it starts with one) — and after the COPY
    banner for a reprint (which needs the profile)."""
    head = b"" if data.startswith(INIT) else INIT
    if copy:
        if profile is None:
            raise ValueError("a reprinted raw job needs the printer profile for its banner")
        return copy_banner(profile) + head + data
    return head + data
