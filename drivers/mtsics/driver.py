"""MT-SICS driver: polls ``SI`` (or streams with ``SIR``); zero ``Z``, tare ``T``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field

from drivers.errors import DeviceBusy, DeviceTimeout, ProtocolError
from drivers.mtsics.codec import (
    ERRORS,
    REQUEST_STREAM,
    REQUEST_TARE,
    REQUEST_WEIGHT,
    REQUEST_ZERO,
    SicsDecoder,
    SicsReply,
    reading_of,
)
from drivers.scale_base import ContinuousScale, PolledScale, PolledScaleOptions
from drivers.scale_codec import ScaleDecoder, ScaleReading
from drivers.toledo.driver import LINE_8N1
from drivers.transports import Transport

_LOGGER = logging.getLogger(__name__)

#: What a command's reply says, per status (MT-SICS "A"/"S" mean done).
_REFUSALS = {"I": "the balance is busy (moving, or another command runs)", "L": "the balance refused the command"}


class MtSicsOptions(PolledScaleOptions):
    mode: Literal["poll", "continuous"] = Field(
        "poll",
        description="poll: ask SI every poll_interval_s; continuous: SIR, the balance streams each new value.",
    )


class MtSicsScale(PolledScale[SicsReply], ContinuousScale[SicsReply]):
    Options: ClassVar[type[BaseModel]] = MtSicsOptions
    options: MtSicsOptions
    serial_defaults: ClassVar[dict[str, Any]] = LINE_8N1

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._waiting: tuple[str, asyncio.Future[SicsReply]] | None = None

    @property
    def streaming(self) -> bool:
        return self.options.mode == "continuous"

    @property
    def fresh_for(self) -> float:
        return float("inf") if self.streaming else super().fresh_for

    def new_decoder(self) -> ScaleDecoder[SicsReply]:
        return SicsDecoder()

    def reading_of(self, item: SicsReply) -> ScaleReading | None:
        return reading_of(item)

    async def session(self, transport: Transport) -> None:
        if self.streaming:
            await ContinuousScale.session(self, transport)
        else:
            await PolledScale.session(self, transport)

    async def start_stream(self, transport: Transport) -> None:
        await transport.write(REQUEST_STREAM, timeout=self.options.reply_timeout_s)

    async def poll(self, transport: Transport) -> ScaleReading | None:
        reply = await self.exchange(transport, REQUEST_WEIGHT, lambda r: r.command == "S" or r.command in ERRORS)
        if reply.command in ERRORS:
            raise ProtocolError(f"the balance answered SI with {reply.command}")
        return reading_of(reply)

    def handle_item(self, item: SicsReply) -> ScaleReading | None:
        waiting = self._waiting
        if waiting is not None and (item.command == waiting[0] or item.command in ERRORS):
            if not waiting[1].done():
                waiting[1].set_result(item)
            return None
        return reading_of(item)

    async def _command(self, request: bytes, command: str) -> SicsReply:
        transport = self.connected_transport()
        timeout = self.options.command_timeout_s
        if not self.streaming:
            reply = await self.exchange(transport, request, lambda r: r.command in (command, *ERRORS), timeout)
        else:
            # The stream loop reads the port: it hands this command's reply over through a future.
            async with self._exchange_lock:
                future: asyncio.Future[SicsReply] = asyncio.get_running_loop().create_future()
                self._waiting = (command, future)
                try:
                    await transport.write(request, timeout=timeout)
                    async with asyncio.timeout(timeout):
                        reply = await future
                except TimeoutError as err:
                    raise DeviceTimeout(f"no reply to {request!r} within {timeout}s") from err
                finally:
                    self._waiting = None
                    # Any other command ends SIR on some balances: ask for the stream again.
                    with contextlib.suppress(Exception):
                        await transport.write(REQUEST_STREAM, timeout=timeout)
        if reply.command in ERRORS:
            raise ProtocolError(f"the balance answered {request!r} with {reply.command}")
        if reply.status in ("+", "-"):
            raise DeviceBusy(f"the load is {'over' if reply.status == '+' else 'under'} the range for that")
        if reply.status in _REFUSALS:
            raise DeviceBusy(_REFUSALS[reply.status])
        return reply

    async def zero(self) -> None:
        await self._command(REQUEST_ZERO, "Z")

    async def tare(self) -> None:
        reply = await self._command(REQUEST_TARE, "T")
        _LOGGER.info("%s: tare %s %s", self.ctx.device_id, reply.value, reply.unit)
