"""Epson DM-D customer display driver (ESC/POS display command set; serial or USB-serial, write-only)."""

from __future__ import annotations

from pydantic import field_validator

from drivers.epson_dmd.codec import code_table, encode_lines, setup_bytes
from drivers.line_display import LineDisplayOptions, SerialLineDisplay


class EpsonDmdOptions(LineDisplayOptions):
    @field_validator("encoding")
    @classmethod
    def _has_code_table(cls, value: str) -> str:
        code_table(value)  # the display selects it with ESC t n: it must have a number
        return value


class EpsonDmdDisplay(SerialLineDisplay):
    Options = EpsonDmdOptions
    options: EpsonDmdOptions

    def setup_bytes(self) -> bytes:
        return setup_bytes(self.options.encoding)

    def text_bytes(self, lines: list[str]) -> bytes:
        return encode_lines(lines, self.options.encoding)
