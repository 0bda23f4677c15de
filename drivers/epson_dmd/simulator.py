"""Simulated Epson DM-D customer display on a real pty: shows its two lines in the sim output API."""

from __future__ import annotations

from typing import Any

from drivers.display_simulator import DisplaySimulator
from drivers.epson_dmd.codec import DmdInterpreter
from drivers.epson_dmd.driver import EpsonDmdOptions


class EpsonDmdSimulator(DisplaySimulator[DmdInterpreter]):
    options_class = EpsonDmdOptions

    def new_screen(self) -> DmdInterpreter:
        return DmdInterpreter()

    def details(self) -> dict[str, Any]:
        return {"encoding": self.screen.encoding, "mode": self.screen.mode}
