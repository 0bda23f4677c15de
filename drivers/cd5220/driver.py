"""CD5220-compatible customer display driver (serial, write-only)."""

from __future__ import annotations

from pydantic import Field

from drivers.cd5220.codec import COLUMNS, INIT, encode_lines
from drivers.line_display import LineDisplayOptions, SerialLineDisplay


class Cd5220Options(LineDisplayOptions):
    columns: int = Field(COLUMNS, ge=1, le=40, description="Characters per line (CD5220 clones come 20 or 40 wide).")


class Cd5220Display(SerialLineDisplay):
    Options = Cd5220Options
    options: Cd5220Options

    def setup_bytes(self) -> bytes:
        return INIT

    def text_bytes(self, lines: list[str]) -> bytes:
        return encode_lines(lines, self.options.encoding, self.options.columns)
