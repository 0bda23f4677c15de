"""Sans-I/O codec for Epson DM-D customer displays (the ESC/POS display command set), 2x20.

Host side: :func:`encode_lines` shows two lines; :func:`setup_bytes` initializes. Display side:
:class:`DmdInterpreter` models a DM-D screen (cursor, overwrite and vertical-scroll modes, code table)
for the simulator and the tests.

Commands used (protocols.md §5; Epson DM-D command list as in node-escpos and LCDproc's serialPOS):
``ESC @`` initialize, ``US MD1`` (1F 01) overwrite mode, ``ESC t n`` character code table (the same
numbering as Epson printers), ``US $ x y`` cursor to column x, row y (1-based), ``US C n`` cursor
display on/off, ``FF`` (0C) clear.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from drivers.display_text import COLUMNS, ROWS, CommandStream, check_lines, encode_text
from drivers.escpos.interpreter import CODE_PAGES

ESC = 0x1B
US = 0x1F
INIT = bytes([ESC, ord("@")])
OVERWRITE_MODE = bytes([US, 0x01])
VERTICAL_SCROLL_MODE = bytes([US, 0x02])
CURSOR_OFF = bytes([US, ord("C"), 0])
CLEAR = b"\x0c"

#: Python codec → ESC t n.
CODE_TABLES: dict[str, int] = {encoding: number for number, encoding in CODE_PAGES.items()}


def code_table(encoding: str) -> int:
    """The ESC t number of a code page the display has; ValueError names the ones it has."""
    try:
        return CODE_TABLES[encoding]
    except KeyError:
        known = ", ".join(sorted(CODE_TABLES))
        raise ValueError(f"the DM-D command set has no code table for {encoding!r} (it has {known})") from None


def cursor_to(column: int, row: int) -> bytes:
    """US $ x y with 0-based arguments."""
    return bytes([US, ord("$"), column + 1, row + 1])


def setup_bytes(encoding: str = "cp437") -> bytes:
    return INIT + CURSOR_OFF + bytes([ESC, ord("t"), code_table(encoding)])


def encode_lines(lines: list[str], encoding: str = "cp437") -> bytes:
    """Both lines, each written in full at an explicit cursor position, in overwrite mode.

    No FF: overwriting every cell does not flicker. The mode command goes twice: whatever partial command
    a glitch left pending swallows at most the first copy, so every update resynchronizes the display.
    """
    out = bytearray(OVERWRITE_MODE * 2)
    out += bytes([ESC, ord("t"), code_table(encoding)])
    for row, line in enumerate(check_lines(lines, COLUMNS, ROWS)):
        out += cursor_to(0, row) + encode_text(line.ljust(COLUMNS), encoding)
    return bytes(out)


# -- the display side ------------------------------------------------------------------------------------
#: Commands with a fixed total length, by (prefix, function byte).
_FIXED: dict[tuple[int, int], int] = {
    (US, ord("$")): 4,
    (US, ord("T")): 4,
    **{(US, ord(c)): 3 for c in "CEXrv"},
    **{(ESC, ord(c)): 3 for c in "tR=%?"},
}


@dataclass
class DmdInterpreter(CommandStream):
    """What a DM-D shows for a byte stream. Fed whole, split or byte by byte it shows the same."""

    columns: int = COLUMNS
    rows: int = ROWS
    encoding: str = "cp437"
    mode: int = 1
    """1 overwrite, 2 vertical scroll, 3 horizontal scroll (shown like overwrite here)."""
    row: int = 0
    column: int = 0
    _cells: list[list[str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._clear()

    @property
    def lines(self) -> list[str]:
        return ["".join(row).rstrip(" ") for row in self._cells]

    def _clear(self) -> None:
        self._cells = [[" "] * self.columns for _ in range(self.rows)]
        self.row = self.column = 0

    def _put(self, ch: str) -> None:
        self._cells[self.row][self.column] = ch
        self.column += 1
        if self.column < self.columns:
            return
        self.column = 0
        if self.row + 1 < self.rows:
            self.row += 1
        elif self.mode == 2:
            self._scroll()
        else:
            self.row = 0  # overwrite mode wraps to the home position

    def _scroll(self) -> None:
        self._cells = [*self._cells[1:], [" "] * self.columns]

    def _step(self) -> int:
        buf = self._pending
        first = buf[0]
        if first >= 0x20:
            self._put(bytes([first]).decode(self.encoding, errors="replace"))
            return 1
        if first == 0x0C:
            self._clear()
        elif first == 0x0B:
            self.row = self.column = 0
        elif first == 0x0D:
            self.column = 0
        elif first == 0x0A:
            if self.row + 1 < self.rows:
                self.row += 1
            elif self.mode == 2:
                self._scroll()
        elif first == 0x08:
            self.column = max(0, self.column - 1)
        elif first == 0x09:
            self.column = min(self.columns - 1, self.column + 1)
        elif first == 0x18:
            self._cells[self.row] = [" "] * self.columns
            self.column = 0
        elif first in (ESC, US):
            return self._command()
        return 1

    def _command(self) -> int:  # noqa: PLR0911 - one return per command
        buf = self._pending
        if len(buf) < 2:
            return 0
        prefix, fn = buf[0], buf[1]
        if prefix == ESC and fn == ord("@"):
            self._clear()
            self.encoding, self.mode = "cp437", 1
            return 2
        if prefix == US and fn in (0x01, 0x02, 0x03):
            self.mode = fn
            return 2
        if prefix == US and fn == ord("B"):
            self.row, self.column = self.rows - 1, 0
            return 2
        if prefix == US and fn == 0x0D:
            self.column = self.columns - 1
            return 2
        if prefix == US and fn == 0x0A:
            self.row = max(0, self.row - 1)
            return 2
        length = _FIXED.get((prefix, fn))
        if length is None:
            return 2  # a command this model does not know: skip its two bytes
        if len(buf) < length:
            return 0
        if prefix == US and fn == ord("$"):
            column, row = buf[2] - 1, buf[3] - 1
            if 0 <= column < self.columns and 0 <= row < self.rows:  # out of range: ignored
                self.row, self.column = row, column
        elif prefix == ESC and fn == ord("t"):
            self.encoding = CODE_PAGES.get(buf[2], self.encoding)
        return length
