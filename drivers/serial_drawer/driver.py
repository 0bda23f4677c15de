"""Standalone serial cash drawer: opens on a byte; if the box can report it, the switch is polled."""

from __future__ import annotations

import asyncio
import logging
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from drivers.base import DeviceContext, DeviceLink, StateWatch, run_together
from drivers.drawers import DrawerOptions, KickExpired, SensedDrawer
from drivers.errors import TransportTimeout
from drivers.models import DeviceState
from drivers.serial_drawer.codec import DrawerReading, StatusDecoder
from drivers.transports import Transport

_LOGGER = logging.getLogger(__name__)

IDLE_READ_TIMEOUT = 60.0


def _hex_bytes(value: str) -> str:
    try:
        bytes.fromhex(value)
    except ValueError as err:
        raise ValueError(f"{value!r} is not hex bytes like '07' or '1b 07'") from err
    return value


class SerialDrawerOptions(DrawerOptions):
    open_command: str = Field("07", description="Bytes (hex) that open the drawer: 07 (BEL) on IBM-style ports.")
    status_command: str = Field(
        "06", description="Bytes (hex) asking for the status byte: 06 (ACK) on IBM-style ports; empty if none."
    )
    open_mask: int = Field(0x40, ge=1, le=0x7F, description="Status bit(s) of the drawer switch (0x40: bit 6).")
    open_when: Literal["set", "clear"] = Field("set", description="Whether the drawer is open when the bit is set.")
    poll_s: float = Field(0.25, gt=0, description="Time between status requests.")
    reply_timeout_s: float = Field(0.5, gt=0, description="Time the box has to answer a status request.")
    missed_replies_offline: int = Field(3, ge=1, description="Unanswered status requests in a row that mean offline.")

    _hex = field_validator("open_command", "status_command")(_hex_bytes)

    @model_validator(mode="after")
    def _sensing_needs_a_request(self) -> SerialDrawerOptions:
        if not bytes.fromhex(self.open_command):
            raise ValueError("open_command is empty: the drawer could never open")
        if self.sensed and not bytes.fromhex(self.status_command):
            raise ValueError("status_command is empty but sensed = true: set sensed = false for a trigger box")
        return self


class SerialDrawer(SensedDrawer):
    Options = SerialDrawerOptions
    options: SerialDrawerOptions

    def __init__(self, ctx: DeviceContext, options: BaseModel) -> None:
        super().__init__(ctx, options)
        self._transport: Transport | None = None
        self._connection = StateWatch()
        self._io_lock = asyncio.Lock()
        self._reply: asyncio.Future[bool] | None = None
        self._poll_now = asyncio.Event()

    async def run(self, link: DeviceLink) -> None:
        transport = self.byte_transport(link)
        self._transport = transport
        self._connection.notify()
        try:
            if self.options.sensed:
                await run_together(self._read_loop(transport), self._poll_loop(transport))
            else:
                self.ctx.set_state(DeviceState.READY)
                await self._read_loop(transport)  # only to notice the box going away
        finally:
            self._transport = None
            self.sensing_lost()
            if self._reply is not None and not self._reply.done():
                self._reply.cancel()

    async def _read_loop(self, transport: Transport) -> None:
        decoder = StatusDecoder(self.options.open_mask, self.options.open_when == "set")
        while True:
            try:
                data = await transport.read(IDLE_READ_TIMEOUT)
            except TransportTimeout:
                continue
            for item in decoder.feed(data):
                if isinstance(item, DrawerReading) and self._reply is not None and not self._reply.done():
                    self._reply.set_result(item.opened)
                else:
                    self.ctx.stats.increment("CommunicationErrorCount")
                    _LOGGER.debug("%s: unexpected byte %#04x", self.ctx.device_id, item.byte)

    async def _poll_loop(self, transport: Transport) -> None:
        request = bytes.fromhex(self.options.status_command)
        missed = 0
        while True:
            self._reply = asyncio.get_running_loop().create_future()
            try:
                async with self._io_lock:
                    await transport.write(request, timeout=self.options.reply_timeout_s)
                async with asyncio.timeout(self.options.reply_timeout_s):
                    opened = await self._reply
            except (TimeoutError, TransportTimeout):
                missed += 1
                if missed >= self.options.missed_replies_offline:
                    raise TransportTimeout("the drawer does not answer status requests") from None
                continue
            missed = 0
            self.sensed(opened)
            if self.ctx.state is not DeviceState.READY:
                self.ctx.set_state(DeviceState.READY)
            self._poll_now.clear()
            try:
                async with asyncio.timeout(self.options.poll_s):
                    await self._poll_now.wait()
            except TimeoutError:
                pass

    async def _fire(self, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        if not await self._connection.wait_for(lambda: self._transport is not None, deadline - loop.time()):
            raise KickExpired(f"{self.ctx.device_id} was not connected before the kick expired")
        try:
            async with asyncio.timeout_at(deadline):
                await self._io_lock.acquire()
        except TimeoutError:
            raise KickExpired(f"{self.ctx.device_id} stayed busy; the kick expired unsent") from None
        try:
            transport = self._transport
            # An uncontended lock is taken without waiting: check the deadline and the link explicitly.
            if transport is None or loop.time() >= deadline:
                raise KickExpired(f"{self.ctx.device_id} was lost before the kick could be sent")
            await transport.write(bytes.fromhex(self.options.open_command), timeout=self.options.reply_timeout_s)
        finally:
            self._io_lock.release()
        self._poll_now.set()
