"""Cash drawer on an ESC/POS printer's kick connector, sensed through the printer's pin-3 status."""

from __future__ import annotations

import asyncio
import logging
from typing import Literal

from pydantic import BaseModel, Field

from drivers.base import DeviceContext, DeviceLink, PeerLink
from drivers.drawers import DrawerOptions, ExpiringKickPort, KickExpired, SensedDrawer
from drivers.errors import DeviceOffline
from drivers.models import DeviceState

_LOGGER = logging.getLogger(__name__)


class EscposDrawerOptions(DrawerOptions):
    pin: Literal[2, 5] = Field(2, description="Kick connector pin the drawer solenoid is wired to.")
    on_ms: int = Field(100, ge=2, le=510, description="Pulse length.")
    off_ms: int = Field(200, ge=2, le=510, description="Rest after the pulse.")
    open_when_pin3: Literal["high", "low"] = Field("high", description="Sensor polarity: pin-3 level meaning open.")
    kick_command: Literal["esc_p", "realtime"] = Field(
        "esc_p",
        description="esc_p (ESC p, every printer): sent only while the printer reports itself online, since an "
        "offline printer would queue it and fire it on recovery. realtime (DLE DC4 1, pulse in 100 ms steps): "
        "executed on receipt or ignored, never queued, so it can open the drawer at paper end; not on every model.",
    )


class EscposDrawer(SensedDrawer):
    Options = EscposDrawerOptions
    options: EscposDrawerOptions

    def __init__(self, ctx: DeviceContext, options: BaseModel) -> None:
        super().__init__(ctx, options)
        self._link: PeerLink | None = None

    def _on_sensor(self, sensor_high: bool) -> None:
        self.sensed(sensor_high == (self.options.open_when_pin3 == "high"))

    async def run(self, link: DeviceLink) -> None:
        peer_link = self.peer_link(link)
        self._link = peer_link
        while True:
            self.ctx.set_state(DeviceState.OFFLINE, f"waiting for printer {peer_link.peer_id}")
            printer = await peer_link.wait_peer_ready()
            if not isinstance(printer, ExpiringKickPort):
                raise DeviceOffline(f"{peer_link.peer_id} has no drawer-kick connector")
            printer.add_drawer_listener(self._on_sensor)
            try:
                if printer.drawer_sensor_high is not None:
                    self._on_sensor(printer.drawer_sensor_high)
                self.ctx.set_state(DeviceState.READY)
                await peer_link.wait_peer_lost()
            finally:
                printer.remove_drawer_listener(self._on_sensor)
                self.sensing_lost()

    async def _fire(self, deadline: float) -> None:
        link = self._link
        if link is None:
            raise KickExpired(f"{self.ctx.device_id} has not been connected")
        try:
            async with asyncio.timeout_at(deadline):
                printer = await link.wait_peer_ready()
        except TimeoutError:
            raise KickExpired(f"printer {link.peer_id} was not connected before the kick expired") from None
        if not isinstance(printer, ExpiringKickPort):
            raise DeviceOffline(f"{link.peer_id} has no drawer-kick connector")
        o = self.options
        await printer.kick_drawer(o.pin, o.on_ms, o.off_ms, deadline=deadline, realtime=o.kick_command == "realtime")
