"""Behaviour every cash drawer shares: at-most-once kicks that expire, sensing, and the alerts.

A kick is never retried and never sent late. :meth:`SensedDrawer.open_drawer` gives the device until
``kick_expiry_s`` to take the kick (printer busy, offline, reconnecting); past that the kick is dropped
and :class:`KickExpired` is raised, with nothing left queued anywhere that could fire it later.

Sensing: subclasses call :meth:`SensedDrawer.sensed` with each reading. Every change becomes a
``drawer.status`` event; an open that no kick of ours explains also raises a ``drawer.alert``
(``opened_unexpectedly``), and a drawer left open ``open_alert_s`` raises one (``open_too_long``).
"""

from __future__ import annotations

import abc
import asyncio
import logging
import math
import time
from collections.abc import Callable
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from drivers.base import CashDrawer, DeviceContext, DrawerPort, StateWatch
from drivers.errors import DeviceTimeout, NotSupported

_LOGGER = logging.getLogger(__name__)

ALERT_TOPIC = "drawer.alert"
STATUS_TOPIC = "drawer.status"


#: Told of every alert (``{"alert": …}``) besides the event: the daemon's audit log listens here.
AlertListener = Callable[[dict[str, Any]], None]


class KickExpired(DeviceTimeout):
    """The kick could not be handed to the device before it expired; it was dropped, never to be sent."""

    code = "drawer_kick_expired"


@runtime_checkable
class ExpiringKickPort(DrawerPort, Protocol):
    """A printer's drawer-kick connector whose kick honours a deadline (``loop.time()``), never sending after it."""

    async def kick_drawer(
        self, pin: Literal[2, 5], on_ms: int, off_ms: int, *, deadline: float | None = None, realtime: bool = False
    ) -> None: ...


class DrawerOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sensed: bool = Field(True, description="False for drawers without a sensor switch.")
    open_confirm_s: float = Field(1.0, gt=0, description="How long to wait for the sensor to show open after a kick.")
    kick_expiry_s: float = Field(
        5.0,
        gt=0,
        le=30,
        description="A kick the device cannot take within this time (busy, offline, reconnecting) is dropped and "
        "reported expired; it is never sent later.",
    )
    open_alert_s: float = Field(
        120.0, gt=0, description="A drawer open this long raises a drawer.alert event (open_too_long)."
    )


class SensedDrawer(CashDrawer):
    """Base of posd's drawer drivers. Subclasses implement :meth:`_fire` and feed :meth:`sensed`."""

    Options = DrawerOptions
    options: DrawerOptions

    def __init__(self, ctx: DeviceContext, options: BaseModel) -> None:
        super().__init__(ctx, options)
        self._opened: bool | None = None
        self._opened_at: float | None = None
        self._changed = StateWatch()
        self._kick_lock = asyncio.Lock()
        self._alert_timer: asyncio.TimerHandle | None = None
        #: The next open before this time (loop clock) is our kick's; the first open seen uses it up.
        self._expect_open_until = 0.0
        self._alert_listeners: list[AlertListener] = []

    # -- state --------------------------------------------------------------------------------------
    @property
    def opened(self) -> bool | None:
        return self._opened if self.options.sensed else None

    def status(self) -> dict[str, Any]:
        out: dict[str, Any] = {"opened": self.opened}
        if self.opened and self._opened_at is not None:
            out["open_s"] = round(time.monotonic() - self._opened_at, 1)
        return out

    def sensed(self, opened: bool) -> None:
        """A reading of the drawer switch (already turned into open/closed by the sensor polarity)."""
        if not self.options.sensed:
            return
        if opened == self._opened:
            self._arm_alert()  # e.g. sensing resumed after a reconnect with the drawer still open
            return
        previous, self._opened = self._opened, opened
        commanded = opened and asyncio.get_running_loop().time() <= self._expect_open_until
        if opened:
            self._expect_open_until = 0.0  # one kick explains one open
            self._opened_at = time.monotonic()
            self._arm_alert()
        else:
            self._opened_at = None
            self._disarm_alert()
        self.ctx.publish(STATUS_TOPIC, {"opened": opened})
        # Unknown → open (found open at start) is not an event anyone caused while we watched.
        if opened and previous is False and not commanded:
            self._alert({"alert": "opened_unexpectedly"})
        self._changed.notify()

    def add_alert_listener(self, listener: AlertListener) -> None:
        self._alert_listeners.append(listener)

    def _alert(self, data: dict[str, Any]) -> None:
        self.ctx.publish(ALERT_TOPIC, data)
        for listener in tuple(self._alert_listeners):
            listener(data)

    def sensing_lost(self) -> None:
        """The device went away: readings stop, so no open-too-long alert can be trusted until they resume."""
        self._disarm_alert()

    def _arm_alert(self) -> None:
        if self._alert_timer is not None or not self._opened:
            return
        opened_at = self._opened_at if self._opened_at is not None else time.monotonic()
        delay = max(0.0, self.options.open_alert_s - (time.monotonic() - opened_at))
        self._alert_timer = asyncio.get_running_loop().call_later(delay, self._open_too_long)

    def _disarm_alert(self) -> None:
        if self._alert_timer is not None:
            self._alert_timer.cancel()
            self._alert_timer = None

    def _open_too_long(self) -> None:
        self._alert_timer = None
        if self._opened and self._opened_at is not None:
            open_s = round(time.monotonic() - self._opened_at, 1)
            self._alert({"alert": "open_too_long", "open_s": open_s})

    # -- the kick -----------------------------------------------------------------------------------
    @abc.abstractmethod
    async def _fire(self, deadline: float) -> None:
        """Hand one kick to the device before ``deadline`` (loop time) or raise KickExpired, having sent nothing.

        Any other error means the kick may or may not have reached the device: it is reported, never retried.
        """

    def expect_open(self, within_s: float) -> None:
        """An open within ``within_s`` is commanded by someone else's kick (a raw print job): no alert for it."""
        self._expect_open_until = max(self._expect_open_until, asyncio.get_running_loop().time() + within_s)

    def _end_expectation(self, now: float) -> None:
        # Unless the open was already seen (which used the expectation up), it stays ours for open_confirm_s.
        self._expect_open_until = min(self._expect_open_until, now + self.options.open_confirm_s)

    async def open_drawer(self) -> bool | None:
        """Kick once. True: sensed open; False: kicked but the sensor never showed open; None: unsensed.

        Raises KickExpired if the kick could not be sent in time (nothing was sent).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.options.kick_expiry_s
        try:
            async with asyncio.timeout_at(deadline):
                await self._kick_lock.acquire()
        except TimeoutError:
            raise KickExpired(f"another kick of {self.ctx.device_id} held it past the expiry") from None
        try:
            # An open seen from now until the confirmation window closes is ours.
            self._expect_open_until = math.inf
            try:
                await self._fire(deadline)
            except KickExpired:
                self._expect_open_until = 0.0  # nothing was sent: nothing of ours can open it
                self.ctx.stats.increment("DrawerFailedOpenCount")
                raise
            except BaseException:
                self._end_expectation(loop.time())
                self.ctx.stats.increment("DrawerFailedOpenCount")
                raise
            self._end_expectation(loop.time())
            if not self.options.sensed:
                self.ctx.stats.increment("DrawerGoodOpenCount")
                return None
            if not await self._changed.wait_for(lambda: self._opened is True, self.options.open_confirm_s):
                self.ctx.stats.increment("DrawerFailedOpenCount")
                return False
            self.ctx.stats.increment("DrawerGoodOpenCount")
            return True
        finally:
            self._kick_lock.release()

    async def wait_closed(self, timeout: float) -> bool:
        self.require_ready()
        if not self.options.sensed:
            raise NotSupported(f"{self.ctx.device_id} has no sensor: nobody can tell when it is closed")
        return await self._changed.wait_for(lambda: self._opened is False, timeout)
