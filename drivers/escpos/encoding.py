"""Text → ESC/POS bytes for one printer profile (sans-I/O, pure).

A printer has a handful of single-byte code pages (selected with ``ESC t n``) and, on Chinese models, a
double-byte mode (``FS &`` on, ``FS .`` off) whose bytes ≥ 0x80 are GB18030/GBK. Each character goes out in a
state (code page, double-byte on/off) in which the printer will print exactly that character:

* a character in one of the printer's code pages goes out in one of them, preferring the current page;
  switching pages picks the page that covers the longest stretch of the text that follows;
* a character in no code page goes out in double-byte mode if the printer has one and its font has it
  (the GBK two-byte range, plus CJK Extension A in GB18030's four-byte form);
* anything else is replaced by a visible replacement (``?`` by default) — or, under a strict policy, refused.

Code-page membership is worked out from *decoding* each byte through the page, so a codec whose encoder
accepts characters the printer would print differently (CP864's ``%``) can never produce a misread byte.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass

from drivers.escpos.profile import PrinterProfile, preferred_code_pages

ESC_T = b"\x1bt"
DOUBLE_BYTE_ON = b"\x1c&"
DOUBLE_BYTE_OFF = b"\x1c."
#: How far ahead a page switch looks to choose the page covering the most text (bounds the work per switch).
LOOKAHEAD = 64
#: GB18030 encodes CJK Extension A in four bytes; GB18030-2000 printer fonts are required to have it.
CJK_EXTENSION_A = range(0x3400, 0x4DC0)

PRINTABLE_ASCII = "".join(chr(code) for code in range(0x20, 0x7F))


@functools.cache
def single_byte_table(codec: str) -> dict[str, int]:
    """Printable character → byte for a code page, built by decoding every byte the way the printer does."""
    table: dict[str, int] = {}
    for byte in range(0x20, 0x100):
        if byte == 0x7F:
            continue
        try:
            char = bytes([byte]).decode(codec)
        except UnicodeDecodeError:
            continue
        if len(char) == 1 and unicodedata.category(char)[0] != "C":
            table.setdefault(char, byte)
    return table


@functools.cache
def decoding_table(codec: str) -> str:
    """256 characters: what the printer prints for each byte in this page (U+FFFD where it has no character).

    For :func:`codecs.charmap_decode`; single bytes are decoded one by one, as a printer does, even for a
    codec such as CP932 whose Python decoder would pair bytes.
    """
    return "".join(bytes([byte]).decode(codec, errors="replace")[:1] or "\ufffd" for byte in range(256))


def double_byte_encoding(codec: str, char: str) -> bytes | None:
    """The bytes of ``char`` in the printer's double-byte mode, or None if its font does not have it."""
    if unicodedata.category(char)[0] == "C":
        return None
    try:
        data = char.encode(codec)
    except UnicodeEncodeError:
        return None
    if len(data) == 2 and data[0] >= 0x81:
        return data
    if len(data) == 4 and codec == "gb18030" and ord(char) in CJK_EXTENSION_A:
        return data
    return None


class UnencodableText(ValueError):
    """A character the printer cannot print, under a strict policy."""

    def __init__(self, char: str, index: int, profile: str) -> None:
        name = unicodedata.name(char, "unnamed")
        super().__init__(f"U+{ord(char):04X} {name} ({char!r}) at {index} cannot be printed on profile {profile!r}")
        self.char = char
        self.index = index


@dataclass(frozen=True, slots=True)
class EncoderState:
    """What the printer is set to: its code page and whether double-byte mode is on."""

    code_page: str | None
    double_byte: bool


_SINGLE = 1
_DOUBLE = 2


class TextEncoder:
    """Encodes text for one profile; build it once per profile with :func:`encoder_for`."""

    def __init__(self, profile: PrinterProfile) -> None:
        self.profile = profile
        self.pages = preferred_code_pages(profile)
        self.tables = {page: single_byte_table(page) for page in self.pages}
        self.numbers = {page: profile.code_pages[page] for page in self.pages}
        self.primary: str | None = self.pages[0] if self.pages else None
        # Pages in which printable ASCII is printable ASCII (all but oddities such as CP864): the fast path.
        self.ascii_pages = frozenset(
            page for page in self.pages if all(self.tables[page].get(c) == ord(c) for c in PRINTABLE_ASCII)
        )
        self.double_byte = profile.double_byte
        # Character → its column width (1 single-byte, 2 double-byte) or 0 if the printer has no glyph for it.
        self._kind: dict[str, int] = {}

    # -- what can be printed -------------------------------------------------------------------------
    def kind(self, char: str) -> int:
        kind = self._kind.get(char)
        if kind is None:
            if any(char in self.tables[page] for page in self.pages):
                kind = _SINGLE
            elif self.double_byte is not None and double_byte_encoding(self.double_byte, char) is not None:
                kind = _DOUBLE
            else:
                kind = 0
            self._kind[char] = kind
        return kind

    def _ascii_printable(self, text: str) -> bool:
        return text.isascii() and text.isprintable() and bool(self.ascii_pages)

    def prepare(self, text: str, *, replacement: str = "?", strict: bool = False) -> str:
        """The text as the printer will print it: NFC, every character printable, the rest replaced.

        A character with no glyph whose canonical decomposition is printable (rare: a precomposed letter
        missing from every page while its parts are there) is printed decomposed.
        """
        if self._ascii_printable(text):
            return text
        if not unicodedata.is_normalized("NFC", text):
            text = unicodedata.normalize("NFC", text)
        out: list[str] = []
        for index, char in enumerate(text):
            if self.kind(char):
                out.append(char)
                continue
            decomposed = unicodedata.normalize("NFD", char)
            if decomposed != char and all(self.kind(part) for part in decomposed):
                out.append(decomposed)
            elif strict:
                raise UnencodableText(char, index, self.profile.name)
            else:
                out.append(replacement)
        return "".join(out)

    def check_replacement(self, replacement: str) -> None:
        if not replacement or self.prepare(replacement, strict=True) != replacement or "\n" in replacement:
            raise ValueError(f"replacement {replacement!r} is not printable on profile {self.profile.name!r}")

    def width(self, text: str) -> int:
        """Columns ``text`` (already :meth:`prepare`-d) takes in font A at normal size."""
        if text.isascii():
            return len(text)
        return sum(self.kind(char) or 1 for char in text)

    def char_width(self, char: str) -> int:
        return 1 if char.isascii() else (self.kind(char) or 1)

    # -- bytes ---------------------------------------------------------------------------------------
    def start(self) -> tuple[bytes, EncoderState]:
        """Bytes that put the printer in a known text state right after ``ESC @``, and that state.

        Explicit on purpose: after ESC @ a printer returns to its *configured* defaults, which may be another
        code page or (many Chinese clones) double-byte mode.
        """
        out = DOUBLE_BYTE_OFF if self.double_byte is not None else b""
        if self.primary is not None:
            out += ESC_T + bytes([self.numbers[self.primary]])
        return out, EncoderState(self.primary, False)

    def encode(self, text: str, state: EncoderState) -> tuple[bytes, EncoderState]:
        """Bytes for ``text`` (already :meth:`prepare`-d, no line breaks), starting in ``state``; and the end state."""
        if self._ascii_printable(text) and state.code_page in self.ascii_pages:
            return text.encode("ascii"), state
        out = bytearray()
        index = 0
        while index < len(text):
            data = self._in_state(text[index], state)
            if data is not None:
                out += data
                index += 1
                continue
            target = self._best_state(text, index, state)
            if target is None:
                raise UnencodableText(text[index], index, self.profile.name)
            if target.double_byte != state.double_byte:
                out += DOUBLE_BYTE_ON if target.double_byte else DOUBLE_BYTE_OFF
            if target.code_page != state.code_page and target.code_page is not None:
                out += ESC_T + bytes([self.numbers[target.code_page]])
            state = target
        return bytes(out), state

    def _in_state(self, char: str, state: EncoderState) -> bytes | None:
        if state.code_page is not None:
            byte = self.tables[state.code_page].get(char)
            if byte is not None and (byte < 0x80 or not state.double_byte):
                return bytes((byte,))
        if state.double_byte and self.double_byte is not None and self.kind(char) == _DOUBLE:
            return double_byte_encoding(self.double_byte, char)
        return None

    def _best_state(self, text: str, index: int, state: EncoderState) -> EncoderState | None:
        char = text[index]
        # In order of preference on a tie: leave double-byte mode only, enter it, then change page.
        candidates: list[EncoderState] = []
        if state.code_page is not None and char in self.tables[state.code_page]:
            candidates.append(EncoderState(state.code_page, False))
        if self.kind(char) == _DOUBLE:
            candidates.append(EncoderState(state.code_page, True))
        candidates += [EncoderState(page, False) for page in self.pages if char in self.tables[page]]
        best: EncoderState | None = None
        best_reach = 0
        for candidate in candidates:
            reach = 0
            for ahead in text[index : index + LOOKAHEAD]:
                if self._in_state(ahead, candidate) is None:
                    break
                reach += 1
            if reach > best_reach:
                best, best_reach = candidate, reach
        return best


@functools.lru_cache(maxsize=32)
def encoder_for(profile: PrinterProfile) -> TextEncoder:
    """The (cached) encoder of a profile: its tables are built once, not per receipt."""
    return TextEncoder(profile)

