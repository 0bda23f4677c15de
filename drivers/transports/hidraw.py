"""hidraw transport: USB HID devices read and written one report at a time through /dev/hidraw*.

A read of a hidraw node returns exactly one input report (first byte: the report ID when the device
numbers its reports); a write sends one output report. A simulator's pty stand-in carries the same
reports as a byte stream, cut here by ``report_size``.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from drivers.errors import TransportClosed, TransportTimeout
from drivers.transports.base import DEFAULT_WRITE_TIMEOUT
from drivers.transports.records import RecordTransport


class HidrawSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["hid"] = "hid"
    path: str = Field(description="The hidraw node; prefer a stable udev name (/dev/posd/…) over /dev/hidrawN.")
    report_size: int = Field(
        64,
        gt=0,
        le=4096,
        description="Input report size in bytes including the report ID (64 for HID POS scanners).",
    )


class HidrawTransport(RecordTransport):
    transport_type = "hid"
    open_flags = os.O_RDWR

    def __init__(self, settings: HidrawSettings) -> None:
        super().__init__([settings.path], settings.report_size)
        self.settings = settings
        self._pending = b""

    def _prepare(self, fd: int, path: str) -> None:
        return None

    async def read_report(self, timeout: float) -> bytes:
        """Exactly one input report."""
        if not self._pending:
            self._pending = await self.read(timeout)
        size = self.settings.report_size
        # A device node hands out one report per read, whatever its length; a stream holds whole reports.
        report, self._pending = (
            (self._pending[:size], self._pending[size:])
            if len(self._pending) > size and len(self._pending) % size == 0
            else (self._pending, b"")
        )
        return report

    async def write(self, data: bytes, timeout: float = DEFAULT_WRITE_TIMEOUT) -> None:
        """Send one output report (hidraw writes wait for the USB transfer: off the event loop)."""
        if not self._nodes:
            raise TransportClosed("hid transport is not open")
        fd = self._nodes[0].fd
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                written = await loop.run_in_executor(None, os.write, fd, data)
        except TimeoutError as err:
            raise TransportTimeout(f"write of {len(data)} bytes timed out after {timeout}s") from err
        except OSError as err:
            raise TransportClosed(f"write failed: {err.strerror or err}") from err
        if written != len(data):
            raise TransportClosed(f"short write: {written} of {len(data)} bytes")

    def describe(self) -> dict[str, Any]:
        return {"type": "hid", "path": self.settings.path, "report_size": self.settings.report_size}
