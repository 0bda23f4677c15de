"""Serial / USB CDC-ACM barcode scanner driver."""

from __future__ import annotations

import logging

from pydantic import BaseModel, ConfigDict, Field

from drivers.base import DeviceLink, QuietTimer, Scanner
from drivers.models import DeviceState
from drivers.scan_report import ScanReporter, decode_label
from drivers.serial_scanner.codec import Frame, LineFramer, Suffix

_LOGGER = logging.getLogger(__name__)


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
        timeout = self.options.incomplete_timeout_s

        def on_quiet() -> None:
            if framer.pending:
                report.dropped(f"no terminator within {timeout}s", framer.reset())

        quiet = QuietTimer(timeout, on_quiet)

        def on_data(data: bytes) -> None:
            # Runs in the transport's read callback: frame, decode and publish before the loop moves on.
            for item in framer.feed(data):
                if isinstance(item, Frame):
                    report.scan(decode_label(item.label), item.raw.decode("latin-1"))
                else:
                    report.dropped(item.reason, item.dropped)
            if framer.pending:
                quiet.restart()
            else:
                quiet.cancel()

        self.ctx.set_state(DeviceState.READY)
        try:
            await transport.stream(on_data)
        finally:
            quiet.cancel()
