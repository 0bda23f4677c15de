"""Simulated Urano scale on a real pty: answers ENQ with its ``PESO:`` text between printer escapes."""

from __future__ import annotations

from typing import ClassVar

from drivers.scale_codec import Unit
from drivers.scale_simulator import ScaleSimulator
from drivers.urano.codec import REQUEST_WEIGHT, encode_reply


class UranoSimulator(ScaleSimulator):
    units: ClassVar[tuple[Unit, ...]] = ("kg", "g")
    decimals: ClassVar[dict[Unit, int]] = {"kg": 2, "g": 0}

    def on_bytes(self, data: bytes) -> None:
        for byte in data:
            if byte & 0x7F == REQUEST_WEIGHT[0]:
                self.requests += 1
                # The Urano text has no overload mark; an overloaded scale never shows a steady weight.
                steady = not (self.motion or self.over_capacity)
                self.send(encode_reply(self.net, stable=steady, unit=self.unit))
