"""hidraw transport: USB HID devices read and written one report at a time through /dev/hidraw*.

A read of a hidraw node returns exactly one input report (first byte: the report ID when the device
numbers its reports); a write sends one output report. A simulator's pty stand-in carries the same
reports as a byte stream, cut here by ``report_size``.
"""

from __future__ import annotations

import asyncio
import os
from collections import deque
from typing import Any, Literal, NoReturn

from pydantic import BaseModel, ConfigDict, Field

from drivers.errors import TransportClosed, TransportTimeout
from drivers.transports.base import DEFAULT_WRITE_TIMEOUT, DataSink
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
        self._pending: deque[bytes] = deque()

    def _prepare(self, fd: int, path: str) -> None:
        return None

    def reports(self, data: bytes) -> list[bytes]:
        """The input reports in one read.

        A device node hands out one report per read, whatever its length; a pty stand-in may hold several
        whole reports back to back.
        """
        size = self.settings.report_size
        if len(data) > size and len(data) % size == 0:
            return [data[start : start + size] for start in range(0, len(data), size)]
        return [data]

    async def read_report(self, timeout: float) -> bytes:
        """Exactly one input report."""
        if not self._pending:
            self._pending.extend(self.reports(await self.read(timeout)))
        return self._pending.popleft()

    async def stream_reports(self, sink: DataSink) -> NoReturn:
        """Push mode (:meth:`stream`), one input report per call of ``sink``."""

        def split(data: bytes) -> None:
            for report in self.reports(data):
                sink(report)

        await self.stream(split)

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
