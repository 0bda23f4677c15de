"""Simulated CD5220 customer display on a real pty: shows its two lines in the sim output API."""

from __future__ import annotations

from drivers.cd5220.codec import DisplayInterpreter
from drivers.cd5220.driver import Cd5220Options
from drivers.display_simulator import DisplaySimulator
from drivers.line_display import LineDisplayOptions


class Cd5220Simulator(DisplaySimulator[DisplayInterpreter]):
    options_class = Cd5220Options

    def new_screen(self) -> DisplayInterpreter:
        return DisplayInterpreter()

    def configure(self, options: LineDisplayOptions) -> None:
        super().configure(options)
        if isinstance(options, Cd5220Options):  # clones come 20 or 40 wide
            self.screen.columns = options.columns
