"""Cash drawer on an ESC/POS printer's kick connector, sensed through the printer's pin-3 status."""

from __future__ import annotations

import logging
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from drivers.base import CashDrawer, DeviceContext, DeviceLink, DrawerPort, PeerLink, StateWatch
from drivers.errors import DeviceOffline
from drivers.models import DeviceState, DrawerStatus

_LOGGER = logging.getLogger(__name__)


class EscposDrawerOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pin: Literal[2, 5] = Field(2, description="Kick connector pin the drawer solenoid is wired to.")
    on_ms: int = Field(100, ge=2, le=510, description="Pulse length.")
    off_ms: int = Field(200, ge=2, le=510, description="Rest after the pulse.")
    open_when_pin3: Literal["high", "low"] = Field("high", description="Sensor polarity: pin-3 level meaning open.")
    sensed: bool = Field(True, description="False for drawers without a sensor switch.")
    open_confirm_s: float = Field(1.0, gt=0, description="How long to wait for the sensor to show open after a kick.")


class EscposDrawer(CashDrawer):
    Options = EscposDrawerOptions
    options: EscposDrawerOptions

    def __init__(self, ctx: DeviceContext, options: BaseModel) -> None:
        super().__init__(ctx, options)
        self._link: PeerLink | None = None
        self._opened: bool | None = None
        self._changed = StateWatch()

    @property
    def opened(self) -> bool | None:
        return self._opened if self.options.sensed else None

    def status(self) -> dict[str, object]:
        return {"opened": self.opened}

    def _port(self) -> DrawerPort:
        if self._link is None:
            raise DeviceOffline(f"{self.ctx.device_id} is {self.ctx.state.value}")
        peer = self._link.peer()
        if not isinstance(peer, DrawerPort):
            raise DeviceOffline(f"{self._link.peer_id} has no drawer-kick connector")
        return peer

    def _on_sensor(self, sensor_high: bool) -> None:
        opened = sensor_high == (self.options.open_when_pin3 == "high")
        if opened == self._opened or not self.options.sensed:
            return
        self._opened = opened
        self.ctx.publish("drawer.status", DrawerStatus(opened=opened).model_dump(mode="json"))
        self._changed.notify()

    async def run(self, link: DeviceLink) -> None:
        peer_link = self.peer_link(link)
        self._link = peer_link
        while True:
            self.ctx.set_state(DeviceState.OFFLINE, f"waiting for printer {peer_link.peer_id}")
            printer = await peer_link.wait_peer_ready()
            if not isinstance(printer, DrawerPort):
                raise DeviceOffline(f"{peer_link.peer_id} has no drawer-kick connector")
            printer.add_drawer_listener(self._on_sensor)
            try:
                if printer.drawer_sensor_high is not None:
                    self._on_sensor(printer.drawer_sensor_high)
                self.ctx.set_state(DeviceState.READY)
                await peer_link.wait_peer_lost()
            finally:
                printer.remove_drawer_listener(self._on_sensor)

    async def open_drawer(self) -> bool | None:
        port = self._port()
        self.require_ready()
        await port.kick_drawer(self.options.pin, self.options.on_ms, self.options.off_ms)
        if not self.options.sensed:
            self.ctx.stats.increment("DrawerGoodOpenCount")
            return None
        if not await self._changed.wait_for(lambda: self._opened is True, self.options.open_confirm_s):
            self.ctx.stats.increment("DrawerFailedOpenCount")
            return False
        self.ctx.stats.increment("DrawerGoodOpenCount")
        return True

    async def wait_closed(self, timeout: float) -> bool:
        self.require_ready()
        if not self.options.sensed:
            return False
        return await self._changed.wait_for(lambda: self._opened is False, timeout)
