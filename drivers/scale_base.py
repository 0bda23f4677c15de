"""What every scale driver shares: the polling and continuous loops, request/reply exchanges, the weight
tracker (events on change, the stable-read rule) and zero/tare plumbing.

A protocol driver subclasses :class:`PolledScale` (the driver asks, the scale answers) or
:class:`ContinuousScale` (the scale streams frames), gives its decoder and how a decoded item becomes a
:class:`~drivers.scale_codec.ScaleReading`, and says how to zero and tare if the protocol can.

The stable-read rule (never a weight measured before the caller asked, never a moving one): every
reading carries the number of the *acquisition* it came from. A polled acquisition starts when its
request is written; a streamed one when the previous frame ended (so the frame that was already on the
wire when the caller asked does not count). ``read_weight(stable=True)`` only returns a stable reading
from an acquisition that started after the call.
"""

from __future__ import annotations

import abc
import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from drivers.base import DeviceContext, DeviceLink, Scale, StateWatch
from drivers.errors import DeviceOffline, DeviceTimeout, TransportTimeout
from drivers.models import DeviceState, Weight
from drivers.scale_codec import BadFrame, ScaleDecoder, ScaleReading, Unit, weight_from_reading
from drivers.transports import Transport

_LOGGER = logging.getLogger(__name__)

Item = TypeVar("Item")


# -- options -----------------------------------------------------------------------------------------
class ScaleOptions(BaseModel):
    """Options every scale driver has."""

    model_config = ConfigDict(extra="forbid")

    reply_timeout_s: float = Field(
        0.5, gt=0, le=30, description="Time the scale has to answer a request (streaming scales: to send a frame)."
    )
    missed_replies_offline: int = Field(
        3, ge=1, le=100, description="Consecutive unanswered requests (or missing frames) that mean offline."
    )
    stable_confirmations: int = Field(
        1,
        ge=1,
        le=20,
        description="A stable weight counts as stable only after this many identical stable readings in a row "
        "(extra caution for scales with a weak motion detector; 1 trusts the scale's own flag).",
    )


class PolledScaleOptions(ScaleOptions):
    poll_interval_s: float = Field(0.1, gt=0, le=60, description="Time between weight requests.")
    command_timeout_s: float = Field(
        3.0, gt=0, le=60, description="Time the scale has to carry out zero or tare (some wait for stability)."
    )


# -- the tracker: pure bookkeeping, no I/O -----------------------------------------------------------
@dataclass(frozen=True, slots=True)
class TrackedReading:
    weight: Weight
    acquisition: int
    """Number of the acquisition (request written, or previous frame ended) this reading came from."""
    received: float
    """Monotonic time it was decoded (passed in: the tracker has no clock)."""


class WeightTracker:
    """Readings in; the current weight, what to publish, and which reading a read may return."""

    def __init__(self, confirmations: int = 1) -> None:
        self.confirmations = confirmations
        self.acquisition = 0
        self.latest: TrackedReading | None = None
        self.published: Weight | None = None
        self.readings = 0
        self._run_value: tuple[Any, str] | None = None
        self._run_length = 0

    def begin_acquisition(self) -> int:
        self.acquisition += 1
        return self.acquisition

    def record(self, weight: Weight, acquisition: int, now: float) -> Weight | None:
        """Store a reading; return the weight to publish if it differs from the last one published."""
        if weight.stable:
            key = (weight.value, weight.unit)
            self._run_length = self._run_length + 1 if key == self._run_value else 1
            self._run_value = key
            if self._run_length < self.confirmations:
                weight = weight.model_copy(update={"stable": False, "status": "motion"})
        else:
            self._run_value, self._run_length = None, 0
        self.readings += 1
        self.latest = TrackedReading(weight, acquisition, now)
        if weight == self.published:
            return None
        self.published = weight
        return weight

    def reset_session(self) -> None:
        """A new connection: readings of the old one no longer describe the plate."""
        self.latest = None
        self._run_value, self._run_length = None, 0

    def pick(self, *, stable: bool, asked_at: int, now: float, fresh_for: float) -> TrackedReading | None:
        """The reading a read may return now, or None.

        ``stable``: only a stable reading from an acquisition started after ``asked_at``.
        Otherwise: the latest reading if it is at most ``fresh_for`` seconds old.
        """
        latest = self.latest
        if latest is None:
            return None
        if stable:
            return latest if latest.weight.stable and latest.acquisition > asked_at else None
        return latest if now - latest.received <= fresh_for else None


# -- the drivers -------------------------------------------------------------------------------------
class ScaleDriver(Scale, Generic[Item]):
    """Shared body of the scale drivers (use :class:`PolledScale` or :class:`ContinuousScale`)."""

    Options: ClassVar[type[BaseModel]] = ScaleOptions
    options: ScaleOptions

    def __init__(self, ctx: DeviceContext, options: BaseModel) -> None:
        super().__init__(ctx, options)
        self.tracker = WeightTracker(self.options.stable_confirmations)
        self._changed = StateWatch()
        self._transport: Transport | None = None
        self._decoder: ScaleDecoder[Item] = self.new_decoder()
        self._skipped_seen = 0
        self._log_until = 0.0
        self._unlogged = 0

    # -- what a protocol provides ------------------------------------------------------------------
    @abc.abstractmethod
    def new_decoder(self) -> ScaleDecoder[Item]:
        """A fresh decoder (one per connection, and after every drain)."""

    @abc.abstractmethod
    def reading_of(self, item: Item) -> ScaleReading | None:
        """The reading an item carries, or None for replies that say nothing about the load."""

    @abc.abstractmethod
    async def session(self, transport: Transport) -> None:
        """Talk to the scale until it is lost."""

    @property
    def unit_override(self) -> Unit | None:
        """A configured unit that replaces the one the frames give (none by default)."""
        return None

    # -- shared behaviour --------------------------------------------------------------------------
    def status(self) -> dict[str, object]:
        weight = self.tracker.published
        return {"weight": weight.model_dump(mode="json") if weight else None}

    async def run(self, link: DeviceLink) -> None:
        transport = self.byte_transport(link)
        self._transport = transport
        self._decoder = self.new_decoder()
        self._skipped_seen = 0
        self.tracker.reset_session()
        try:
            await self.session(transport)
        finally:
            self._transport = None
            self._changed.notify()  # waiting reads see the device gone at once

    def decode(self, data: bytes) -> list[Item]:
        """Feed the decoder; count and log what it had to drop, return the good items."""
        items: list[Item] = []
        for item in self._decoder.feed(data):
            if isinstance(item, BadFrame):
                self.ctx.stats.increment("CommunicationErrorCount")
                self._log_dropped(f"{item.reason}: {item.data[:64]!r}")
            else:
                items.append(item)
        skipped = self._decoder.skipped
        if skipped > self._skipped_seen:
            self._log_dropped(f"{skipped - self._skipped_seen} noise bytes outside any frame")
            self._skipped_seen = skipped
        return items

    def _log_dropped(self, what: str) -> None:
        # A scale on the wrong baud rate streams garbage 20 times a second: one line per second is enough.
        now = time.monotonic()
        if now < self._log_until:
            self._unlogged += 1
            return
        more = f" (and {self._unlogged} more drops in the last second)" if self._unlogged else ""
        _LOGGER.warning("%s: dropped %s%s", self.ctx.device_id, what, more)
        self._log_until, self._unlogged = now + 1.0, 0

    def record(self, reading: ScaleReading, acquisition: int) -> Weight:
        weight = weight_from_reading(reading, self.tracker.published, self.unit_override)
        changed = self.tracker.record(weight, acquisition, time.monotonic())
        if changed is not None:
            self.ctx.publish("scale.weight", changed.model_dump(mode="json"))
        if self.ctx.state is not DeviceState.READY:
            self.ctx.set_state(DeviceState.READY)
        self._changed.notify()
        return weight

    @property
    def fresh_for(self) -> float:
        """How old the latest reading may be for a non-stable read."""
        return float("inf")

    async def read_weight(self, *, stable: bool, timeout: float) -> Weight:
        self.require_ready()
        asked_at = self.tracker.acquisition
        picked = None

        def done() -> bool:
            nonlocal picked
            if self._transport is None:
                return True
            picked = self.tracker.pick(stable=stable, asked_at=asked_at, now=time.monotonic(), fresh_for=self.fresh_for)
            return picked is not None

        finished = await self._changed.wait_for(done, timeout)
        if picked is None:
            if finished:
                raise DeviceOffline(f"{self.ctx.device_id} was lost while waiting for a weight")
            raise DeviceTimeout("no stable weight" if stable else "no weight")
        self.ctx.stats.increment("GoodWeightReadCount")
        return picked.weight

    def connected_transport(self) -> Transport:
        self.require_ready()
        if self._transport is None:
            raise DeviceOffline(f"{self.ctx.device_id} is not connected")
        return self._transport


class PolledScale(ScaleDriver[Item]):
    """The driver asks (``poll``), the scale answers; zero and tare go through :meth:`exchange` too."""

    Options: ClassVar[type[BaseModel]] = PolledScaleOptions
    options: PolledScaleOptions

    def __init__(self, ctx: DeviceContext, options: BaseModel) -> None:
        super().__init__(ctx, options)
        self._exchange_lock = asyncio.Lock()
        self.last_request_acquisition = 0

    @abc.abstractmethod
    async def poll(self, transport: Transport) -> ScaleReading | None:
        """One weight request (one or more exchanges); None if the reply carried no reading."""

    @property
    def fresh_for(self) -> float:
        return 2 * self.options.poll_interval_s + self.options.reply_timeout_s

    async def session(self, transport: Transport) -> None:
        missed = 0
        while True:
            try:
                reading = await self.poll(transport)
            except TransportTimeout:
                missed += 1
                if missed >= self.options.missed_replies_offline:
                    raise  # the supervisor counts this one
                self.ctx.stats.increment("CommunicationErrorCount")
                continue
            missed = 0
            if reading is not None:
                self.record(reading, self.last_request_acquisition)
            elif self.ctx.state is not DeviceState.READY:
                self.ctx.set_state(DeviceState.READY)  # it answered: it is there
            await asyncio.sleep(self.options.poll_interval_s)

    async def exchange(
        self,
        transport: Transport,
        request: bytes,
        accept: Callable[[Item], bool] = lambda item: True,
        timeout: float | None = None,
    ) -> Item:
        """Write ``request`` and return the first decoded item ``accept`` takes.

        Replies still buffered from an earlier, timed-out request are dropped first, so a late answer
        is never taken for this one. Raises TransportTimeout if no acceptable reply comes in time.
        """
        timeout = self.options.reply_timeout_s if timeout is None else timeout
        async with self._exchange_lock:
            await self._drain(transport)
            self.last_request_acquisition = self.tracker.begin_acquisition()
            await transport.write(request, timeout=timeout)
            deadline = time.monotonic() + timeout
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TransportTimeout(f"no reply to {request!r} within {timeout}s")
                for item in self.decode(await transport.read(remaining)):
                    if accept(item):
                        return item
                    _LOGGER.debug("%s: ignored unexpected reply %r", self.ctx.device_id, item)

    async def _drain(self, transport: Transport) -> None:
        dropped = 0
        while True:
            try:
                dropped += len(await transport.read(0))
            except TransportTimeout:
                break
        if dropped:
            # Unasked bytes: a late answer to a timed-out request, or noise. Never taken for this reply.
            self.ctx.stats.increment("CommunicationErrorCount")
            self._log_dropped(f"{dropped} bytes nobody asked for")
        self._decoder = self.new_decoder()
        self._skipped_seen = 0


class ContinuousScale(ScaleDriver[Item]):
    """The scale streams frames by itself; the driver listens. An acquisition starts when a frame ends."""

    #: False for scales that may stay silent while nothing changes (HID scales): then only a lost
    #: transport takes the device offline.
    silence_is_offline: ClassVar[bool] = True

    async def start_stream(self, transport: Transport) -> None:
        """Ask the scale to start streaming (for protocols that need a command); default: nothing."""

    async def session(self, transport: Transport) -> None:
        await self.start_stream(transport)
        await self.stream(transport)

    async def stream(self, transport: Transport) -> None:
        patience = self.options.reply_timeout_s * self.options.missed_replies_offline
        last_reading = time.monotonic()
        acquisition = self.tracker.begin_acquisition()
        while True:
            try:
                data = await self.read_chunk(transport, self.options.reply_timeout_s)
            except TransportTimeout:
                data = b""
            got_reading = False
            for item in self.decode(data) if data else ():
                reading = self.handle_item(item)
                if reading is None:
                    continue
                got_reading = True
                self.record(reading, acquisition)
                acquisition = self.tracker.begin_acquisition()
            now = time.monotonic()
            if got_reading:
                last_reading = now
            elif self.silence_is_offline and now - last_reading > patience:
                # Silence, or only garbage (wrong baud rate, wrong protocol): the scale is not talking to us.
                raise TransportTimeout(f"no valid frame for {patience:.1f}s from a streaming scale")

    async def read_chunk(self, transport: Transport, timeout: float) -> bytes:
        """The next bytes to decode (HID scales read one report at a time)."""
        return await transport.read(timeout)

    def handle_item(self, item: Item) -> ScaleReading | None:
        """A streamed item: its reading, or None (subclasses also route command replies here)."""
        return self.reading_of(item)
