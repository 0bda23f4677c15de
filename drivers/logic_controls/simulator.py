"""Simulated Logic Controls pole display on a real pty: shows its two lines in the sim output API."""

from __future__ import annotations

from typing import Any

from drivers.display_simulator import DisplaySimulator
from drivers.logic_controls.codec import LogicControlsInterpreter
from drivers.logic_controls.driver import LogicControlsOptions


class LogicControlsSimulator(DisplaySimulator[LogicControlsInterpreter]):
    options_class = LogicControlsOptions

    def new_screen(self) -> LogicControlsInterpreter:
        return LogicControlsInterpreter()

    def details(self) -> dict[str, Any]:
        return {
            "mode": "vertical_scroll" if self.screen.vertical_scroll else "normal",
            "brightness": self.screen.brightness,
        }
