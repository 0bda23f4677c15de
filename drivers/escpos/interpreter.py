"""Device-side ESC/POS interpreter: what a printer makes of a byte stream (sans-I/O).

Used by the simulator and by the preview. It keeps the printed text lines (decoded through the
selected code page, and GB18030 in double-byte mode), counts cuts and images, and reports the
commands that need an answer or act on hardware (status requests, drawer kicks) as actions.
Feeding the same bytes whole, split or byte by byte gives the same result.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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

# Fixed total lengths of commands, by (prefix, function byte).
_FIXED: dict[tuple[int, int], int] = {
    **{(0x1B, ord(c)): 3 for c in "!-3EGJMRTVadrtU{ ="},
    (0x1B, ord("c")): 4,
    **{(0x1B, ord(c)): 2 for c in "@2<imS"},
    (0x1B, ord("p")): 5,
    (0x1B, ord("$")): 4,
    (0x1B, ord("\\")): 4,
    (0x1B, ord("D")): 0,  # tab stops: NUL-terminated, handled below
    **{(0x1D, ord(c)): 3 for c in "!BHIbfhwar/"},
    (0x1D, ord("P")): 4,
    (0x1D, ord("L")): 4,
    (0x1D, ord("W")): 4,
    (0x1D, ord("$")): 4,
    **{(0x1C, ord(c)): 2 for c in "&."},
    **{(0x1C, ord(c)): 3 for c in "C!-"},
    (0x1C, ord("p")): 4,
    (0x10, 0x04): 3,
    (0x10, 0x05): 3,
}


@dataclass(frozen=True, slots=True)
class StatusRequest:
    n: int


@dataclass(frozen=True, slots=True)
class DrawerPulse:
    pin: int
    on_ms: int


Action = StatusRequest | DrawerPulse


@dataclass
class EscposInterpreter:
    lines: list[str] = field(default_factory=list)
    cuts: int = 0
    images: int = 0
    barcodes: int = 0
    code_page: str = "cp437"
    double_byte: bool = False
    _line: list[str] = field(default_factory=list)
    _pending: bytearray = field(default_factory=bytearray)

    def feed(self, data: bytes) -> list[Action]:
        actions: list[Action] = []
        self._pending += data
        while self._pending:
            consumed = self._step(actions)
            if consumed == 0:
                break
            del self._pending[:consumed]
        return actions

    @property
    def current_line(self) -> str:
        return "".join(self._line)

    def _newline(self, count: int = 1) -> None:
        self.lines.append("".join(self._line))
        self._line.clear()
        self.lines.extend([""] * (count - 1))

    def _reset(self) -> None:
        self.code_page = "cp437"
        self.double_byte = False

    def _step(self, actions: list[Action]) -> int:  # noqa: PLR0911 - one branch per command family
        buf = self._pending
        first = buf[0]
        if first == 0x0A:
            self._newline()
            return 1
        if first in (0x0D, 0x00):
            return 1
        if first == 0x0C:  # FF in page mode; treat as a line end
            self._newline()
            return 1
        if first in (0x1B, 0x1D, 0x1C, 0x10):
            return self._command(actions)
        if first < 0x20 and first != 0x09:
            return 1
        if self.double_byte and first >= 0x80:
            if len(buf) < 2:
                return 0
            self._line.append(bytes(buf[:2]).decode("gb18030", errors="replace"))
            return 2
        self._line.append("\t" if first == 0x09 else bytes([first]).decode(self.code_page, errors="replace"))
        return 1

    def _command(self, actions: list[Action]) -> int:  # noqa: PLR0911, PLR0912
        buf = self._pending
        if len(buf) < 2:
            return 0
        prefix, fn = buf[0], buf[1]
        if prefix == 0x10 and fn == 0x14:  # DLE DC4 fn m t: real-time pulse
            if len(buf) < 5:
                return 0
            if buf[2] == 1:
                actions.append(DrawerPulse(pin=2 if buf[3] == 0 else 5, on_ms=buf[4] * 100))
            return 5
        if prefix == 0x1D and fn == ord("V"):
            size = 4 if len(buf) >= 3 and buf[2] in (65, 66, 97, 98, 103, 104) else 3  # GS V m n / GS V m
            if len(buf) < size:
                return 0
            self.cuts += 1
            return size
        if prefix == 0x1D and fn == ord("k"):
            return self._barcode()
        if prefix == 0x1D and fn == ord("v"):  # GS v 0 m xL xH yL yH d…
            if len(buf) < 8:
                return 0
            total = 8 + (buf[4] + 256 * buf[5]) * (buf[6] + 256 * buf[7])
            if len(buf) < total:
                return 0
            self.images += 1
            return total
        if (prefix == 0x1D and fn == ord("(")) or (prefix == 0x1D and fn == ord("8")):
            return self._extended(actions)
        if prefix == 0x1B and fn == ord("*"):  # bit image column mode
            if len(buf) < 5:
                return 0
            columns = buf[3] + 256 * buf[4]
            total = 5 + columns * (3 if buf[2] in (32, 33) else 1)
            if len(buf) < total:
                return 0
            self.images += 1
            return total
        if prefix == 0x1B and fn == ord("D"):
            end = buf.find(0, 2)
            return 0 if end < 0 else end + 1
        length = _FIXED.get((prefix, fn))
        if length is None:
            return 2  # unknown command: skip prefix and function byte
        if len(buf) < length:
            return 0
        self._apply(prefix, fn, bytes(buf[:length]), actions)
        return length

    def _apply(self, prefix: int, fn: int, cmd: bytes, actions: list[Action]) -> None:
        if prefix == 0x10 and fn == 0x04:
            actions.append(StatusRequest(cmd[2]))
        elif prefix == 0x1B and fn == ord("@"):
            self._reset()
        elif prefix == 0x1B and fn == ord("t"):
            self.code_page = CODE_PAGES.get(cmd[2], "cp437")
        elif prefix == 0x1B and fn == ord("p"):
            actions.append(DrawerPulse(pin=2 if cmd[2] in (0, 0x30) else 5, on_ms=cmd[3] * 2))
        elif prefix == 0x1B and fn == ord("d"):
            self._newline(max(1, cmd[2]))
        elif prefix == 0x1C and fn == ord("&"):
            self.double_byte = True
        elif prefix == 0x1C and fn == ord("."):
            self.double_byte = False

    def _barcode(self) -> int:
        buf = self._pending
        if len(buf) < 3:
            return 0
        m = buf[2]
        if m <= 6:
            end = buf.find(0, 3)
            if end < 0:
                return 0
            self.barcodes += 1
            return end + 1
        if len(buf) < 4:
            return 0
        total = 4 + buf[3]
        if len(buf) < total:
            return 0
        self.barcodes += 1
        return total

    def _extended(self, actions: list[Action]) -> int:
        buf = self._pending
        if buf[1] == ord("8"):  # GS 8 L p1 p2 p3 p4 …
            if len(buf) < 7:
                return 0
            total = 7 + int.from_bytes(buf[3:7], "little")
        else:  # GS ( x pL pH …
            if len(buf) < 5:
                return 0
            total = 5 + buf[3] + 256 * buf[4]
        if len(buf) < total:
            return 0
        if buf[1] == ord("(") and buf[2] == ord("k") and total >= 8 and buf[6] == 0x51:
            self.images += 1  # GS ( k … fn 81: print the stored 2D symbol
        if buf[1] == ord("(") and buf[2] == ord("L") and total >= 7 and buf[6] in (0x32, 0x02):
            self.images += 1  # GS ( L fn 50: print the graphics buffer
        return total
