"""Keyboard-wedge barcode scanner over evdev: key events → characters of the scanner's layout → scans."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from drivers.base import DeviceLink, Scanner
from drivers.errors import TransportTimeout
from drivers.models import DeviceState
from drivers.scan_report import ScanReporter
from drivers.transports import EvdevTransport, Transport
from drivers.wedge.codec import InputEvent, KeyboardDecoder, WedgeProblem, WedgeScan, parse_key_events
from drivers.wedge.xkb import UnknownLayout, XkbUnavailable, keymap_for

_LOGGER = logging.getLogger(__name__)

#: How long a read waits when nothing is pending; the loop just reads again (no read waits forever).
IDLE_READ_TIMEOUT = 60.0


class WedgeScannerOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    layout: str = Field(
        "us",
        description="Keyboard layout the scanner is set to, as xkeyboard-config names it (us, br, de, fr, es, pt, …).",
    )
    variant: str = Field("", description="Layout variant (e.g. abnt2 for br, nodeadkeys for de); empty for the base.")
    model: str = Field("pc105", description="Keyboard model (pc105 has the ISO key; ABNT2 keys work with it too).")
    xkb_options: str = Field("", description="XKB options, comma-separated (e.g. lv3:ralt_switch).")
    compose_locale: str = Field(
        "en_US.UTF-8", description="Locale whose compose table resolves dead keys (libX11's data)."
    )
    enter_ends_scan: bool = Field(True, description="The key-up of Enter or keypad Enter ends a scan.")
    suffix: str = Field("", description="Text the scanner types after each label (e.g. a tab); ends a scan.")
    prefix: str = Field("", description="Text the scanner types before each label; stripped.")
    gap_ms: float | None = Field(
        None,
        gt=0,
        le=5000,
        description="End a scan when the keys stop for this long (key event timestamps); off by default.",
    )
    incomplete_timeout_s: float = Field(
        1.0, gt=0, description="A scan with no end after this long is dropped and reported."
    )
    numlock: bool = Field(True, description="Start with Num Lock on (scanners in keypad mode type digits).")

    @field_validator("layout")
    @classmethod
    def _known_layout(cls, layout: str) -> str:
        _compile(layout, "")
        return layout

    @field_validator("variant")
    @classmethod
    def _known_variant(cls, variant: str, info: ValidationInfo) -> str:
        if variant and "layout" in info.data:
            _compile(info.data["layout"], variant)
        return variant

    @model_validator(mode="after")
    def _keymap_and_end(self) -> WedgeScannerOptions:
        if not (self.enter_ends_scan or self.suffix or self.gap_ms):
            raise ValueError("set at least one end of scan: enter_ends_scan, suffix or gap_ms")
        _compile(self.layout, self.variant, self.model, self.xkb_options, self.compose_locale)
        return self


def _compile(layout: str, variant: str, model: str = "pc105", options: str = "", compose: str = "") -> None:
    try:
        keymap_for(layout, variant, model, options, compose)
    except (UnknownLayout, XkbUnavailable) as err:
        raise ValueError(str(err)) from err


async def read_events(transport: Transport) -> AsyncIterator[Sequence[InputEvent]]:
    """The events of an evdev transport, one batch per read (a scan's burst usually comes in one)."""
    while True:
        try:
            data = await transport.read(IDLE_READ_TIMEOUT)
        except TransportTimeout:
            continue
        yield parse_key_events(data)


class WedgeScanner(Scanner):
    Options = WedgeScannerOptions
    options: WedgeScannerOptions

    def decoder(self) -> KeyboardDecoder:
        o = self.options
        keymap = keymap_for(o.layout, o.variant, o.model, o.xkb_options, o.compose_locale)
        gap = o.gap_ms / 1000 if o.gap_ms else None
        return KeyboardDecoder(
            keymap, enter_ends_scan=o.enter_ends_scan, suffix=o.suffix, prefix=o.prefix, gap_s=gap, numlock=o.numlock
        )

    async def run(self, link: DeviceLink) -> None:
        transport = self.byte_transport(link)
        if not isinstance(transport, EvdevTransport):
            raise TypeError('the wedge-scanner driver needs transport type = "evdev"')
        self.ctx.set_state(DeviceState.READY)
        await self.consume(read_events(transport))

    async def consume(self, events: AsyncIterator[Sequence[InputEvent]]) -> None:
        """The read loop: decode batches of events until the iterator ends (device lost) or raises.

        Tests feed recorded event sequences here; the real source is :func:`read_events`.
        """
        decoder = self.decoder()
        report = ScanReporter(self.ctx)
        next_batch: asyncio.Task[Sequence[InputEvent]] | None = None
        try:
            while True:
                timeout = self._pending_timeout(decoder)
                if timeout is None and next_batch is None:
                    # Idle: wait for the next burst in this task (no extra task hop on the scan's path).
                    try:
                        batch = await anext(events)
                    except StopAsyncIteration:
                        return
                else:
                    # A scan is under way: wait only as long as its end may take, without cancelling the
                    # read (cancelling would close the event source).
                    if next_batch is None:
                        next_batch = asyncio.ensure_future(anext(events))
                    done, _ = await asyncio.wait({next_batch}, timeout=timeout)
                    if not done:
                        self._on_silence(decoder, report)
                        continue
                    task, next_batch = next_batch, None
                    try:
                        batch = task.result()
                    except StopAsyncIteration:
                        return
                for event in batch:
                    for item in decoder.feed(event):
                        self._deliver(item, report)
        finally:
            if next_batch is not None:
                next_batch.cancel()
                with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                    await next_batch
            decoder.close()

    def _pending_timeout(self, decoder: KeyboardDecoder) -> float | None:
        if not decoder.pending:
            return None
        if decoder.gap_s is not None:
            return min(decoder.gap_s, self.options.incomplete_timeout_s)
        return self.options.incomplete_timeout_s

    def _on_silence(self, decoder: KeyboardDecoder, report: ScanReporter) -> None:
        if decoder.gap_s is not None:
            for item in decoder.end_by_gap():
                self._deliver(item, report)
        else:
            problem = decoder.abandon()
            report.dropped(f"{problem.reason} within {self.options.incomplete_timeout_s}s", problem.typed)

    def _deliver(self, item: WedgeScan | WedgeProblem, report: ScanReporter) -> None:
        if isinstance(item, WedgeScan):
            report.scan(item.label, item.raw)
        else:
            report.dropped(item.reason, item.typed)
