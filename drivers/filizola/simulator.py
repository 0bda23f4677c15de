"""Simulated Filizola scale: answers ENQ with ``STX ddddd ETX`` (protocol B of the Prix family)."""

from __future__ import annotations

from typing import ClassVar, Literal

from drivers.toledo.simulator import ToledoPrixSimulator


class FilizolaSimulator(ToledoPrixSimulator):
    protocol: ClassVar[Literal["A", "B", "C"]] = "B"
