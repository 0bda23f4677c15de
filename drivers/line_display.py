"""Behaviour shared by the write-only 2-line customer displays (CD5220, Epson DM-D, Logic Controls).

A command set only says which bytes set the display up (:meth:`SerialLineDisplay.setup_bytes`) and which
bytes show two lines (:meth:`SerialLineDisplay.text_bytes`); validation, state, events and the transport
are the same for all of them.
"""

from __future__ import annotations

import abc
import asyncio

from pydantic import BaseModel, ConfigDict, Field, field_validator

from drivers.base import DeviceContext, DeviceLink, LineDisplay
from drivers.display_text import check_single_byte_encoding
from drivers.errors import DeviceOffline, TransportTimeout
from drivers.models import DeviceState, DisplayState
from drivers.transports import Transport

#: Displays never talk back; the read only exists to notice a hang-up (unplug) promptly.
HANGUP_POLL_S = 60.0


class LineDisplayOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    encoding: str = Field(
        "cp437", description="Python codec of the display's character table (a single-byte code page)."
    )

    @field_validator("encoding")
    @classmethod
    def _single_byte(cls, value: str) -> str:
        return check_single_byte_encoding(value)


class SerialLineDisplay(LineDisplay):
    """A display reached over a byte transport that only listens."""

    Options = LineDisplayOptions
    options: LineDisplayOptions

    def __init__(self, ctx: DeviceContext, options: BaseModel) -> None:
        super().__init__(ctx, options)
        self._transport: Transport | None = None
        self._lines: list[str] = ["", ""]
        self._write_lock = asyncio.Lock()

    @abc.abstractmethod
    def setup_bytes(self) -> bytes:
        """Sent once per connection, before the current lines (reset, mode, code page)."""

    @abc.abstractmethod
    def text_bytes(self, lines: list[str]) -> bytes:
        """The bytes that show ``lines``; raises TextTooLong / UnsupportedText before anything is sent."""

    def status(self) -> dict[str, object]:
        return {"lines": list(self._lines)}

    async def run(self, link: DeviceLink) -> None:
        transport = self.byte_transport(link)
        # After a re-plug the display shows what it showed before it was lost.
        await transport.write(self.setup_bytes() + self.text_bytes(self._lines))
        self._transport = transport
        self.ctx.set_state(DeviceState.READY)
        try:
            while True:
                try:
                    await transport.read(HANGUP_POLL_S)
                except TransportTimeout:
                    continue
        finally:
            self._transport = None

    async def show_text(self, lines: list[str]) -> None:
        data = self.text_bytes(lines)  # bad input is refused here, before the device is touched
        self.require_ready()
        async with self._write_lock:
            transport = self._transport
            if transport is None:
                raise DeviceOffline(f"{self.ctx.device_id} is {self.ctx.state.value}")
            await transport.write(data)
            self._lines = [*lines, *[""] * (self.rows - len(lines))]
        self.ctx.publish("display.state", DisplayState(lines=self._lines).model_dump(mode="json"))
