"""Simulated NCI / ECR scale on a real pty: W, S and Z requests ending in CR."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from drivers.nci.codec import encode_reply, encode_status, nci_weight_line
from drivers.scale_codec import MASK7, Unit
from drivers.scale_simulator import ScaleSimulator
from drivers.simulator import PtyEndpoint

#: Largest weight the six-character field shows.
MAX_WEIGHT: dict[Unit, Decimal] = {"kg": Decimal("99.999"), "lb": Decimal("999.99"), "oz": Decimal("9999.9")}


class NciSimulator(ScaleSimulator):
    units: ClassVar[tuple[Unit, ...]] = ("kg", "lb", "oz")
    #: Commands besides W, S and Z this scale knows (Adam adds T).
    extra_commands: ClassVar[frozenset[bytes]] = frozenset()

    def __init__(self, device_id: str, endpoint: PtyEndpoint) -> None:
        super().__init__(device_id, endpoint)
        self._line = bytearray()

    @property
    def over(self) -> bool:
        return self.over_capacity or self.net > MAX_WEIGHT.get(self.unit, Decimal(99999))

    def status(self) -> bytes:
        return encode_status(
            motion=self.motion,
            at_zero=self.net == 0 and not self.motion,
            under=self.under_zero,
            over=self.over,
        )

    def weight_reply(self) -> bytes:
        # NCI sends the status alone when the weight is negative, moving or out of range.
        if self.motion or self.over or self.under_zero:
            return encode_reply(None, self.status())
        return encode_reply(nci_weight_line(self.net, self.unit), self.status())

    def command(self, command: bytes) -> bytes:
        if command == b"W":
            return self.weight_reply()
        if command == b"S":
            return encode_reply(None, self.status())
        if command == b"Z":
            self.do_zero()
            return encode_reply(None, self.status())
        if command == b"T" and command in self.extra_commands:
            self.do_tare()
            return encode_reply(None, self.status())
        return b"\n?\r\x03"

    def on_bytes(self, data: bytes) -> None:
        for byte in data.translate(MASK7):
            if byte != 0x0D:
                self._line.append(byte)
                del self._line[:-16]
                continue
            command, self._line = bytes(self._line).strip(), bytearray()
            if command:
                self.requests += 1
                self.send(self.command(command))
