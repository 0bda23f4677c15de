"""Logic Controls pole display driver (PD3000 / PD6000 / LD9000 command set; serial or USB-serial)."""

from __future__ import annotations

from drivers.line_display import LineDisplayOptions, SerialLineDisplay
from drivers.logic_controls.codec import encode_lines, setup_bytes


class LogicControlsOptions(LineDisplayOptions):
    pass


class LogicControlsDisplay(SerialLineDisplay):
    Options = LogicControlsOptions
    options: LogicControlsOptions

    def setup_bytes(self) -> bytes:
        return setup_bytes()

    def text_bytes(self, lines: list[str]) -> bytes:
        return encode_lines(lines, self.options.encoding)
