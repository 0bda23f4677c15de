"""Mettler Toledo 8213/8217 (SCP) scale driver: polls W, publishes weight changes, zero and tare."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from drivers.base import DeviceContext, DeviceLink, Scale, StateWatch
from drivers.errors import DeviceBusy, DeviceTimeout, TransportTimeout
from drivers.models import DeviceState, Weight
from drivers.toledo.codec import (
    REQUEST_TARE,
    REQUEST_WEIGHT,
    REQUEST_ZERO,
    BadFrame,
    Reply,
    StatusReply,
    ToledoDecoder,
    WeightReply,
)
from drivers.transports import Transport

_LOGGER = logging.getLogger(__name__)


class ToledoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    poll_interval_s: float = Field(0.1, gt=0, description="Time between weight requests.")
    reply_timeout_s: float = Field(0.5, gt=0, description="Time the scale has to answer a request.")
    missed_replies_offline: int = Field(3, ge=1, description="Consecutive unanswered requests that mean offline.")
    unit: Literal["kg", "lb"] | None = Field(None, description="Override the unit read from the decimal position.")


def weight_from_reply(reply: Reply, last: Weight | None, unit: Literal["kg", "lb"] | None) -> Weight:
    if isinstance(reply, WeightReply):
        status: Literal["stable", "zero"] = "zero" if reply.value == 0 else "stable"
        return Weight(value=reply.value, unit=unit or reply.unit, stable=True, status=status)
    # A status reply carries no weight: keep the last value, never call it stable.
    value = last.value if last is not None else 0
    base_unit = unit or (last.unit if last is not None else "kg")
    if reply.over_capacity:
        return Weight(value=value, unit=base_unit, stable=False, status="over_capacity")
    if reply.under_zero:
        return Weight(value=value, unit=base_unit, stable=False, status="under_zero")
    return Weight(value=value, unit=base_unit, stable=False, status="motion")


class Toledo8217Scale(Scale):
    Options = ToledoOptions
    options: ToledoOptions

    def __init__(self, ctx: DeviceContext, options: BaseModel) -> None:
        super().__init__(ctx, options)
        self._weight: Weight | None = None
        self._weight_time = 0.0
        self._readings = 0
        self._changed = StateWatch()
        self._exchange_lock = asyncio.Lock()
        self._transport: Transport | None = None
        self._decoder = ToledoDecoder()

    def status(self) -> dict[str, object]:
        return {"weight": self._weight.model_dump(mode="json") if self._weight else None}

    async def _exchange(self, transport: Transport, request: bytes) -> Reply:
        async with self._exchange_lock:
            await transport.write(request, timeout=self.options.reply_timeout_s)
            deadline = time.monotonic() + self.options.reply_timeout_s
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TransportTimeout(f"no reply to {request!r} within {self.options.reply_timeout_s}s")
                for item in self._decoder.feed(await transport.read(remaining)):
                    if isinstance(item, BadFrame):
                        self.ctx.stats.increment("CommunicationErrorCount")
                        _LOGGER.warning("%s: dropped %s: %r", self.ctx.device_id, item.reason, item.data)
                        continue
                    return item

    async def run(self, link: DeviceLink) -> None:
        transport = self.byte_transport(link)
        self._transport = transport
        self._decoder = ToledoDecoder()
        missed = 0
        try:
            while True:
                try:
                    reply = await self._exchange(transport, REQUEST_WEIGHT)
                except TransportTimeout:
                    missed += 1
                    if missed >= self.options.missed_replies_offline:
                        raise
                    continue
                missed = 0
                self._update(weight_from_reply(reply, self._weight, self.options.unit))
                if self.ctx.state is not DeviceState.READY:
                    self.ctx.set_state(DeviceState.READY)
                await asyncio.sleep(self.options.poll_interval_s)
        finally:
            self._transport = None

    def _update(self, weight: Weight) -> None:
        self._readings += 1
        self._weight_time = time.monotonic()
        if weight != self._weight:
            self._weight = weight
            self.ctx.publish("scale.weight", weight.model_dump(mode="json"))
        self._changed.notify()

    async def read_weight(self, *, stable: bool, timeout: float) -> Weight:
        self.require_ready()
        fresh_for = 2 * self.options.poll_interval_s + self.options.reply_timeout_s
        # A stable read only accepts a reading taken after the call: the item on the plate now,
        # not the one before it (costs at most one poll interval).
        asked_at = self._readings

        def acceptable() -> bool:
            weight = self._weight
            if weight is None:
                return False
            if stable:
                return weight.stable and self._readings > asked_at
            return time.monotonic() - self._weight_time <= fresh_for

        if not await self._changed.wait_for(acceptable, timeout) or self._weight is None:
            raise DeviceTimeout("no stable weight" if stable else "no weight")
        self.ctx.stats.increment("GoodWeightReadCount")
        return self._weight

    async def _command(self, request: bytes) -> None:
        self.require_ready()
        transport = self._transport
        if transport is None:
            raise DeviceTimeout("scale not connected")
        reply = await self._exchange(transport, request)
        if isinstance(reply, StatusReply) and (reply.motion or reply.over_capacity):
            raise DeviceBusy("the scale cannot do that while it is moving or overloaded")
        # The next poll reports the new weight; a status reply carries none to publish.

    async def zero(self) -> None:
        await self._command(REQUEST_ZERO)

    async def tare(self) -> None:
        await self._command(REQUEST_TARE)
