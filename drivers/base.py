"""The driver contract: what every device driver is, and the five capability interfaces.

A driver is codec + transport + behaviour. The device manager constructs it once per configured device
(with its validated options and a :class:`DeviceContext`), then calls :meth:`Driver.run` with a freshly
opened transport on every connection attempt. ``run`` returns or raises when the device is lost; the
manager owns retries and backoff. A driver knows nothing of HTTP.
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from drivers.errors import DeviceOffline, NotSupported
from drivers.models import DeviceKind, DeviceState, HealthResult, PrinterStatus, Weight
from drivers.transports import Transport

HealthLevel = Literal["internal", "external"]


class NoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Statistics(Protocol):
    """UPOS statistics of one device (names as in UPOS: GoodScanCount, PaperCutCount, …)."""

    def increment(self, name: str, by: int = 1) -> None: ...

    def snapshot(self) -> dict[str, int]: ...


@runtime_checkable
class PeerLink(Protocol):
    """What a device reached through another device gets instead of a byte transport."""

    peer_id: str

    def peer(self) -> Driver:
        """The peer's driver if it is connected; raises DeviceOffline otherwise."""
        ...

    async def wait_peer_ready(self) -> Driver:
        """Wait until the peer is connected and return its driver."""
        ...

    async def wait_peer_lost(self) -> None:
        """Return when the peer's connection ends."""
        ...


class DeviceContext(Protocol):
    """The device manager's side of the contract, handed to the driver at construction."""

    device_id: str

    @property
    def stats(self) -> Statistics: ...

    def publish(self, topic: str, data: Mapping[str, Any]) -> None:
        """Publish an event for this device on the bus."""
        ...

    def set_state(self, state: DeviceState, reason: str | None = None) -> None: ...

    @property
    def state(self) -> DeviceState: ...


DeviceLink = Transport | PeerLink


class Driver(abc.ABC):
    """Base of every driver. Subclasses set ``kind`` and, if they take options, ``Options``."""

    kind: ClassVar[DeviceKind]
    Options: ClassVar[type[BaseModel]] = NoOptions

    def __init__(self, ctx: DeviceContext, options: BaseModel) -> None:
        self.ctx = ctx
        self.options = options

    @abc.abstractmethod
    async def run(self, link: DeviceLink) -> None:
        """Talk to the device over ``link`` until it is lost (return or raise).

        Call ``ctx.set_state(DeviceState.READY)`` once the device has shown it is there.
        """

    def status(self) -> dict[str, Any]:
        """Live device status for ``Device.status`` in the API."""
        return {}

    async def check_health(self, level: HealthLevel) -> HealthResult:
        """UPOS CheckHealth. ``internal`` has no physical effect; ``external`` may print or beep."""
        ready = self.ctx.state in (DeviceState.READY, DeviceState.BUSY)
        return HealthResult(ok=ready, text=f"{self.ctx.device_id} is {self.ctx.state.value}")

    def require_ready(self) -> None:
        if self.ctx.state not in (DeviceState.READY, DeviceState.BUSY):
            raise DeviceOffline(f"{self.ctx.device_id} is {self.ctx.state.value}")

    @staticmethod
    def peer_link(link: DeviceLink) -> PeerLink:
        if not isinstance(link, PeerLink):
            raise TypeError("this driver is reached through another device, not a byte transport")
        return link

    @staticmethod
    def byte_transport(link: DeviceLink) -> Transport:
        if not isinstance(link, Transport):
            raise TypeError("this driver needs a byte transport (serial, tcp, …), not a peer device")
        return link


class ReceiptPrinter(Driver):
    kind = DeviceKind.PRINTER

    @abc.abstractmethod
    def render_job(self, kind: str, payload: bytes, *, copy: bool, strict: bool, replacement: str) -> bytes:
        """Turn a job (``document`` JSON, ``raw`` bytes or ``image`` PNG) into this printer's bytes.

        ``copy`` marks a reprint visibly. Raises ValueError subclasses with a ``code`` on bad input.
        This and the other pure methods below (kicks, preview) are CPU work: the print service calls them on
        its render thread, never on the event loop, so they must not touch the transport.
        """

    def drawer_kicks(self, data: bytes) -> str | None:
        """A description of the drawer kicks in raw ``data`` (None if there are none), for scope and audit."""
        return None

    def without_drawer_kicks(self, data: bytes) -> bytes:
        """``data`` with its drawer kicks made harmless (a kick that may no longer fire)."""
        return data

    @abc.abstractmethod
    def preview_png(self, data: bytes) -> bytes:
        """A picture of what ``data`` (from :meth:`render_job`) prints on this printer."""

    @abc.abstractmethod
    async def print_bytes(self, data: bytes, *, check_ready: bool = False) -> None:
        """Send a whole job's bytes; raises TransportError/DeviceOffline when it cannot.

        With ``check_ready`` the printer's status is read first, and PrinterNotReady is raised before
        any byte is sent if it cannot print (paper end, cover open, offline).
        """

    @property
    @abc.abstractmethod
    def printer_status(self) -> PrinterStatus | None: ...


@runtime_checkable
class DrawerPort(Protocol):
    """A printer's drawer-kick connector: pulse a pin, sense pin 3."""

    async def kick_drawer(self, pin: Literal[2, 5], on_ms: int, off_ms: int) -> None: ...

    @property
    def drawer_sensor_high(self) -> bool | None: ...

    def add_drawer_listener(self, listener: DrawerListener) -> None: ...

    def remove_drawer_listener(self, listener: DrawerListener) -> None: ...


class DrawerListener(Protocol):
    def __call__(self, sensor_high: bool) -> None: ...


class Scanner(Driver):
    kind = DeviceKind.SCANNER


class Scale(Driver):
    kind = DeviceKind.SCALE

    @abc.abstractmethod
    async def read_weight(self, *, stable: bool, timeout: float) -> Weight:
        """The current weight; with ``stable`` wait for a stable reading or raise DeviceTimeout."""

    async def zero(self) -> None:
        raise NotSupported("this scale cannot be zeroed remotely")

    async def tare(self) -> None:
        raise NotSupported("this scale has no remote tare")


class CashDrawer(Driver):
    kind = DeviceKind.DRAWER

    @abc.abstractmethod
    async def open_drawer(self) -> bool | None:
        """Fire the drawer once (never retried). Returns the sensed state after the pulse, or None if unsensed."""

    @property
    @abc.abstractmethod
    def opened(self) -> bool | None: ...

    @abc.abstractmethod
    async def wait_closed(self, timeout: float) -> bool: ...


class LineDisplay(Driver):
    kind = DeviceKind.DISPLAY
    rows: ClassVar[int] = 2
    columns: ClassVar[int] = 20

    @abc.abstractmethod
    async def show_text(self, lines: list[str]) -> None: ...


async def run_together(*coroutines: Coroutine[Any, Any, None]) -> None:
    """Run a driver's loops side by side; when one fails, stop the others and raise its error (unwrapped)."""
    try:
        async with asyncio.TaskGroup() as group:
            for coroutine in coroutines:
                group.create_task(coroutine)
    except BaseExceptionGroup as group_error:
        first = group_error.exceptions[0]
        raise first from first.__cause__


class StateWatch:
    """Lets coroutines wait for a condition on state that plain (non-async) code updates.

    Call :meth:`notify` after every change; waiters re-check their predicate. No tasks, no locks.
    """

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait_for(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """True once ``predicate()`` holds, False if ``timeout`` passes first."""
        try:
            async with asyncio.timeout(timeout):
                while not predicate():
                    await self._event.wait()
        except TimeoutError:
            return False
        return True


class QuietTimer:
    """Calls ``on_quiet`` once ``delay`` seconds pass without a :meth:`restart` (then stays idle).

    Push-mode drivers use it for "the rest of this label never came": the read timeout of a pull loop.
    """

    def __init__(self, delay: float, on_quiet: Callable[[], None]) -> None:
        self._delay = delay
        self._on_quiet = on_quiet
        self._handle: asyncio.TimerHandle | None = None

    def restart(self, delay: float | None = None) -> None:
        """Fire ``delay`` (default: the constructor's) seconds from now, unless restarted or cancelled."""
        if self._handle is not None:
            self._handle.cancel()
        self._handle = asyncio.get_running_loop().call_later(self._delay if delay is None else delay, self._fire)

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _fire(self) -> None:
        self._handle = None
        self._on_quiet()
