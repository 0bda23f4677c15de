"""Sans-I/O line framing for serial / CDC-ACM scanners: bytes in, whole labels out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Suffix = Literal["CR", "LF", "CRLF"]
SUFFIX_BYTES: dict[str, bytes] = {"CR": b"\r", "LF": b"\n", "CRLF": b"\r\n"}


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
        for byte in data:
            if byte in (0x0D, 0x0A):
                if self._overflow:
                    out.append(FramingError(f"label longer than {self.max_length} bytes", bytes(self._buffer)))
                    self._overflow = False
                elif self._buffer:
                    raw = bytes(self._buffer)
                    label = raw[len(self.prefix) :] if self.prefix and raw.startswith(self.prefix) else raw
                    if label:  # a line that is only the prefix carries no scan
                        out.append(Frame(raw=raw, label=label))
                self._buffer.clear()
            elif not self._overflow:
                self._buffer.append(byte)
                if len(self._buffer) > self.max_length:
                    self._overflow = True
        return out

    @property
    def pending(self) -> bytes:
        """Bytes of an unfinished label (for the no-terminator diagnosis)."""
        return bytes(self._buffer)

    def reset(self) -> bytes:
        dropped = bytes(self._buffer)
        self._buffer.clear()
        self._overflow = False
        return dropped
