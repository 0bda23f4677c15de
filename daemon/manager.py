"""The device manager: one supervised task per device, states with reasons, capped exponential backoff.

A driver that raises, or whose transport breaks, takes only its own device to ``offline``/``error``;
the supervisor retries it after a backoff (0.5 s doubling up to 30 s, with jitter, reset after a
session that lasted ``stable_after_s``), or at once when :meth:`DeviceManager.reconnect` is called
(hot-plug add, technician request).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Mapping
from typing import Any

from daemon.config import ResolvedDevice, SupervisorConfig
from daemon.events import EventBus
from daemon.statistics import DeviceStatistics, StatisticsStore
from drivers.base import DeviceLink, Driver, StateWatch
from drivers.errors import DeviceOffline, PosdError, TransportError
from drivers.models import DeviceKind, DeviceState
from drivers.transports import PeerSettings, Transport, make_transport

_LOGGER = logging.getLogger(__name__)

CONNECTED_STATES = frozenset({DeviceState.READY, DeviceState.BUSY, DeviceState.ERROR})


class DeviceNotFound(PosdError):
    code = "device_not_found"


class ManagedDevice:
    """One configured device: its driver, state and statistics. This is the driver's DeviceContext."""

    def __init__(self, resolved: ResolvedDevice, bus: EventBus, stats: DeviceStatistics) -> None:
        config = resolved.config
        self.device_id = config.id
        self.resolved = resolved
        self.kind: DeviceKind = resolved.spec.driver.kind
        self.stats = stats
        self._bus = bus
        self._state = DeviceState.CONNECTING if config.enabled else DeviceState.DISABLED
        self._reason: str | None = None if config.enabled else "disabled in configuration"
        self.in_session = False
        """True while the supervisor runs a driver session (between open and loss)."""
        self.session_active = False
        """True once the driver reported the device connected in the current session."""
        self.session_watch = StateWatch()
        self.retry_at: float | None = None
        self.unplugged: str | None = None
        """Set by hot-plug when the device was removed; cleared when it is added back."""
        self.transport_info: dict[str, Any] = {"type": config.transport.type}
        self._wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self._state_listeners: list[Callable[[], None]] = []
        self.driver: Driver = resolved.spec.driver(self, resolved.options)

    # -- DeviceContext ------------------------------------------------------------------------------
    @property
    def state(self) -> DeviceState:
        return self._state

    @property
    def reason(self) -> str | None:
        return self._reason

    def set_state(self, state: DeviceState, reason: str | None = None) -> None:
        if self.in_session:
            self._set_session(state in CONNECTED_STATES)
        if (state, reason) == (self._state, self._reason):
            return
        self._state, self._reason = state, reason
        for listener in tuple(self._state_listeners):
            listener()
        data: dict[str, Any] = {"state": state.value}
        if reason is not None:
            data["reason"] = reason
        self._bus.publish("device.state", self.device_id, data)
        if state in (DeviceState.OFFLINE, DeviceState.ERROR):
            _LOGGER.info("%s: %s (%s)", self.device_id, state.value, reason)

    def add_state_listener(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` (synchronously) after every state change."""
        self._state_listeners.append(listener)

    def publish(self, topic: str, data: Mapping[str, Any]) -> None:
        self._bus.publish(topic, self.device_id, data)

    # -- supervision helpers --------------------------------------------------------------------------
    def _set_session(self, active: bool) -> None:
        if active != self.session_active:
            self.session_active = active
            self.session_watch.notify()

    def describe(self) -> dict[str, Any]:
        config = self.resolved.config
        out: dict[str, Any] = {
            "id": self.device_id,
            "kind": self.kind.value,
            "driver": self.resolved.spec.name,
            "name": config.name or self.device_id,
            "state": self._state.value,
            "status": self.driver.status(),
            "transport": self.transport_info,
            "simulated": self.resolved.simulated,
            "stats": self.stats.snapshot(),
        }
        if self._reason is not None:
            out["reason"] = self._reason
        if self.retry_at is not None:
            out["retry_in_s"] = round(max(0.0, self.retry_at - time.monotonic()), 2)
        return out


class ManagerPeerLink:
    """A device's view of the device it is reached through (a drawer's printer)."""

    def __init__(self, peer: ManagedDevice) -> None:
        self._peer = peer
        self.peer_id = peer.device_id

    def peer(self) -> Driver:
        if not self._peer.session_active:
            raise DeviceOffline(f"{self.peer_id} is {self._peer.state.value}")
        return self._peer.driver

    async def wait_peer_ready(self) -> Driver:
        while not self._peer.session_active:
            await self._peer.session_watch.wait_for(lambda: self._peer.session_active, 3600.0)
        return self._peer.driver

    async def wait_peer_lost(self) -> None:
        while self._peer.session_active:
            await self._peer.session_watch.wait_for(lambda: not self._peer.session_active, 3600.0)


class DeviceManager:
    def __init__(self, bus: EventBus, statistics: StatisticsStore, supervisor: SupervisorConfig) -> None:
        self._bus = bus
        self._statistics = statistics
        self._config = supervisor
        self._devices: dict[str, ManagedDevice] = {}
        self._started = False

    def add(self, resolved: ResolvedDevice) -> ManagedDevice:
        device_id = resolved.config.id
        if device_id in self._devices:
            raise ValueError(f"device {device_id!r} exists")
        device = ManagedDevice(resolved, self._bus, self._statistics.for_device(device_id))
        self._devices[device_id] = device
        if self._started:
            self._start(device)
        return device

    def get(self, device_id: str) -> ManagedDevice:
        try:
            return self._devices[device_id]
        except KeyError:
            raise DeviceNotFound(f"no device {device_id!r}") from None

    def devices(self) -> list[ManagedDevice]:
        return list(self._devices.values())

    def start(self) -> None:
        self._started = True
        for device in self._devices.values():
            self._start(device)

    def _start(self, device: ManagedDevice) -> None:
        if device.resolved.config.enabled:
            device.task = asyncio.create_task(self._supervise(device), name=f"device-{device.device_id}")
        else:
            device.set_state(DeviceState.DISABLED, "disabled in configuration")

    def reconnect(self, device_id: str) -> None:
        """Retry now instead of waiting out the backoff (hot-plug add, technician request)."""
        device = self.get(device_id)
        device.unplugged = None
        device._wake.set()

    def mark_unplugged(self, device_id: str, detail: str) -> None:
        """Hot-plug saw the device leave: show it offline now, and stop the backoff retries until it is back."""
        device = self.get(device_id)
        device.unplugged = detail
        if device.state not in (DeviceState.DISABLED, DeviceState.OFFLINE):
            device.set_state(DeviceState.OFFLINE, detail)

    async def stop(self) -> None:
        tasks = [d.task for d in self._devices.values() if d.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for device in self._devices.values():
            device.task = None

    def _link(self, device: ManagedDevice) -> DeviceLink:
        settings = device.resolved.config.transport
        if isinstance(settings, PeerSettings):
            return ManagerPeerLink(self.get(settings.device))
        return make_transport(settings)

    def _backoff(self, attempt: int) -> float:
        base = min(self._config.backoff_max_s, self._config.backoff_initial_s * 2.0**attempt)
        return base * random.uniform(0.8, 1.2)

    async def _supervise(self, device: ManagedDevice) -> None:
        attempt = 0
        while True:
            device.retry_at = None
            # Cleared as the attempt starts, so a wake-up that arrives during it (a hot-plug add while the old
            # session is still ending) cuts the next backoff short instead of being lost.
            device._wake.clear()
            device.set_state(DeviceState.CONNECTING)
            started = time.monotonic()
            device.in_session = True
            try:
                state, reason = await self._session(device)
            finally:
                device.in_session = False
                device._set_session(False)
            if time.monotonic() - started >= self._config.stable_after_s:
                attempt = 0
            if device.unplugged is not None:
                # Gone for good until hot-plug sees it again; still look now and then in case an event was missed.
                delay = self._config.backoff_max_s
                state, reason = DeviceState.OFFLINE, f"{device.unplugged}; waiting for it to be plugged back"
            else:
                delay = self._backoff(attempt)
                attempt += 1
                reason = f"{reason}; retry in {delay:.1f}s"
            device.retry_at = time.monotonic() + delay
            device.set_state(state, reason)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await device._wake.wait()

    async def _session(self, device: ManagedDevice) -> tuple[DeviceState, str]:
        """One connection attempt, run until the device is lost. Returns the state and reason to show."""
        try:
            link = self._link(device)
            if isinstance(link, Transport):
                device.transport_info = link.describe()
                await link.open(timeout=self._config.open_timeout_s)
                try:
                    await device.driver.run(link)
                finally:
                    await link.close()
            else:
                device.transport_info = {"type": "printer", "device": link.peer_id}
                await device.driver.run(link)
            return DeviceState.OFFLINE, "the driver ended its session"
        except TransportError as err:
            device.stats.increment("CommunicationErrorCount")
            return DeviceState.OFFLINE, str(err) or type(err).__name__
        except asyncio.CancelledError:
            raise
        except Exception as err:
            # A driver bug must not take the daemon or other devices down: log it, show it, retry.
            _LOGGER.exception("%s: driver %s failed", device.device_id, device.resolved.spec.name)
            return DeviceState.ERROR, f"driver failed: {type(err).__name__}: {err}"
