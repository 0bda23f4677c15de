"""Simulated Toledo scales on real ptys: 8217 (answers W/Z/T/C), continuous output (streams), Prix (ENQ)."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar, Literal

from drivers.scale_codec import Unit
from drivers.scale_simulator import SIM_LINE, ScaleSimulator
from drivers.simulator import PtyEndpoint, SimEnvironment
from drivers.toledo import continuous, prix
from drivers.toledo.codec import (
    MOTION,
    OVER_CAPACITY,
    UNDER_ZERO,
    encode_status,
    encode_weight,
)
from drivers.toledo.driver import ToledoContinuousOptions, ToledoPrixOptions

#: Largest value each 8217 weight field can show (``WW.WWW`` kg, ``0WW.WW`` lb).
_8217_MAX: dict[str, Decimal] = {"kg": Decimal("99.999"), "lb": Decimal("999.99")}


class Toledo8217Simulator(ScaleSimulator):
    units: ClassVar[tuple[Unit, ...]] = ("kg", "lb")

    def status_bits(self) -> int:
        over = self.over_capacity or self.net > _8217_MAX[self.unit]
        return (MOTION if self.motion else 0) | (OVER_CAPACITY if over else 0) | (UNDER_ZERO if self.under_zero else 0)

    def _reply(self) -> bytes:
        bits = self.status_bits()
        if bits:
            return encode_status(bits)
        unit: Literal["kg", "lb"] = "kg" if self.unit == "kg" else "lb"
        return encode_weight(self.net, unit, net=bool(self.tare))

    def on_bytes(self, data: bytes) -> None:
        for byte in data:
            command = chr(byte & 0x7F)
            self.requests += 1
            if command == "W":
                self.send(self._reply())
            elif command == "Z":
                self.do_zero()
                self.send(encode_status(self.status_bits()))
            elif command == "T":
                self.do_tare()
                self.send(encode_status(self.status_bits()))
            elif command == "C":
                self.clear_tare()
                self.send(encode_status(self.status_bits()))


class ToledoContinuousSimulator(ScaleSimulator):
    """Streams the standard continuous output 20 times a second (a Wildcat does ~7, IND terminals up to 20)."""

    stream_interval_s: ClassVar[float | None] = 0.05

    def __init__(self, device_id: str, endpoint: PtyEndpoint, checksum: bool = True) -> None:
        super().__init__(device_id, endpoint)
        self.checksum = checksum

    @classmethod
    def create(cls, device_id: str, env: SimEnvironment) -> ToledoContinuousSimulator:
        options = env.driver_options(device_id, ToledoContinuousOptions)
        # A terminal set to leave the checksum out sends 17-byte frames; its driver then expects those.
        checksum = options.checksum if options is not None else True
        return cls(device_id, PtyEndpoint(env.sim_dir / device_id, serial=dict(SIM_LINE)), checksum)

    def frame(self) -> bytes:
        self.requests += 1
        forced_under = self.condition == "under_zero"  # "under zero" with the load positive: show it out of range
        return continuous.encode_frame(
            -abs(self.net) if forced_under else self.net,
            self.unit,
            decimals=self.decimals[self.unit],
            tare=self.tare,
            motion=self.motion,
            out_of_range=self.over_capacity or forced_under,
            negative=self.under_zero,
            net=bool(self.tare),
            checksum=self.checksum,
        )


class ToledoPrixSimulator(ScaleSimulator):
    """Answers ENQ in protocol B (``STX ddddd ETX``), C (``… CR``) or A (23 bytes with checksum)."""

    units: ClassVar[tuple[Unit, ...]] = ("kg",)
    decimals: ClassVar[dict[Unit, int]] = {"kg": 3}
    protocol: ClassVar[Literal["A", "B", "C"]] = "B"

    def __init__(self, device_id: str, endpoint: PtyEndpoint, protocol: Literal["A", "B", "C"] | None = None) -> None:
        super().__init__(device_id, endpoint)
        self.reply_protocol = protocol or self.protocol

    @classmethod
    def create(cls, device_id: str, env: SimEnvironment) -> ToledoPrixSimulator:
        options = env.driver_options(device_id, ToledoPrixOptions)
        # A driver set to one variant reads only that one; auto reads any, so the simulator keeps its own (B).
        protocol: Literal["A", "B"] | None = None
        if options is not None and options.variant != "auto":
            protocol = "A" if options.variant == "A" else "B"
        return cls(device_id, PtyEndpoint(env.sim_dir / device_id, serial=dict(SIM_LINE)), protocol)

    def reply(self) -> bytes:
        if self.reply_protocol == "A":
            return prix.encode_a(
                abs(self.net),
                motion=self.motion,
                out_of_range=self.over_capacity or self.under_zero,
                net=bool(self.tare),
            )
        marker: prix.Marker | None = None
        if self.motion:
            marker = "unstable"
        elif self.over_capacity or self.net > Decimal("99.999"):
            marker = "overload"
        elif self.under_zero:
            marker = "negative"
        return prix.encode_bc(self.net, marker, "B" if self.reply_protocol == "B" else "C")

    def on_bytes(self, data: bytes) -> None:
        for byte in data:
            if byte & 0x7F == prix.ENQ[0]:
                self.requests += 1
                self.send(self.reply())
