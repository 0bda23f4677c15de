"""HID POS barcode scanner (USB HID POS mode, usage page 0x8C) over hidraw."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from drivers.base import DeviceLink, QuietTimer, Scanner
from drivers.hidpos.codec import HidPosAssembler, HidScan
from drivers.models import DeviceState
from drivers.scan_report import ScanReporter, decode_label
from drivers.transports import HidrawTransport


class HidPosScannerOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    incomplete_timeout_s: float = Field(
        1.0, gt=0, description="A multi-report scan whose last report does not arrive in this time is dropped."
    )


class HidPosScanner(Scanner):
    Options = HidPosScannerOptions
    options: HidPosScannerOptions

    async def run(self, link: DeviceLink) -> None:
        transport = self.byte_transport(link)
        if not isinstance(transport, HidrawTransport):
            raise TypeError('the hidpos-scanner driver needs transport type = "hid"')
        assembler = HidPosAssembler()
        report = ScanReporter(self.ctx)

        def on_quiet() -> None:
            if assembler.pending:
                problem = assembler.abandon()
                report.dropped(problem.reason, problem.dropped)

        quiet = QuietTimer(self.options.incomplete_timeout_s, on_quiet)

        def on_report(data: bytes) -> None:
            # Runs in the transport's read callback: assemble, decode and publish before the loop moves on.
            for item in assembler.feed(data):
                if isinstance(item, HidScan):
                    report.scan(decode_label(item.label), item.label.decode("latin-1"))
                else:
                    report.dropped(item.reason, item.dropped)
            if assembler.pending:
                quiet.restart()
            else:
                quiet.cancel()

        self.ctx.set_state(DeviceState.READY)
        try:
            await transport.stream_reports(on_report)
        finally:
            quiet.cancel()
