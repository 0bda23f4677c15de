"""Serial / USB CDC-ACM barcode scanner driver."""

from __future__ import annotations

import logging

from pydantic import BaseModel, ConfigDict, Field

from drivers.base import DeviceLink, Scanner
from drivers.errors import TransportTimeout
from drivers.models import DeviceState
from drivers.scan_report import ScanReporter, decode_label
from drivers.serial_scanner.codec import Frame, LineFramer, Suffix

_LOGGER = logging.getLogger(__name__)

IDLE_READ_TIMEOUT = 60.0


class SerialScannerOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    suffix: Suffix = Field("CR", description="What the scanner sends after each label (CR and LF both end a label).")
    prefix: str = Field("", description="A fixed prefix the scanner is set to send, stripped from each label.")
    incomplete_timeout_s: float = Field(
        1.0, gt=0, description="A label with no terminator after this long is dropped and reported."
    )


class SerialScanner(Scanner):
    Options = SerialScannerOptions
    options: SerialScannerOptions

    async def run(self, link: DeviceLink) -> None:
        transport = self.byte_transport(link)
        framer = LineFramer(prefix=self.options.prefix.encode("latin-1"))
        report = ScanReporter(self.ctx)
        self.ctx.set_state(DeviceState.READY)
        while True:
            timeout = self.options.incomplete_timeout_s if framer.pending else IDLE_READ_TIMEOUT
            try:
                data = await transport.read(timeout)
            except TransportTimeout:
                if framer.pending:
                    dropped = framer.reset()
                    report.dropped(f"no terminator within {self.options.incomplete_timeout_s}s", dropped)
                continue
            for item in framer.feed(data):
                if isinstance(item, Frame):
                    report.scan(decode_label(item.label), item.raw.decode("latin-1"))
                else:
                    report.dropped(item.reason, item.dropped)
