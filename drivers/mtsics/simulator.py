"""Simulated MT-SICS balance on a real pty: SI, S, SIR, Z, ZI, T, TAC, @; anything else gets ES."""

from __future__ import annotations

from typing import ClassVar

from drivers.mtsics.codec import encode_status, encode_weight
from drivers.scale_codec import Unit
from drivers.scale_simulator import ScaleSimulator
from drivers.simulator import PtyEndpoint


class MtSicsSimulator(ScaleSimulator):
    units: ClassVar[tuple[Unit, ...]] = ("g", "kg", "lb", "oz")
    decimals: ClassVar[dict[Unit, int]] = {"g": 2, "kg": 3, "lb": 3, "oz": 2}
    #: Seconds between SIR values (a balance sends every display update, ~10–20 a second).
    sir_interval_s: ClassVar[float] = 0.05

    def __init__(self, device_id: str, endpoint: PtyEndpoint) -> None:
        super().__init__(device_id, endpoint)
        self._line = bytearray()

    def weight(self) -> bytes:
        if self.over_capacity:
            return encode_status("S", "+")
        if self.condition == "under_zero":
            return encode_status("S", "-")
        return encode_weight("S", not self.motion, self.net, self.unit)

    def frame(self) -> bytes:
        self.requests += 1  # each streamed value counts as an answer
        return self.weight()

    def command(self, command: str) -> bytes | None:  # noqa: PLR0911 - one answer per command, as in the manual
        if command != "SIR":
            self.end_stream()
        if command == "SI":
            return self.weight()
        if command == "S":
            return self.weight() if not self.motion else encode_status("S", "I")
        if command == "SIR":
            self.begin_stream(self.sir_interval_s)
            return None
        if command in ("Z", "ZI"):
            return encode_status(command, "A" if self.do_zero() else "I")
        if command in ("T", "TI"):
            if not self.do_tare():
                return encode_status(command, "I")
            return encode_weight(command, True, self.quantize(self.tare), self.unit)
        if command == "TAC":
            self.clear_tare()
            return encode_status("TAC", "A")
        if command == "@":
            return b'I4 A "0123456789"\r\n'
        return b"ES\r\n"

    def on_bytes(self, data: bytes) -> None:
        for byte in data:
            if byte not in (0x0D, 0x0A):
                self._line.append(byte & 0x7F)
                del self._line[:-64]
                continue
            text, self._line = bytes(self._line).decode("ascii", "replace").strip(), bytearray()
            if text:
                self.requests += 1
                reply = self.command(text)
                if reply is not None:
                    self.send(reply)
