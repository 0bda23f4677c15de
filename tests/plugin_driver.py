"""A third-party-style driver package, used to show plug-in loading and supervision.

It is a real driver over a real TCP transport; it raises on its first sessions, as a buggy driver would.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from drivers.base import DeviceLink, Scanner
from drivers.errors import TransportTimeout
from drivers.models import DeviceState
from drivers.registry import DriverSpec


class FlakyOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    failures: int = 2


class FlakyScanner(Scanner):
    Options = FlakyOptions
    options: FlakyOptions
    sessions: ClassVar[dict[str, int]] = {}

    async def run(self, link: DeviceLink) -> None:
        transport = self.byte_transport(link)
        count = self.sessions.get(self.ctx.device_id, 0) + 1
        self.sessions[self.ctx.device_id] = count
        if count <= self.options.failures:
            raise RuntimeError(f"bug on session {count}")
        self.ctx.set_state(DeviceState.READY)
        while True:
            try:
                await transport.read(60)
            except TransportTimeout:
                continue


SPEC = DriverSpec("flaky-scanner", FlakyScanner, "A scanner driver with a bug (tests)")


def specs() -> list[DriverSpec]:
    return [SPEC]
