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

import codecs
import functools
import re
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
        # C-speed paths: a charmap encoder per page (holding only what that page prints, at the byte chosen),
        # and a pattern finding the characters that are in no page.
        self._charmaps = {page: codecs.charmap_build(_decoding_string(self.tables[page])) for page in self.pages}
        single = "".join(sorted(set().union(*self.tables.values())))
        self._single = frozenset(single)
        self._not_single = re.compile(f"[^{re.escape(single)}]" if single else "[\\s\\S]")

    # -- what can be printed -------------------------------------------------------------------------
    def kind(self, char: str) -> int:
        kind = self._kind.get(char)
        if kind is None:
            if char in self._single:
                kind = _SINGLE
            elif self.double_byte is not None and double_byte_encoding(self.double_byte, char) is not None:
                kind = _DOUBLE
            else:
                kind = 0
            self._kind[char] = kind
        return kind

    def _ascii_printable(self, text: str) -> bool:
        return text.isascii() and text.isprintable() and bool(self.ascii_pages)

    def printable(self, text: str) -> bool:
        return all(self.kind(char) == _DOUBLE for char in set(self._not_single.findall(text)))

    def prepare(self, text: str, *, replacement: str = "?", strict: bool = False) -> str:
        """The text as the printer will print it: every character printable, the rest replaced.

        Each base character with its combining marks goes out composed (NFC) if the printer has the composed
        character, else as given, else decomposed (NFD) — whichever is printable, so the paper shows a
        canonically equivalent text. Only what has no printable form becomes ``replacement``.
        """
        if self._ascii_printable(text) or (self.printable(text) and unicodedata.is_normalized("NFC", text)):
            return text
        out: list[str] = []
        for start, cluster in _clusters(text):
            for form in (unicodedata.normalize("NFC", cluster), cluster, unicodedata.normalize("NFD", cluster)):
                if self.printable(form):
                    out.append(form)
                    break
            else:
                for offset, char in enumerate(cluster):
                    if self.kind(char):
                        out.append(char)
                    elif strict:
                        raise UnencodableText(char, start + offset, self.profile.name)
                    else:
                        out.append(replacement)
        return "".join(out)

    def check_replacement(self, replacement: str) -> None:
        if not replacement or self.prepare(replacement, strict=True) != replacement or "\n" in replacement:
            raise ValueError(f"replacement {replacement!r} is not printable on profile {self.profile.name!r}")

    def width(self, text: str) -> int:
        """Columns ``text`` (already :meth:`prepare`-d) takes in font A at normal size."""
        if text.isascii() or self.double_byte is None:
            return len(text)
        return len(text) + len(self._not_single.findall(text))  # double-byte characters take two columns

    def char_width(self, char: str) -> int:
        return 1 if char.isascii() or char in self._single else (self.kind(char) or 1)

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
            index += self._encode_run(text, index, state, out)
            if index >= len(text):
                break
            target = self._best_state(text, index, state)
            if target is None:
                raise UnencodableText(text[index], index, self.profile.name)
            if target.double_byte != state.double_byte:
                out += DOUBLE_BYTE_ON if target.double_byte else DOUBLE_BYTE_OFF
            if target.code_page != state.code_page and target.code_page is not None:
                out += ESC_T + bytes([self.numbers[target.code_page]])
            state = target
        return bytes(out), state

    def _encode_run(self, text: str, index: int, state: EncoderState, out: bytearray) -> int:
        """Append the bytes of the longest run from ``index`` that ``state`` can print; return its length."""
        if not state.double_byte and state.code_page is not None:
            charmap = self._charmaps[state.code_page]
            rest = text[index:]
            try:
                out += codecs.charmap_encode(rest, "strict", charmap)[0]
            except UnicodeEncodeError as err:
                out += codecs.charmap_encode(rest[: err.start], "strict", charmap)[0]
                return err.start
            return len(rest)
        end = index
        while end < len(text):
            data = self._in_state(text[end], state)
            if data is None:
                break
            out += data
            end += 1
        return end - index

    def _reach(self, text: str, index: int, state: EncoderState) -> int:
        """How many characters from ``index`` (up to LOOKAHEAD) ``state`` can print."""
        ahead = text[index : index + LOOKAHEAD]
        if not state.double_byte and state.code_page is not None:
            try:
                codecs.charmap_encode(ahead, "strict", self._charmaps[state.code_page])
            except UnicodeEncodeError as err:
                return err.start
            return len(ahead)
        reach = 0
        for char in ahead:
            if self._in_state(char, state) is None:
                break
            reach += 1
        return reach

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
            reach = self._reach(text, index, candidate)
            if reach > best_reach:
                best, best_reach = candidate, reach
        return best


def _decoding_string(table: dict[str, int]) -> str:
    """The 256-character decoding string of a page restricted to ``table`` (U+FFFE: no character)."""
    chars = ["\ufffe"] * 256
    for char, byte in table.items():
        chars[byte] = char
    return "".join(chars)


def _clusters(text: str) -> list[tuple[int, str]]:
    """Each base character with the combining marks that follow it, and where it starts."""
    clusters: list[tuple[int, str]] = []
    start = 0
    for index in range(1, len(text) + 1):
        if index == len(text) or not unicodedata.combining(text[index]):
            clusters.append((start, text[start:index]))
            start = index
    return clusters


@functools.lru_cache(maxsize=32)
def encoder_for(profile: PrinterProfile) -> TextEncoder:
    """The (cached) encoder of a profile: its tables are built once, not per receipt."""
    return TextEncoder(profile)
