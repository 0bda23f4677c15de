"""The event bus: global sequence numbers, a replay ring, and one bounded queue per subscriber.

Every event is serialized exactly once, at publish time; the same bytes go to every subscriber.
Publishing never awaits: a subscriber whose queue is full does not slow anyone else. A subscriber
that stays over the soft limit for ``slow_grace`` seconds, or reaches the hard limit, is closed
(Home Assistant's WebSocket rule), and learns of it through :attr:`Subscriber.close_reason`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

_LOGGER = logging.getLogger(__name__)

DEFAULT_RING_SIZE = 16384
DEFAULT_SOFT_LIMIT = 1024
DEFAULT_HARD_LIMIT = 8192
DEFAULT_SLOW_GRACE = 4.0


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def encode_json(value: Any) -> bytes:
    """Compact JSON as UTF-8 bytes (non-ASCII kept as is: receipts and scans in any language)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=_json_default).encode()


@dataclass(frozen=True, slots=True)
class Event:
    seq: int
    topic: str
    device: str | None
    frame: bytes
    """The event's JSON text ``{"seq","time","topic","device","data"}``, serialized once."""


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Which events a subscriber wants; None means no restriction.

    ``families`` restricts by the topic's first part (``scanner`` of ``scanner.scan``): that is how
    scopes apply, so a topic a driver adds later is covered by its family's scope.
    """

    topics: frozenset[str] | None = None
    devices: frozenset[str] | None = None
    families: frozenset[str] | None = None

    def matches(self, event: Event) -> bool:
        return (
            (self.topics is None or event.topic in self.topics)
            and (self.devices is None or event.device in self.devices)
            and (self.families is None or event.topic.partition(".")[0] in self.families)
        )


class Subscriber:
    """One consumer of the bus. Its writer awaits :meth:`get_batch`; publishing only appends."""

    def __init__(
        self,
        bus: EventBus,
        event_filter: EventFilter,
        soft_limit: int,
        hard_limit: int,
        slow_grace: float,
    ) -> None:
        self._bus = bus
        self.filter = event_filter
        self._queue: deque[Event] = deque()
        self._wakeup = asyncio.Event()
        self._soft_limit = soft_limit
        self._hard_limit = hard_limit
        self._slow_grace = slow_grace
        self._grace_timer: asyncio.TimerHandle | None = None
        self.close_reason: str | None = None
        self.on_close: Callable[[str], None] | None = None
        self.deliver_now: Callable[[Event], bool] | None = None
        """Optional fast path: deliver synchronously if the consumer can take it at once (True if it did).

        Only tried while nothing is queued, so order is kept; anything it declines goes through the queue.
        """

    @property
    def pending(self) -> int:
        return len(self._queue)

    def offer(self, event: Event) -> None:
        if self.close_reason is not None or not self.filter.matches(event):
            return
        if not self._queue and self.deliver_now is not None and self.deliver_now(event):
            return
        self._queue.append(event)
        self._wakeup.set()
        size = len(self._queue)
        if size >= self._hard_limit:
            self.close(f"too slow: {size} events pending")
        elif size >= self._soft_limit and self._grace_timer is None:
            self._grace_timer = asyncio.get_running_loop().call_later(self._slow_grace, self._grace_expired)

    def _grace_expired(self) -> None:
        self._grace_timer = None
        if len(self._queue) >= self._soft_limit:
            self.close(f"too slow: over {self._soft_limit} events pending for {self._slow_grace:g}s")

    async def get_batch(self) -> list[Event]:
        """Wait for events and take all that are queued. Returns [] once the subscriber is closed."""
        while not self._queue:
            if self.close_reason is not None:
                return []
            self._wakeup.clear()
            await self._wakeup.wait()
        if self.close_reason is not None:
            return []
        batch = list(self._queue)
        self._queue.clear()
        if self._grace_timer is not None:
            self._grace_timer.cancel()
            self._grace_timer = None
        return batch

    def close(self, reason: str) -> None:
        if self.close_reason is not None:
            return
        self.close_reason = reason
        undelivered = len(self._queue)
        self._queue.clear()
        if self._grace_timer is not None:
            self._grace_timer.cancel()
            self._grace_timer = None
        self._wakeup.set()
        self._bus.unsubscribe(self)
        if reason.startswith("too slow"):
            self._bus.subscribers_cut += 1
            self._bus.events_dropped += undelivered
            _LOGGER.warning("event subscriber closed: %s", reason)
        if self.on_close is not None:
            self.on_close(reason)


@dataclass(frozen=True, slots=True)
class Subscription:
    subscriber: Subscriber
    replay: list[Event]
    gap: tuple[int, int] | None
    """``(since, oldest_held)`` when events after ``since`` were already dropped from the ring."""
    latest_seq: int


class EventBus:
    def __init__(
        self,
        ring_size: int = DEFAULT_RING_SIZE,
        soft_limit: int = DEFAULT_SOFT_LIMIT,
        hard_limit: int = DEFAULT_HARD_LIMIT,
        slow_grace: float = DEFAULT_SLOW_GRACE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._ring: deque[Event] = deque(maxlen=ring_size)
        self._subscribers: list[Subscriber] = []
        self._seq = 0
        self._soft_limit = soft_limit
        self._hard_limit = hard_limit
        self._slow_grace = slow_grace
        self._clock = clock
        # Counted when a subscriber is cut off, never per event: publishing stays as cheap as it was.
        self.subscribers_cut = 0
        """Subscribers closed for being too slow (their clients were disconnected)."""
        self.events_dropped = 0
        """Events those subscribers still had queued, never delivered to them."""

    @property
    def latest_seq(self) -> int:
        return self._seq

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    @property
    def ring_length(self) -> int:
        """Events held for replay (``since=``); older ones are announced as a gap."""
        return len(self._ring)

    def publish(self, topic: str, device: str | None, data: Mapping[str, Any]) -> Event:
        self._seq += 1
        stamp = datetime.fromtimestamp(self._clock(), UTC).isoformat(timespec="milliseconds")
        frame = encode_json({"seq": self._seq, "time": stamp, "topic": topic, "device": device, "data": data})
        event = Event(self._seq, topic, device, frame)
        self._ring.append(event)
        for subscriber in tuple(self._subscribers):
            subscriber.offer(event)
        return event

    def subscribe(self, event_filter: EventFilter = EventFilter(), since: int | None = None) -> Subscription:
        """Register a subscriber, and in the same step collect what it missed after ``since``.

        Nothing can be published between the two, so replay + live has no hole and no duplicate.
        """
        subscriber = Subscriber(self, event_filter, self._soft_limit, self._hard_limit, self._slow_grace)
        replay: list[Event] = []
        gap: tuple[int, int] | None = None
        if since is not None and since < self._seq:
            oldest = self._ring[0].seq if self._ring else self._seq + 1
            if since + 1 < oldest:
                gap = (since, oldest)
            replay = [e for e in self._events_after(since) if event_filter.matches(e)]
        self._subscribers.append(subscriber)
        return Subscription(subscriber, replay, gap, self._seq)

    def _events_after(self, since: int) -> Iterable[Event]:
        if not self._ring:
            return ()
        start = max(0, since - self._ring[0].seq + 1)
        return itertools.islice(self._ring, start, None)

    def tail(self, limit: int) -> list[Event]:
        """The newest ``limit`` events still in the ring, oldest first (diagnostics)."""
        if limit <= 0:
            return []
        return list(itertools.islice(self._ring, max(0, len(self._ring) - limit), None))

    def unsubscribe(self, subscriber: Subscriber) -> None:
        if subscriber in self._subscribers:
            self._subscribers.remove(subscriber)
        if subscriber.close_reason is None:
            subscriber.close("unsubscribed")

    def close_all(self, reason: str) -> None:
        for subscriber in tuple(self._subscribers):
            subscriber.close(reason)
