"""Sans-I/O codec for Logic Controls pole displays (PD3000, PD6000, LD9000 command set), 2x20.

Command set (protocols.md §5; Logic Controls PD3000/LD9000 manuals; LCDproc serialPOS): ``1F`` reset
(clears; vertical-scroll mode), ``11`` normal mode (text fills a row, then the other row), ``12`` vertical
scroll mode, ``10 n`` cursor to position n (00–13 upper row, 14–27 lower row), ``13``/``14`` cursor on/off,
``04 n`` brightness (20, 40, 60, FF), ``08`` backspace (erases), ``09`` right, ``0A`` other row, ``0D``
start of row. No code-page command: the display has one character table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from drivers.display_text import COLUMNS, ROWS, CommandStream, check_lines, encode_text

RESET = 0x1F
NORMAL_MODE = 0x11
VERTICAL_SCROLL_MODE = 0x12
POSITION = 0x10
CURSOR_ON = 0x13
CURSOR_OFF = 0x14
BRIGHTNESS = 0x04
LAST_POSITION = 0x27


def setup_bytes() -> bytes:
    return bytes([RESET, NORMAL_MODE, CURSOR_OFF])


def encode_lines(lines: list[str], encoding: str = "cp437") -> bytes:
    """Normal mode, then each row written in full from its first position.

    It starts with cursor-off, a one-byte command: if a glitch left a ``10``/``04`` waiting for its
    argument, that byte is what gets swallowed, and the update still lands where it should.
    """
    out = bytearray([CURSOR_OFF, NORMAL_MODE])
    for row, line in enumerate(check_lines(lines, COLUMNS, ROWS)):
        out += bytes([POSITION, row * COLUMNS]) + encode_text(line.ljust(COLUMNS), encoding)
    return bytes(out)


@dataclass
class LogicControlsInterpreter(CommandStream):
    """What a Logic Controls display shows for a byte stream (whole, split or byte by byte alike)."""

    encoding: str = "cp437"
    vertical_scroll: bool = True
    row: int = 1
    column: int = 0
    brightness: int = 0xFF
    _cells: list[list[str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._reset()

    @property
    def lines(self) -> list[str]:
        return ["".join(row).rstrip(" ") for row in self._cells]

    def _reset(self) -> None:
        self._cells = [[" "] * COLUMNS for _ in range(ROWS)]
        self.vertical_scroll = True
        # Vertical scroll mode writes into the lower row.
        self.row, self.column = 1, 0
        self.brightness = 0xFF

    def _scroll(self) -> None:
        self._cells = [self._cells[1], [" "] * COLUMNS]

    def _put(self, ch: str) -> None:
        self._cells[self.row][self.column] = ch
        self.column += 1
        if self.column < COLUMNS:
            return
        self.column = 0
        if self.vertical_scroll:
            self._scroll()
        else:
            self.row = 1 - self.row  # normal mode: the left-most digit of the other row

    def _step(self) -> int:  # noqa: PLR0912 - one branch per command
        buf = self._pending
        first = buf[0]
        if first >= 0x20:
            self._put(bytes([first]).decode(self.encoding, errors="replace"))
            return 1
        if first in (POSITION, BRIGHTNESS):
            if len(buf) < 2:
                return 0
            if first == POSITION and buf[1] <= LAST_POSITION:
                self.row, self.column = divmod(buf[1], COLUMNS)
            elif first == BRIGHTNESS and buf[1] in (0x20, 0x40, 0x60, 0xFF):
                self.brightness = buf[1]
            return 2
        if first == RESET:
            self._reset()
        elif first == NORMAL_MODE:
            self.vertical_scroll = False
        elif first == VERTICAL_SCROLL_MODE:
            self.vertical_scroll = True
        elif first == 0x08:
            if self.column > 0:
                self.column -= 1
                self._cells[self.row][self.column] = " "
        elif first == 0x09:
            self.column = min(COLUMNS - 1, self.column + 1)
        elif first == 0x0A:
            if self.vertical_scroll and self.row == 1:
                self._scroll()
            else:
                self.row = 1 - self.row
        elif first == 0x0D:
            self.column = 0
        return 1
