"""ESC/POS receipt printer driver: status by DLE EOT polling or Automatic Status Back, job bytes, drawer kicks."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import deque
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from drivers.base import DeviceContext, DeviceLink, DrawerListener, ReceiptPrinter, run_together
from drivers.drawers import KickExpired
from drivers.errors import DeviceOffline, PrinterNotReady, TransportError, TransportTimeout
from drivers.escpos.codec import (
    P1_DRAWER_PIN3,
    P1_OFFLINE,
    REALTIME_REPLY_VALUE,
    STATUS_OFFLINE_CAUSE,
    STATUS_PAPER,
    STATUS_PRINTER,
    AutoStatus,
    RealtimeReply,
    StatusDecoder,
    asb_enable,
    decode_status,
    drawer_kick,
    realtime_drawer_pulse,
    status_request,
)
from drivers.escpos.document import Document
from drivers.escpos.interpreter import count_printed
from drivers.escpos.kick_detect import describe_drawer_kicks, neutralize_drawer_kicks
from drivers.escpos.profile import DEFAULT_PROFILE_NAME, PrinterProfile, ProfileOverrides, get_profile
from drivers.escpos.render import render_document, render_image, render_raw
from drivers.models import DeviceState, HealthResult, PrinterStatus
from drivers.transports import Transport

_LOGGER = logging.getLogger(__name__)

IDLE_READ_TIMEOUT = 60.0


class EscposOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status_poll_s: float = Field(0.2, gt=0, description="How often DLE EOT status is polled.")
    reply_timeout_s: float = Field(0.5, gt=0, description="Time the printer has to answer a status request.")
    missed_replies_offline: int = Field(3, ge=1, description="Unanswered status polls in a row that mean offline.")
    status: Literal["poll", "asb"] = Field(
        "poll",
        description="How status changes are learnt: poll (DLE EOT every status_poll_s) or asb (Automatic Status "
        "Back: the printer reports every change itself; DLE EOT every liveness_poll_s checks it still answers).",
    )
    liveness_poll_s: float = Field(
        1.0, gt=0, description="With status = asb: how often DLE EOT checks that the printer still answers."
    )
    write_bytes_per_s: int = Field(
        11520, gt=0, description="Slowest expected line speed; sets write timeouts (115200 baud by default)."
    )
    profile: str = Field(
        DEFAULT_PROFILE_NAME,
        description="Printer model profile, a python-escpos capability database name (e.g. TM-T20II, TM-T88V, "
        "POS-5890) or posd-simulated-80mm: paper width, columns, code pages, double-byte mode, cutter, QR.",
    )
    profile_overrides: ProfileOverrides | None = Field(
        None,
        description="Corrections to the profile for this unit, a table of any of: width_dots, columns_a, columns_b, "
        "dpi, code_pages (Python codec = ESC t number, replacing the list), double_byte (gb18030, gbk, gb2312 or "
        "none), double_byte_default, full_cut, partial_cut, native_qr, native_barcodes, max_image_height_dots.",
    )

    @field_validator("profile")
    @classmethod
    def _profile_exists(cls, name: str) -> str:
        try:
            get_profile(name)
        except KeyError as err:
            raise ValueError(str(err).strip("'\"")) from None
        return name

    def printer_profile(self) -> PrinterProfile:
        """The profile with this unit's overrides (KeyError for an unknown name)."""
        return get_profile(self.profile, self.profile_overrides)


class EscposPrinter(ReceiptPrinter):
    Options = EscposOptions
    options: EscposOptions

    def __init__(self, ctx: DeviceContext, options: BaseModel) -> None:
        super().__init__(ctx, options)
        self._transport: Transport | None = None
        self._io_lock = asyncio.Lock()
        self._replies: deque[asyncio.Future[int]] = deque()
        self._poll_now = asyncio.Event()
        self._status: PrinterStatus | None = None
        self._drawer_high: bool | None = None
        self._drawer_listeners: list[DrawerListener] = []
        self._asb_messages = 0
        self.profile: PrinterProfile = self.options.printer_profile()

    # -- status ------------------------------------------------------------------------------------
    @property
    def printer_status(self) -> PrinterStatus | None:
        return self._status

    def status(self) -> dict[str, object]:
        return self._status.model_dump(mode="json") if self._status else {}

    @property
    def drawer_sensor_high(self) -> bool | None:
        return self._drawer_high

    def add_drawer_listener(self, listener: DrawerListener) -> None:
        self._drawer_listeners.append(listener)

    def remove_drawer_listener(self, listener: DrawerListener) -> None:
        if listener in self._drawer_listeners:
            self._drawer_listeners.remove(listener)

    async def run(self, link: DeviceLink) -> None:
        transport = self.byte_transport(link)
        self._transport = transport
        try:
            await run_together(self._read_loop(transport), self._poll_loop(transport))
        finally:
            self._transport = None
            for waiting in self._replies:
                waiting.cancel()
            self._replies.clear()

    async def _read_loop(self, transport: Transport) -> None:
        decoder = StatusDecoder()
        while True:
            try:
                data = await transport.read(IDLE_READ_TIMEOUT)
            except TransportTimeout:
                continue
            for item in decoder.feed(data):
                if isinstance(item, AutoStatus):
                    self._asb_messages += 1
                    self._apply_status(item.status, item.drawer_pin3_high)
                elif isinstance(item, RealtimeReply) and self._replies:
                    # Real-time requests are answered in the order they were sent.
                    waiting = self._replies.popleft()
                    if not waiting.done():
                        waiting.set_result(item.byte)
                else:
                    _LOGGER.debug("%s: unexpected byte from printer: %#04x", self.ctx.device_id, item.byte)

    async def _request_status(self, transport: Transport, *requests: int) -> list[int]:
        """Send DLE EOT requests in one write and await their replies (caller holds the I/O lock)."""
        loop = asyncio.get_running_loop()
        # Replies left over from a request that timed out would be taken for these ones.
        self._replies.clear()
        waiting = [loop.create_future() for _ in requests]
        self._replies.extend(waiting)
        await transport.write(b"".join(status_request(n) for n in requests), timeout=self.options.reply_timeout_s)
        try:
            async with asyncio.timeout(self.options.reply_timeout_s):
                return [await reply for reply in waiting]
        except TimeoutError as err:
            self._replies.clear()
            raise TransportTimeout(f"no reply to DLE EOT {requests} within {self.options.reply_timeout_s}s") from err

    async def _poll_loop(self, transport: Transport) -> None:
        missed = 0
        asb = self.options.status == "asb"
        interval = self.options.liveness_poll_s if asb else self.options.status_poll_s
        asb_before_session = self._asb_messages
        while True:
            try:
                async with self._io_lock:
                    await self._fresh_status(transport)
                    if asb and self._asb_messages == asb_before_session:
                        # (Again) until the printer answers with its first ASB message.
                        await transport.write(asb_enable(), timeout=self.options.reply_timeout_s)
            except TransportTimeout:
                missed += 1
                if missed >= self.options.missed_replies_offline:
                    raise TransportTimeout("the printer does not answer status requests") from None
                continue
            missed = 0
            self._poll_now.clear()
            try:
                async with asyncio.timeout(interval):
                    await self._poll_now.wait()
            except TimeoutError:
                pass

    def _apply_status(self, status: PrinterStatus, drawer_high: bool) -> None:
        if status != self._status:
            if self._status is not None and self._status.cover == "closed" and status.cover == "open":
                self.ctx.stats.increment("ReceiptCoverOpenCount")
            self._status = status
            self.ctx.publish("printer.status", status.model_dump(mode="json"))
        if drawer_high != self._drawer_high:
            self._drawer_high = drawer_high
            for listener in tuple(self._drawer_listeners):
                listener(drawer_high)
        if self.ctx.state is not DeviceState.BUSY:
            self.ctx.set_state(*self._state_for(status))

    @staticmethod
    def _state_for(status: PrinterStatus) -> tuple[DeviceState, str | None]:
        if status.cover == "open":
            return DeviceState.ERROR, "cover_open"
        if status.paper == "end":
            return DeviceState.ERROR, "paper_end"
        if not status.online:
            return DeviceState.ERROR, "offline"
        return DeviceState.READY, None

    # -- output ------------------------------------------------------------------------------------
    @functools.cached_property
    def profile(self) -> PrinterProfile:
        """This printer's profile (checked when the configuration was loaded)."""
        return self.options.printer_profile()

    def render_job(self, kind: str, payload: bytes, *, copy: bool, strict: bool, replacement: str) -> bytes:
        if kind == "raw":
            return render_raw(payload, copy=copy, profile=self.profile)
        if kind == "image":
            return render_image(payload, self.profile, copy=copy)
        document = Document.model_validate_json(payload)
        return render_document(document, self.profile, copy=copy, strict=strict, replacement=replacement)

    def drawer_kicks(self, data: bytes) -> str | None:
        return describe_drawer_kicks(data)

    def without_drawer_kicks(self, data: bytes) -> bytes:
        return neutralize_drawer_kicks(data)

    def preview_png(self, data: bytes) -> bytes:
        from drivers.escpos.paper import preview_png  # Pillow and fonts load only when someone asks for a picture

        # The same interpreter as the simulated printer, so the preview is what the paper shows.
        return preview_png(data, self.profile)

    def _connected(self) -> Transport:
        if self._transport is None:
            raise DeviceOffline(f"{self.ctx.device_id} is {self.ctx.state.value}")
        return self._transport

    async def _fresh_status(self, transport: Transport) -> PrinterStatus:
        """Read the status now (caller holds the I/O lock)."""
        asb_messages = self._asb_messages
        printer, paper = await self._request_status(transport, STATUS_PRINTER, STATUS_PAPER)
        # The offline cause (cover, paper-end stop) only matters when the printer says it is offline.
        cause = (
            (await self._request_status(transport, STATUS_OFFLINE_CAUSE))[0]
            if printer & P1_OFFLINE
            else REALTIME_REPLY_VALUE
        )
        status = decode_status(printer, cause, paper)
        if self._asb_messages != asb_messages and self._status is not None:
            return self._status  # an ASB message came in meanwhile: newer than these replies
        self._apply_status(status, bool(printer & P1_DRAWER_PIN3))
        return status

    async def print_bytes(self, data: bytes, *, check_ready: bool = False) -> None:
        transport = self._connected()
        timeout = 2.0 + 2 * len(data) / self.options.write_bytes_per_s
        async with self._io_lock:
            if check_ready:
                state, reason = self._state_for(await self._fresh_status(transport))
                if reason is not None:
                    raise PrinterNotReady(reason)
            self.ctx.set_state(DeviceState.BUSY)
            if self.options.status == "asb":
                data += asb_enable()  # the job's ESC @ switches ASB off on some printers (Bixolon)
            try:
                await transport.write(data, timeout=timeout)
            finally:
                if self.ctx.state is DeviceState.BUSY:
                    state, reason = self._state_for(self._status) if self._status else (DeviceState.READY, None)
                    self.ctx.set_state(state, reason)
        self._poll_now.set()
        printed = await asyncio.to_thread(count_printed, data)  # CPU work: not on the event loop
        self.ctx.stats.increment("ReceiptLinePrintedCount", printed.lines)
        self.ctx.stats.increment("PaperCutCount", printed.cuts)
        self.ctx.stats.increment("BarCodePrintedCount", printed.barcodes)

    async def kick_drawer(
        self, pin: Literal[2, 5], on_ms: int, off_ms: int, *, deadline: float | None = None, realtime: bool = False
    ) -> None:
        """Pulse a drawer pin at most once, and only before ``deadline`` (``loop.time()``; default in 5 s).

        ESC p goes out only right after a status read shows the printer online: an offline printer would
        queue it and fire the drawer whenever it recovers. ``realtime`` sends DLE DC4 1, which a printer
        executes on receipt or ignores, so it needs no status check. KickExpired: nothing was sent.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5.0 if deadline is None else deadline
        command = realtime_drawer_pulse(pin, on_ms) if realtime else drawer_kick(pin, on_ms, off_ms)
        why: str | None = "busy"
        while True:
            try:
                async with asyncio.timeout_at(deadline):
                    await self._io_lock.acquire()
            except TimeoutError:
                raise KickExpired(f"{self.ctx.device_id} stayed {why}; the kick expired unsent") from None
            try:
                transport = self._transport
                why = "not connected" if transport is None else None
                if transport is not None and not realtime:
                    try:
                        why = self._state_for(await self._fresh_status(transport))[1]
                    except TransportError:  # no reply, or the link broke: nothing was sent
                        why = "unreachable"
                # An uncontended lock is taken without waiting, so timeout_at alone does not enforce the deadline.
                if transport is not None and why is None and loop.time() < deadline:
                    await transport.write(command, timeout=self.options.reply_timeout_s)
                    break
            finally:
                self._io_lock.release()
            if loop.time() >= deadline:
                raise KickExpired(f"{self.ctx.device_id} stayed {why or 'busy'}; the kick expired unsent")
            await asyncio.sleep(min(self.options.status_poll_s, deadline - loop.time()))
        self._poll_now.set()

    async def check_health(self, level: Literal["internal", "external"]) -> HealthResult:
        if self._status is None or self._transport is None:
            return HealthResult(ok=False, text=f"{self.ctx.device_id} is {self.ctx.state.value}")
        status = self._status
        ok = status.online and status.cover == "closed" and status.paper != "end"
        text = f"online={status.online} paper={status.paper} cover={status.cover}"
        if level == "external" and ok:
            await self.print_bytes(b"\x1b@posd test print\n" + self.ctx.device_id.encode() + b"\n\n\n\x1dV\x42\x00")
            text += "; test page printed"
        return HealthResult(ok=ok, text=text)
