"""Sans-I/O line framing for serial / CDC-ACM scanners: bytes in, whole labels out."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

Suffix = Literal["CR", "LF", "CRLF"]
SUFFIX_BYTES: dict[str, bytes] = {"CR": b"\r", "LF": b"\n", "CRLF": b"\r\n"}
_TERMINATOR = re.compile(rb"[\r\n]+")


@dataclass(frozen=True, slots=True)
class Frame:
    raw: bytes
    """The frame as received, without the suffix."""
    label: bytes
    """The frame with the configured prefix stripped."""


@dataclass(frozen=True, slots=True)
class FramingError:
    reason: str
    dropped: bytes


@dataclass
class LineFramer:
    """Splits a byte stream into scans at the suffix.

    CR and LF both end a frame whatever the configured suffix, so a scanner set to CR LF while posd
    expects CR (or the reverse) still gives one scan per label, never an empty one. A line longer than
    ``max_length`` is dropped whole and reported, and framing resumes at the next terminator.
    """

    prefix: bytes = b""
    max_length: int = 4096
    _buffer: bytearray = field(default_factory=bytearray)
    _overflow: bool = False

    def feed(self, data: bytes) -> list[Frame | FramingError]:
        out: list[Frame | FramingError] = []
        start = 0
        # Scan for terminators with C-level searches, not a Python loop per byte.
        for match in _TERMINATOR.finditer(data):
            self._take(data[start : match.start()])
            self._end_line(out)
            start = match.end()
        self._take(data[start:])
        return out

    def _take(self, chunk: bytes) -> None:
        if self._overflow or not chunk:
            return
        room = self.max_length + 1 - len(self._buffer)
        self._buffer += chunk[:room]
        if len(self._buffer) > self.max_length:
            self._overflow = True  # keep the first max_length + 1 bytes for the report; drop the rest

    def _end_line(self, out: list[Frame | FramingError]) -> None:
        if self._overflow:
            out.append(FramingError(f"label longer than {self.max_length} bytes", bytes(self._buffer)))
            self._overflow = False
        elif self._buffer:
            raw = bytes(self._buffer)
            label = raw[len(self.prefix) :] if self.prefix and raw.startswith(self.prefix) else raw
            if label:  # a line that is only the prefix carries no scan
                out.append(Frame(raw=raw, label=label))
        self._buffer.clear()

    @property
    def pending(self) -> bytes:
        """Bytes of an unfinished label (for the no-terminator diagnosis)."""
        return bytes(self._buffer)

    def reset(self) -> bytes:
        dropped = bytes(self._buffer)
        self._buffer.clear()
        self._overflow = False
        return dropped
