"""Text for 2-line customer displays, shared by every display command set (sans-I/O, pure).

All three command sets (CD5220, Epson DM-D, Logic Controls) refuse the same input the same way: a
control character would be a device command, so it is refused (:class:`UnsupportedText`); a line wider
than the display, or more lines than it has, is refused (:class:`TextTooLong`). Nothing is truncated
and nothing is sent. Characters the display's code page lacks become a visible replacement ("?").
"""

from __future__ import annotations

import abc
import codecs
import unicodedata
from dataclasses import dataclass, field

ROWS = 2
COLUMNS = 20


class UnsupportedText(ValueError):
    """Text the display cannot show as text (control characters would be commands)."""


class TextTooLong(ValueError):
    """A line does not fit the display (the API turns this into 400 ``text_too_long``)."""


def _encodable(ch: str, encoding: str) -> bool:
    try:
        ch.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


def encode_text(text: str, encoding: str, replacement: str = "?") -> bytes:
    """Encode ``text`` in the display's code page; characters it lacks become ``replacement``."""
    return "".join(ch if _encodable(ch, encoding) else replacement for ch in text).encode(encoding)


def check_lines(lines: list[str], columns: int = COLUMNS, rows: int = ROWS) -> list[str]:
    """Validate lines for a ``rows`` x ``columns`` display; return them NFC-normalized and padded to ``rows``.

    NFC first, so "e" + combining acute counts (and shows) as the one character "é".
    """
    if len(lines) > rows:
        raise TextTooLong(f"the display has {rows} lines, got {len(lines)}")
    normalized = [unicodedata.normalize("NFC", line) for line in lines]
    for number, line in enumerate(normalized, start=1):
        if any(ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 for ch in line):
            raise UnsupportedText(f"line {number} contains control characters")
        if len(line) > columns:
            raise TextTooLong(f"line {number} has {len(line)} characters; the display shows {columns}")
    return [*normalized, *[""] * (rows - len(normalized))]


def check_single_byte_encoding(name: str) -> str:
    """Config validator: ``name`` must be a Python codec with one byte per character (a display code page)."""
    try:
        info = codecs.lookup(name)
    except LookupError as err:
        raise ValueError(f"unknown encoding {name!r}") from err
    if len("é".encode(info.name, errors="replace")) != 1 or len("A".encode(info.name)) != 1:
        raise ValueError(f"{name!r} is not a single-byte code page (e.g. cp437, cp850, cp858, cp1252)")
    return name


@dataclass
class CommandStream(abc.ABC):
    """Display side of a command set: bytes in, commands applied one at a time.

    Subclasses implement :meth:`_step`: apply the command at the start of ``_pending`` and return how many
    bytes it took, or 0 when it is not complete yet — so feeding bytes whole, split or one at a time is alike.
    """

    _pending: bytearray = field(default_factory=bytearray, kw_only=True)

    def feed(self, data: bytes) -> None:
        self._pending += data
        while self._pending:
            consumed = self._step()
            if consumed == 0:
                return
            del self._pending[:consumed]

    @abc.abstractmethod
    def _step(self) -> int:
        """Apply the command at the start of ``_pending``; return the bytes it took, or 0 if incomplete."""
