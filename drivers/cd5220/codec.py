"""Sans-I/O codec for CD5220-compatible 2x20 customer displays.

ESC @ initialise, FF (0C) clear, ``ESC Q A <text> CR`` upper line, ``ESC Q B <text> CR`` lower line.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ESC = 0x1B
INIT = b"\x1b@"
CLEAR = b"\x0c"
COLUMNS = 20
ROWS = 2


class UnsupportedText(ValueError):
    """Text the display cannot show as text (control characters would be commands)."""


class TextTooLong(ValueError):
    """A line does not fit the display (the API turns this into 400 ``text_too_long``)."""


def encode_text(text: str, encoding: str, replacement: str = "?") -> bytes:
    """Encode ``text`` in the display's code page; characters it lacks become ``replacement``."""
    return "".join(ch if _encodable(ch, encoding) else replacement for ch in text).encode(encoding)


def _encodable(ch: str, encoding: str) -> bool:
    try:
        ch.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


def encode_lines(lines: list[str], encoding: str = "cp437", columns: int = COLUMNS) -> bytes:
    if len(lines) > ROWS:
        raise TextTooLong(f"the display has {ROWS} lines, got {len(lines)}")
    for number, line in enumerate(lines, start=1):
        if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in line):
            raise UnsupportedText(f"line {number} contains control characters")
        if len(line) > columns:
            raise TextTooLong(f"line {number} has {len(line)} characters; the display shows {columns}")
    padded = [*lines, *[""] * (ROWS - len(lines))]
    out = bytearray(CLEAR)
    for row, line in zip(b"AB", padded, strict=True):
        out += bytes([ESC, ord("Q"), row]) + encode_text(line.ljust(columns), encoding) + b"\r"
    return bytes(out)


@dataclass
class DisplayInterpreter:
    """The display side: bytes in, what the two lines show."""

    encoding: str = "cp437"
    columns: int = COLUMNS
    lines: list[str] = field(default_factory=lambda: ["", ""])
    _pending: bytearray = field(default_factory=bytearray)

    def feed(self, data: bytes) -> None:
        self._pending += data
        while self._pending:
            consumed = self._step()
            if consumed == 0:
                return
            del self._pending[:consumed]

    def _step(self) -> int:  # noqa: PLR0911 - one return per command
        buf = self._pending
        if buf[0] == 0x0C:
            self.lines = ["", ""]
            return 1
        if buf[0] != ESC:
            return 1  # stray byte: a real display would show it at the cursor; ignored here
        if len(buf) < 2:
            return 0
        if buf[1] == ord("@"):
            self.lines = ["", ""]
            return 2
        if buf[1] == ord("Q"):
            if len(buf) < 3:
                return 0
            # Look for CR only where a line can end, so the outcome does not depend on how much has arrived.
            end = buf.find(b"\r", 3, 3 + self.columns + 1)
            if end < 0:
                return 0 if len(buf) < 3 + self.columns + 1 else 3
            text = bytes(buf[3:end]).decode(self.encoding, errors="replace")[: self.columns]
            if buf[2] in b"AB":
                self.lines[buf[2] - ord("A")] = text.rstrip()
            return end + 1
        return 2
