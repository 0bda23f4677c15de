"""Device-side ESC/POS interpreter: what a printer makes of a byte stream (sans-I/O).

Used by the simulator and by the preview. It keeps the printed text lines (decoded through the selected
code page, and GB18030 — two- and four-byte sequences — in double-byte mode), and the paper itself: styled
text lines, raster images (GS v 0, GS ( L / GS 8 L, ESC *), QR codes (GS ( k), barcodes (GS k), feeds and
cuts, which :mod:`drivers.escpos.paper` draws. Commands that need an answer or act on hardware (status
requests, drawer kicks) come back as actions. Feeding the same bytes whole, split or byte by byte gives the
same result.
"""

from __future__ import annotations

import codecs
import re
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

from drivers.escpos.encoding import decoding_table

if TYPE_CHECKING:
    from drivers.escpos.profile import PrinterProfile

#: ESC t n (Epson numbering) → Python codec.
CODE_PAGES: dict[int, str] = {
    0: "cp437",
    2: "cp850",
    3: "cp860",
    4: "cp863",
    5: "cp865",
    16: "cp1252",
    17: "cp866",
    18: "cp852",
    19: "cp858",
}

#: ESC R n international character sets: the ASCII positions they change (Epson), for the sets modelled.
_INTERNATIONAL_POSITIONS = "#$@[\\]^`{|}~"
INTERNATIONAL_SETS: dict[int, str] = {
    1: "#$à°ç§^`éùè¨",  # France
    2: "#$§ÄÖÜ^`äöüß",  # Germany
    3: "£$@[\\]^`{|}~",  # U.K.
    7: "₧$@¡Ñ¿^`¨ñ}~",  # Spain I
}

# Fixed total lengths of commands, by (prefix, function byte).
_FIXED: dict[tuple[int, int], int] = {
    **{(0x1B, ord(c)): 3 for c in "!-3EGJMRTVadrtU{ ="},
    (0x1B, ord("c")): 4,
    **{(0x1B, ord(c)): 2 for c in "@2<imS"},
    (0x1B, ord("p")): 5,
    (0x1B, ord("$")): 4,
    (0x1B, ord("\\")): 4,
    **{(0x1D, ord(c)): 3 for c in "!BHIbfhwar/"},
    (0x1D, ord("P")): 4,
    (0x1D, ord("L")): 4,
    (0x1D, ord("W")): 4,
    (0x1D, ord("$")): 4,
    **{(0x1C, ord(c)): 2 for c in "&."},
    **{(0x1C, ord(c)): 3 for c in "C!-"},
    (0x1C, ord("p")): 4,
    (0x1C, ord("S")): 4,
    (0x10, 0x04): 3,
    (0x10, 0x05): 3,
}

#: GS k m: function A (m 0–6, NUL-terminated) and function B (m 65–79, length-prefixed) symbologies.
BARCODE_SYMBOLOGIES: dict[int, str] = {
    0: "UPCA",
    1: "UPCE",
    2: "EAN13",
    3: "EAN8",
    4: "CODE39",
    5: "ITF",
    6: "CODABAR",
    65: "UPCA",
    66: "UPCE",
    67: "EAN13",
    68: "EAN8",
    69: "CODE39",
    70: "ITF",
    71: "CODABAR",
    72: "CODE93",
    73: "CODE128",
    74: "GS1_128",
}

QR_ECC_LEVELS: dict[int, Literal["L", "M", "Q", "H"]] = {48: "L", 49: "M", 50: "Q", 51: "H"}

#: ESC p m: m → connector pin.
_KICK_PINS = {0: 2, 0x30: 2, 1: 5, 0x31: 5}

DEFAULT_LINE_SPACING = 30  # dots; ESC 2 (1/6 inch at 180 dpi, the Epson default)

_SINGLE_BYTE_TEXT = re.compile(rb"[\x20-\xff]+")
_DOUBLE_BYTE_MODE_TEXT = re.compile(rb"[\x20-\x7f]+")


@dataclass(frozen=True, slots=True)
class StatusRequest:
    n: int


@dataclass(frozen=True, slots=True)
class DrawerPulse:
    pin: int
    on_ms: int


@dataclass(frozen=True, slots=True)
class AutoStatusSet:
    """GS a n: Automatic Status Back for these items from now on (0: off); the printer reports at once."""

    items: int


Action = StatusRequest | DrawerPulse | AutoStatusSet


# -- the paper -----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class TextStyle:
    bold: bool = False
    underline: int = 0
    reverse: bool = False
    width: int = 1
    height: int = 1
    font: int = 0  # 0 = font A, 1 = font B


PLAIN = TextStyle()


@dataclass(frozen=True, slots=True)
class Span:
    text: str
    style: TextStyle
    double_byte: bool = False  # drawn with the double-byte (full-width) font


@dataclass(frozen=True, slots=True)
class PrintedLine:
    spans: tuple[Span, ...]
    align: int  # 0 left, 1 center, 2 right
    spacing: int  # line spacing in dots

    @property
    def text(self) -> str:
        return "".join(span.text for span in self.spans)


@dataclass(frozen=True, slots=True)
class PrintedImage:
    width: int  # dots
    height: int  # dots
    data: bytes  # rows of ceil(width / 8) bytes, most significant bit leftmost, 1 = black
    align: int
    scale_x: int = 1
    scale_y: int = 1


@dataclass(frozen=True, slots=True)
class PrintedQr:
    data: bytes
    module: int
    ecc: Literal["L", "M", "Q", "H"]
    align: int


@dataclass(frozen=True, slots=True)
class PrintedBarcode:
    symbology: str
    data: bytes
    height: int
    module: int
    hri: int  # 0 none, 1 above, 2 below, 3 both
    align: int


@dataclass(frozen=True, slots=True)
class PrintedCut:
    partial: bool


@dataclass(frozen=True, slots=True)
class PrintedFeed:
    dots: int


PaperItem = PrintedLine | PrintedImage | PrintedQr | PrintedBarcode | PrintedCut | PrintedFeed


def _paper() -> deque[PaperItem]:
    return deque(maxlen=20000)  # a long-running simulator keeps the most recent paper only


@dataclass
class EscposInterpreter:
    lines: list[str] = field(default_factory=list)
    cuts: int = 0
    images: int = 0
    barcodes: int = 0
    code_page: str = "cp437"
    double_byte: bool = False
    #: This printer's ESC t table, its double-byte encoding and whether ESC @ leaves it in double-byte mode.
    code_pages: Mapping[int, str] = field(default_factory=lambda: CODE_PAGES)
    double_byte_codec: str = "gb18030"
    double_byte_default: bool = False
    width_dots: int = 576
    paper: deque[PaperItem] = field(default_factory=_paper)
    style: TextStyle = PLAIN
    kanji_underline: int = 0
    align: int = 0
    line_spacing: int = DEFAULT_LINE_SPACING
    international: int = 0
    barcode_height: int = 162
    barcode_module: int = 3
    barcode_hri: int = 0
    qr_module: int = 3
    qr_ecc: Literal["L", "M", "Q", "H"] = "L"
    qr_data: bytes = b""
    graphics: PrintedImage | None = None
    asb_items: int = 0
    """The GS a setting; ESC @ switches Automatic Status Back off again (as Bixolon documents)."""
    draw: bool = True
    """False: keep the counts, text lines and actions only, no paper. Counting a job's lines or finding its
    drawer kicks needs no pictures, and building an ESC * image dot by dot is most of what a logo costs."""
    max_lines: int = 20_000
    """``lines`` keeps the latest ``max_lines`` to ``2 × max_lines`` lines: a simulated printer prints all day,
    and 4 MB of ESC d 255 would be 350 million blank lines."""
    text_lines: int = 0
    """Lines with something on them printed so far (UPOS counts blank ones as line feeds instead)."""
    _line: list[str] = field(default_factory=list)
    # Runs of one style, each a list of pieces joined at the line's end: adding to a string one piece at a
    # time is quadratic on a line of many short runs (1 MB of "a\0" took 5 s).
    _spans: list[tuple[TextStyle, bool, list[str]]] = field(default_factory=list)
    _pending: bytearray = field(default_factory=bytearray)

    @classmethod
    def for_profile(cls, profile: PrinterProfile) -> EscposInterpreter:
        """The interpreter of a printer with this profile (its ESC t numbering, double-byte mode and width)."""
        double_byte = profile.double_byte or "gb18030"
        return cls(
            code_page=profile.code_page_numbers.get(0, "cp437"),
            double_byte=profile.double_byte_default,
            code_pages=dict(profile.code_page_numbers),
            double_byte_codec=double_byte,
            double_byte_default=profile.double_byte_default,
            width_dots=profile.width_dots,
        )

    def __post_init__(self) -> None:
        self._decode_table = decoding_table(self.code_page)

    def feed(self, data: bytes) -> list[Action]:
        actions: list[Action] = []
        buf = self._pending
        buf += data
        pos = 0
        end = len(buf)
        while pos < end:
            consumed = self._step(buf, pos, actions)
            if consumed == 0:
                break
            pos += consumed
        del buf[:pos]
        return actions

    @property
    def current_line(self) -> str:
        return "".join(self._line)

    # -- text -------------------------------------------------------------------------------------------
    def _text(self, text: str, double_byte: bool = False) -> None:
        self._line.append(text)
        if not self.draw:
            return
        style = self.style
        if double_byte and self.kanji_underline != style.underline:
            style = replace(style, underline=self.kanji_underline)
        spans = self._spans
        if spans and spans[-1][0] == style and spans[-1][1] == double_byte:
            spans[-1][2].append(text)
        else:
            spans.append((style, double_byte, [text]))

    def _newline(self, count: int = 1, spacing: int | None = None) -> None:
        line = "".join(self._line)
        lines = self.lines
        lines.append(line)
        if line.strip():
            self.text_lines += 1
        if self.draw:
            spans = tuple(Span("".join(pieces), style, double_byte) for style, double_byte, pieces in self._spans)
            self.paper.append(PrintedLine(spans, self.align, self.line_spacing if spacing is None else spacing))
        self._line.clear()
        self._spans.clear()
        if count > 1:
            lines.extend([""] * (count - 1))
            if self.draw:
                self.paper.extend([PrintedLine((), self.align, self.line_spacing)] * (count - 1))
        if len(lines) > 2 * self.max_lines:
            del lines[: -self.max_lines]

    def _put(self, item: PaperItem) -> None:
        if self.draw:
            self.paper.append(item)

    def _set_code_page(self, codec: str) -> None:
        self.code_page = codec
        self._decode_table = decoding_table(codec)

    def _reset(self) -> None:
        self._set_code_page(self.code_pages.get(0, "cp437"))
        self.double_byte = self.double_byte_default
        self.style = PLAIN
        self.kanji_underline = 0
        self.align = 0
        self.line_spacing = DEFAULT_LINE_SPACING
        self.international = 0
        self.barcode_height, self.barcode_module, self.barcode_hri = 162, 3, 0
        self.asb_items = 0

    def _decode_run(self, run: bytes) -> str:
        text: str = codecs.charmap_decode(run, "replace", self._decode_table)[0]
        if self.international in INTERNATIONAL_SETS and any(c in text for c in _INTERNATIONAL_POSITIONS):
            text = text.translate(str.maketrans(_INTERNATIONAL_POSITIONS, INTERNATIONAL_SETS[self.international]))
        return text

    def _step(self, buf: bytearray, pos: int, actions: list[Action]) -> int:  # noqa: PLR0911 - one branch per byte class
        first = buf[pos]
        if first == 0x0A:
            self._newline()
            return 1
        if first in (0x0D, 0x00):
            return 1
        if first == 0x0C:  # FF in page mode; treat as a line end
            self._newline()
            return 1
        if first in (0x1B, 0x1D, 0x1C, 0x10):
            return self._command(buf, pos, actions)
        if first == 0x09:
            self._text("\t")
            return 1
        if first < 0x20:
            return 1
        if not self.double_byte:
            match = _SINGLE_BYTE_TEXT.match(buf, pos)
            assert match is not None
            self._text(self._decode_run(match.group()))
            return match.end() - pos
        if first < 0x80:
            match = _DOUBLE_BYTE_MODE_TEXT.match(buf, pos)
            assert match is not None
            self._text(self._decode_run(match.group()))
            return match.end() - pos
        return self._double_byte_char(buf, pos)

    def _double_byte_char(self, buf: bytearray, pos: int) -> int:  # noqa: PLR0911 - one return per byte pattern
        """One GB18030 character: 2 bytes (lead 81–FE, trail 40–7E/80–FE) or 4 (81–FE 30–39 81–FE 30–39)."""
        available = len(buf) - pos
        first = buf[pos]
        if first in (0x80, 0xFF):
            self._text("\ufffd", double_byte=True)
            return 1
        if available < 2:
            return 0
        second = buf[pos + 1]
        if 0x30 <= second <= 0x39:
            if available < 4:
                return 0
            third, fourth = buf[pos + 2], buf[pos + 3]
            if 0x81 <= third <= 0xFE and 0x30 <= fourth <= 0x39:
                self._text(bytes(buf[pos : pos + 4]).decode(self.double_byte_codec, errors="replace"), True)
                return 4
            self._text("\ufffd", double_byte=True)
            return 1
        if 0x40 <= second <= 0xFE and second != 0x7F:
            self._text(bytes(buf[pos : pos + 2]).decode(self.double_byte_codec, errors="replace"), True)
            return 2
        self._text("\ufffd", double_byte=True)  # a lead byte without a valid trail byte
        return 1

    # -- commands ---------------------------------------------------------------------------------------
    def _command(self, buf: bytearray, pos: int, actions: list[Action]) -> int:  # noqa: PLR0911, PLR0912
        available = len(buf) - pos
        if available < 2:
            return 0
        prefix, fn = buf[pos], buf[pos + 1]
        if prefix == 0x10 and fn == 0x14:  # DLE DC4 fn m t: real-time pulse
            if available < 5:
                return 0
            # fn 1, m 0 or 1 (pin 2 or 5): a printer ignores any other m.
            if buf[pos + 2] == 1 and buf[pos + 3] in (0, 1):
                actions.append(DrawerPulse(pin=2 if buf[pos + 3] == 0 else 5, on_ms=buf[pos + 4] * 100))
            return 5
        if prefix == 0x1D and fn == ord("V"):
            size = 4 if available >= 3 and buf[pos + 2] in (65, 66, 97, 98, 103, 104) else 3  # GS V m n / GS V m
            if available < size:
                return 0
            self.cuts += 1
            self._put(PrintedCut(partial=buf[pos + 2] in (1, 49, 66, 98, 104)))
            return size
        if prefix == 0x1D and fn == ord("k"):
            return self._barcode(buf, pos)
        if prefix == 0x1D and fn == ord("v"):  # GS v 0 m xL xH yL yH d…
            if available < 8:
                return 0
            width_bytes = buf[pos + 4] + 256 * buf[pos + 5]
            height = buf[pos + 6] + 256 * buf[pos + 7]
            total = 8 + width_bytes * height
            if available < total:
                return 0
            self.images += 1
            mode = buf[pos + 3] & 0x03  # 0 normal, 1 double width, 2 double height, 3 quadruple (also 48–51)
            self._put(
                PrintedImage(
                    width_bytes * 8,
                    height,
                    bytes(buf[pos + 8 : pos + total]),
                    self.align,
                    scale_x=2 if mode & 1 else 1,
                    scale_y=2 if mode & 2 else 1,
                )
            )
            return total
        if prefix == 0x1D and fn in (ord("("), ord("8")):
            return self._extended(buf, pos)
        if prefix == 0x1B and fn == ord("*"):  # bit image column mode
            return self._bit_image(buf, pos)
        if prefix == 0x1B and fn == ord("D"):
            end = buf.find(0, pos + 2)
            return 0 if end < 0 else end + 1 - pos
        length = _FIXED.get((prefix, fn))
        if length is None:
            return 2  # unknown command: skip prefix and function byte
        if available < length:
            return 0
        self._apply(prefix, fn, bytes(buf[pos : pos + length]), actions)
        return length

    def _apply(self, prefix: int, fn: int, cmd: bytes, actions: list[Action]) -> None:  # noqa: PLR0912
        arg = cmd[2] if len(cmd) > 2 else 0
        if prefix == 0x10:
            if fn == 0x04:
                actions.append(StatusRequest(arg))
        elif prefix == 0x1B:
            self._apply_esc(fn, arg, cmd, actions)
        elif prefix == 0x1D:
            if fn == ord("!"):
                self.style = replace(self.style, width=(arg >> 4 & 7) + 1, height=(arg & 7) + 1)
            elif fn == ord("B"):
                self.style = replace(self.style, reverse=bool(arg & 1))
            elif fn == ord("h"):
                self.barcode_height = max(1, arg)
            elif fn == ord("w"):
                self.barcode_module = arg if 1 <= arg <= 6 else self.barcode_module
            elif fn == ord("H"):
                self.barcode_hri = arg & 0x03
            elif fn == ord("a"):
                self.asb_items = arg & 0x0F
                actions.append(AutoStatusSet(self.asb_items))
        elif prefix == 0x1C:
            if fn == ord("&"):
                self.double_byte = True
            elif fn == ord("."):
                self.double_byte = False
            elif fn == ord("-"):
                self.kanji_underline = _underline(arg)

    def _apply_esc(self, fn: int, arg: int, cmd: bytes, actions: list[Action]) -> None:  # noqa: PLR0912
        if fn == ord("@"):
            self._reset()
        elif fn == ord("t"):
            self._set_code_page(self.code_pages.get(arg, "cp437"))
        elif fn == ord("p") and arg in _KICK_PINS:  # a printer ignores ESC p with any other m
            actions.append(DrawerPulse(pin=_KICK_PINS[arg], on_ms=cmd[3] * 2))
        elif fn == ord("d"):
            self._newline(max(1, arg))
        elif fn == ord("J"):  # print the buffer and feed n dots
            if self._line:
                self._newline(spacing=arg)
            else:
                self._put(PrintedFeed(arg))
        elif fn == ord("!"):
            self.style = replace(
                self.style,
                font=arg & 1,
                bold=bool(arg & 0x08),
                height=2 if arg & 0x10 else 1,
                width=2 if arg & 0x20 else 1,
                underline=1 if arg & 0x80 else 0,
            )
        elif fn in (ord("E"), ord("G")):
            self.style = replace(self.style, bold=bool(arg & 1))
        elif fn == ord("-"):
            self.style = replace(self.style, underline=_underline(arg))
        elif fn == ord("M"):
            self.style = replace(self.style, font=0 if arg in (0, 48) else 1)
        elif fn == ord("a"):
            self.align = {0: 0, 48: 0, 1: 1, 49: 1, 2: 2, 50: 2}.get(arg, self.align)
        elif fn == ord("2"):
            self.line_spacing = DEFAULT_LINE_SPACING
        elif fn == ord("3"):
            self.line_spacing = arg
        elif fn == ord("R"):
            self.international = arg

    def _barcode(self, buf: bytearray, pos: int) -> int:
        available = len(buf) - pos
        if available < 3:
            return 0
        m = buf[pos + 2]
        if m <= 6:
            end = buf.find(0, pos + 3)
            if end < 0:
                return 0
            data, total = bytes(buf[pos + 3 : end]), end + 1 - pos
        else:
            if available < 4:
                return 0
            total = 4 + buf[pos + 3]
            if available < total:
                return 0
            data = bytes(buf[pos + 4 : pos + total])
        self.barcodes += 1
        symbology = BARCODE_SYMBOLOGIES.get(m)
        if symbology is not None:
            self._put(
                PrintedBarcode(symbology, data, self.barcode_height, self.barcode_module, self.barcode_hri, self.align)
            )
        return total

    def _extended(self, buf: bytearray, pos: int) -> int:
        available = len(buf) - pos
        if buf[pos + 1] == ord("8"):  # GS 8 L p1 p2 p3 p4 …
            if available < 7:
                return 0
            body = 7
            total = 7 + int.from_bytes(buf[pos + 3 : pos + 7], "little")
        else:  # GS ( x pL pH …
            if available < 5:
                return 0
            body = 5
            total = 5 + buf[pos + 3] + 256 * buf[pos + 4]
        if available < total:
            return 0
        kind = buf[pos + 2]
        params = bytes(buf[pos + body : pos + total])
        if kind == ord("k") and len(params) >= 2:
            self._symbol(params)
        elif kind == ord("L") and len(params) >= 2:
            self._graphics(params)
        return total

    def _symbol(self, params: bytes) -> None:
        """GS ( k cn fn …: cn 49 is QR (model, module size, error correction, store, print)."""
        cn, fn = params[0], params[1]
        if fn == 0x51:  # print the stored symbol (any cn)
            self.images += 1
            if cn == 49 and self.qr_data:
                self._put(PrintedQr(self.qr_data, self.qr_module, self.qr_ecc, self.align))
            return
        if cn != 49 or len(params) < 3:
            return
        if fn == 0x43:
            self.qr_module = params[2] if 1 <= params[2] <= 16 else self.qr_module
        elif fn == 0x45:
            self.qr_ecc = QR_ECC_LEVELS.get(params[2], self.qr_ecc)
        elif fn == 0x50:
            self.qr_data = params[3:]

    def _graphics(self, params: bytes) -> None:
        """GS ( L / GS 8 L m fn …: fn 112 stores a raster in the graphics buffer, fn 50 (or 2) prints it."""
        fn = params[1]
        if fn in (0x32, 0x02):
            self.images += 1
            if self.graphics is not None:
                self._put(replace(self.graphics, align=self.align))
        elif fn == 0x70 and len(params) >= 10:
            scale_x = 2 if params[3] == 2 else 1
            scale_y = 2 if params[4] == 2 else 1
            width = params[6] + 256 * params[7]
            height = params[8] + 256 * params[9]
            data = params[10 : 10 + (width + 7) // 8 * height]
            if params[5] in (49, 50, 51, 52) and len(data) == (width + 7) // 8 * height:
                self.graphics = PrintedImage(width, height, data, self.align, scale_x, scale_y)

    def _bit_image(self, buf: bytearray, pos: int) -> int:
        """ESC * m nL nH d…: columns of 8 (m 0, 1) or 24 (m 32, 33) dots, most significant bit on top."""
        available = len(buf) - pos
        if available < 5:
            return 0
        mode = buf[pos + 2]
        columns = buf[pos + 3] + 256 * buf[pos + 4]
        rows_bytes = 3 if mode in (32, 33) else 1
        total = 5 + columns * rows_bytes
        if available < total:
            return 0
        self.images += 1
        if self.draw and columns:
            double_width = mode in (0, 32)  # single horizontal density: each column is two dots wide
            raster = _columns_to_raster(bytes(buf[pos + 5 : pos + total]), columns, rows_bytes)
            self._put(PrintedImage(columns, rows_bytes * 8, raster, self.align, 2 if double_width else 1, 1))
        return total


def _columns_to_raster(column_data: bytes, columns: int, rows_bytes: int) -> bytes:
    """ESC * column bytes (each column ``rows_bytes`` bytes top to bottom, most significant bit on top) as
    raster rows (most significant bit on the left): the transpose of a 1-bit image one column per row."""
    from PIL import Image  # loads only where a picture is drawn (the simulator, the preview)

    by_column = Image.frombytes("1", (rows_bytes * 8, columns), column_data)
    return by_column.transpose(Image.Transpose.TRANSPOSE).tobytes()


def _underline(arg: int) -> int:
    return {0: 0, 48: 0, 1: 1, 49: 1, 2: 2, 50: 2}.get(arg, 0)


@dataclass(frozen=True, slots=True)
class PrintedCounts:
    """What a job puts on paper, by the model's parse: for the printer's UPOS statistics."""

    lines: int
    cuts: int
    barcodes: int


def count_printed(data: bytes) -> PrintedCounts:
    """Lines with text, cuts and barcodes that ``data`` prints (a whole job; about 0.25 ms for an 8 kB receipt)."""
    interpreter = EscposInterpreter(draw=False)
    interpreter.feed(data)
    # Lines with something on them (UPOS counts blank ones as line feeds); an unterminated last line prints too.
    lines = interpreter.text_lines + bool(interpreter.current_line.strip())
    return PrintedCounts(lines=lines, cuts=interpreter.cuts, barcodes=interpreter.barcodes)
