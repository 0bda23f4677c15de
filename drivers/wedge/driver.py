"""Keyboard-wedge barcode scanner over evdev: key events → characters of the scanner's layout → scans."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from drivers.base import DeviceLink, QuietTimer, Scanner
from drivers.models import DeviceState
from drivers.scan_report import ScanReporter
from drivers.transports import EvdevTransport
from drivers.wedge.codec import InputEvent, KeyboardDecoder, WedgeProblem, WedgeScan, parse_key_events
from drivers.wedge.xkb import UnknownLayout, XkbUnavailable, keymap_for

_LOGGER = logging.getLogger(__name__)


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
        session = WedgeSession(self, ScanReporter(self.ctx))
        self.ctx.set_state(DeviceState.READY)
        try:
            # Push mode: each burst of key events is decoded and published inside the read callback.
            await transport.stream(lambda data: session.feed(parse_key_events(data)))
        finally:
            session.close()

    async def consume(self, events: AsyncIterator[Sequence[InputEvent]]) -> None:
        """Decode batches of events until the iterator ends, through the same session as :meth:`run`.

        Tests feed recorded event sequences here.
        """
        session = WedgeSession(self, ScanReporter(self.ctx))
        try:
            async for batch in events:
                session.feed(batch)
        finally:
            session.close()


class WedgeSession:
    """One connection's decoding: key events in, scans and dropped input reported, silence timed."""

    def __init__(self, scanner: WedgeScanner, report: ScanReporter) -> None:
        self._options = scanner.options
        self._decoder = scanner.decoder()
        self._report = report
        self._quiet = QuietTimer(self._options.incomplete_timeout_s, self._on_silence)

    def feed(self, events: Sequence[InputEvent]) -> None:
        for event in events:
            for item in self._decoder.feed(event):
                self._deliver(item)
        timeout = self._pending_timeout()
        if timeout is None:
            self._quiet.cancel()
        else:
            self._quiet.restart(timeout)

    def close(self) -> None:
        self._quiet.cancel()
        self._decoder.close()

    def _pending_timeout(self) -> float | None:
        if not self._decoder.pending:
            return None
        if self._decoder.gap_s is not None:
            return min(self._decoder.gap_s, self._options.incomplete_timeout_s)
        return self._options.incomplete_timeout_s

    def _on_silence(self) -> None:
        if self._decoder.gap_s is not None:
            for item in self._decoder.end_by_gap():
                self._deliver(item)
        else:
            problem = self._decoder.abandon()
            self._report.dropped(f"{problem.reason} within {self._options.incomplete_timeout_s}s", problem.typed)

    def _deliver(self, item: WedgeScan | WedgeProblem) -> None:
        if isinstance(item, WedgeScan):
            self._report.scan(item.label, item.raw)
        else:
            self._report.dropped(item.reason, item.typed)
