"""Serial / USB CDC-ACM barcode scanner driver."""

from __future__ import annotations

import logging

from pydantic import BaseModel, ConfigDict, Field

from drivers.base import DeviceLink, Scanner
from drivers.errors import TransportTimeout
from drivers.models import DeviceState, ScanData
from drivers.serial_scanner.codec import Frame, LineFramer, Suffix
from drivers.symbology import identify

_LOGGER = logging.getLogger(__name__)

IDLE_READ_TIMEOUT = 60.0


class SerialScannerOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    suffix: Suffix = Field("CR", description="What the scanner sends after each label (CR and LF both end a label).")
    prefix: str = Field("", description="A fixed prefix the scanner is set to send, stripped from each label.")
    incomplete_timeout_s: float = Field(
        1.0, gt=0, description="A label with no terminator after this long is dropped and reported."
    )


def decode_label(label: bytes) -> str:
    try:
        return label.decode("utf-8")
    except UnicodeDecodeError:
        return label.decode("latin-1")


def scan_from_frame(frame: Frame) -> ScanData:
    symbol = identify(decode_label(frame.label))
    return ScanData(
        data=symbol.data, symbology=symbol.symbology, aim=symbol.aim, raw=frame.raw.decode("latin-1"), gs1=None
    )


class SerialScanner(Scanner):
    Options = SerialScannerOptions
    options: SerialScannerOptions

    async def run(self, link: DeviceLink) -> None:
        transport = self.byte_transport(link)
        framer = LineFramer(prefix=self.options.prefix.encode("latin-1"))
        self.ctx.set_state(DeviceState.READY)
        while True:
            timeout = self.options.incomplete_timeout_s if framer.pending else IDLE_READ_TIMEOUT
            try:
                data = await transport.read(timeout)
            except TransportTimeout:
                if framer.pending:
                    dropped = framer.reset()
                    self.ctx.stats.increment("CommunicationErrorCount")
                    _LOGGER.warning(
                        "%s: dropped %r: no terminator within %ss",
                        self.ctx.device_id,
                        dropped,
                        self.options.incomplete_timeout_s,
                    )
                continue
            for item in framer.feed(data):
                if isinstance(item, Frame):
                    scan = scan_from_frame(item)
                    self.ctx.stats.increment("GoodScanCount")
                    self.ctx.publish("scanner.scan", scan.model_dump(mode="json"))
                else:
                    self.ctx.stats.increment("CommunicationErrorCount")
                    _LOGGER.warning("%s: %s; dropped %d bytes", self.ctx.device_id, item.reason, len(item.dropped))
