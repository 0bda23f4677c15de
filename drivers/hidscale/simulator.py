"""Simulated USB HID POS scale: a pty stand-in for the hidraw node carrying the same 6-byte reports."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from drivers.hidscale.codec import (
    MOTION,
    OVER_WEIGHT,
    REPORT_LENGTH,
    STABLE,
    STABLE_ZERO,
    UNDER_ZERO,
    ZERO_REPORT,
    encode_report,
)
from drivers.scale_codec import Unit
from drivers.scale_simulator import ScaleSimulator
from drivers.simulator import PtyEndpoint
from drivers.transports import HidrawSettings

#: Exponent per unit, as a Dymo M10 reports (kg in grams resolution would be -3, g 0, …).
EXPONENTS: dict[Unit, int] = {"kg": -3, "g": 0, "lb": -2, "oz": -1}


class HidScaleSimulator(ScaleSimulator):
    units: ClassVar[tuple[Unit, ...]] = ("kg", "g", "lb", "oz")
    decimals: ClassVar[dict[Unit, int]] = {unit: -exponent for unit, exponent in EXPONENTS.items()}
    stream_interval_s: ClassVar[float | None] = 0.05

    def __init__(self, device_id: str, endpoint: PtyEndpoint) -> None:
        super().__init__(device_id, endpoint)
        self._received = bytearray()

    def transport_settings(self) -> HidrawSettings:
        assert isinstance(self.endpoint, PtyEndpoint)
        return HidrawSettings(path=str(self.endpoint.link), report_size=REPORT_LENGTH)

    def frame(self) -> bytes:
        self.requests += 1
        if self.over_capacity:
            status = OVER_WEIGHT
        elif self.under_zero:
            status = UNDER_ZERO
        elif self.motion:
            status = MOTION
        else:
            status = STABLE_ZERO if self.net == 0 else STABLE
        value = min(abs(self.net), Decimal(0xFFFF).scaleb(EXPONENTS[self.unit]))
        return encode_report(status, value, self.unit, EXPONENTS[self.unit])

    def send_noise(self, data: bytes) -> None:
        # A USB link carries whole reports: garbage comes as whole (bad) reports, never as a shifted stream.
        padded = data + bytes(-len(data) % REPORT_LENGTH)
        self.send(padded)

    def on_bytes(self, data: bytes) -> None:
        self._received += data
        while (index := self._received.find(ZERO_REPORT)) >= 0:
            del self._received[: index + len(ZERO_REPORT)]
            self.do_zero()
        del self._received[:-1]
