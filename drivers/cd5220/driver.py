"""CD5220-compatible customer display driver (serial, write-only)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from drivers.base import DeviceContext, DeviceLink, LineDisplay
from drivers.cd5220.codec import INIT, encode_lines
from drivers.errors import TransportTimeout
from drivers.models import DeviceState, DisplayState
from drivers.transports import Transport

#: Displays never talk back; the read only exists to notice a hang-up (unplug) promptly.
HANGUP_POLL_S = 60.0


class Cd5220Options(BaseModel):
    model_config = ConfigDict(extra="forbid")

    encoding: str = Field("cp437", description="Python codec of the display's character table.")
    columns: int = Field(20, ge=1, le=40)


class Cd5220Display(LineDisplay):
    Options = Cd5220Options
    options: Cd5220Options

    def __init__(self, ctx: DeviceContext, options: BaseModel) -> None:
        super().__init__(ctx, options)
        self._transport: Transport | None = None
        self._lines: list[str] = ["", ""]

    def status(self) -> dict[str, object]:
        return {"lines": list(self._lines)}

    async def run(self, link: DeviceLink) -> None:
        transport = self.byte_transport(link)
        await transport.write(INIT + encode_lines(self._lines, self.options.encoding, self.options.columns))
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
        data = encode_lines(lines, self.options.encoding, self.options.columns)
        self.require_ready()
        assert self._transport is not None
        await self._transport.write(data)
        self._lines = [*lines, *[""] * (2 - len(lines))]
        self.ctx.publish("display.state", DisplayState(lines=self._lines).model_dump(mode="json"))
