"""Sans-I/O codec for CD5220-compatible 2x20 customer displays.

ESC @ initialise, FF (0C) clear, ``ESC Q A <text> CR`` upper line, ``ESC Q B <text> CR`` lower line.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from drivers.display_text import COLUMNS, ROWS, CommandStream, TextTooLong, UnsupportedText, check_lines, encode_text

ESC = 0x1B
INIT = b"\x1b@"
CLEAR = b"\x0c"

# The text rules are shared by every display command set; re-exported for existing importers.
__all__ = [
    "CLEAR",
    "COLUMNS",
    "INIT",
    "ROWS",
    "DisplayInterpreter",
    "TextTooLong",
    "UnsupportedText",
    "encode_lines",
    "encode_text",
]


def encode_lines(lines: list[str], encoding: str = "cp437", columns: int = COLUMNS) -> bytes:
    """FF, then ``ESC Q A <upper> CR`` and ``ESC Q B <lower> CR``, each padded to the full width."""
    out = bytearray(CLEAR)
    for row, line in zip(b"AB", check_lines(lines, columns), strict=True):
        out += bytes([ESC, ord("Q"), row]) + encode_text(line.ljust(columns), encoding) + b"\r"
    return bytes(out)


@dataclass
class DisplayInterpreter(CommandStream):
    """The display side: bytes in, what the two lines show."""

    encoding: str = "cp437"
    columns: int = COLUMNS
    lines: list[str] = field(default_factory=lambda: ["", ""])

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
