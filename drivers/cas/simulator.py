"""Simulated CAS PD-II on a real pty: ENQ → ACK, then DC1 or DC2 as the scale's ECR type says."""

from __future__ import annotations

from typing import ClassVar

from drivers.cas.codec import ACK, BEL, DC1, DC2, ENQ, NAK, Format, encode_dc1, encode_dc2
from drivers.scale_codec import MASK7, Unit
from drivers.scale_simulator import ScaleSimulator
from drivers.simulator import PtyEndpoint


class CasSimulator(ScaleSimulator):
    format: ClassVar[Format] = "dc1"

    def __init__(self, device_id: str, endpoint: PtyEndpoint) -> None:
        super().__init__(device_id, endpoint)
        self._enquired = False

    def data(self) -> bytes:
        shown = -abs(self.net) if self.condition == "under_zero" else self.net
        if self.format == "dc1":
            return encode_dc1(shown, self.unit, stable=not self.motion, overload=self.over_capacity)
        if shown == 0:
            return bytes([BEL])
        if shown < 0 or self.motion or self.over_capacity:
            return bytes([NAK])
        return encode_dc2(shown, "kg" if self.unit == "kg" else "lb")

    def on_bytes(self, data: bytes) -> None:
        request = DC1[0] if self.format == "dc1" else DC2[0]
        for byte in data.translate(MASK7):
            if byte == ENQ[0]:
                self._enquired = True
                self.send(bytes([ACK]))
            elif self._enquired:
                self._enquired = False
                self.requests += 1
                self.send(self.data() if byte == request else bytes([NAK]))


class CasDc1Simulator(CasSimulator):
    format: ClassVar[Format] = "dc1"


class CasDc2Simulator(CasSimulator):
    format: ClassVar[Format] = "dc2"
    units: ClassVar[tuple[Unit, ...]] = ("kg", "lb")
