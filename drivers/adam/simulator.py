"""Simulated Adam MDW scale: NCI-shaped replies with Adam's weight field (polarity, seven digits, marks)."""

from __future__ import annotations

from typing import ClassVar

from drivers.nci.codec import adam_weight_line, encode_reply, encode_status
from drivers.nci.simulator import NciSimulator
from drivers.scale_codec import Unit


class AdamMdwSimulator(NciSimulator):
    units: ClassVar[tuple[Unit, ...]] = ("kg", "lb")
    extra_commands: ClassVar[frozenset[bytes]] = frozenset({b"T"})

    def status(self) -> bytes:
        # Adam sends three status bytes without the "S".
        return (
            encode_status(
                motion=self.motion,
                at_zero=self.net == 0 and not self.motion,
                under=self.under_zero,
                over=self.over,
                prefix=False,
            )
            + b"0"
        )

    def weight_reply(self) -> bytes:
        # Adam always sends the weight field: marks when over or under, the value otherwise (moving or not).
        if self.over:
            line = adam_weight_line(None, self.unit, b"^")
        elif self.condition == "under_zero":
            line = adam_weight_line(None, self.unit, b"_")
        else:
            line = adam_weight_line(self.net, self.unit)
        return encode_reply(line, self.status())
