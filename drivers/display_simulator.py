"""The device side every simulated 2-line customer display shares (CD5220, Epson DM-D, Logic Controls).

Each command set's simulator says only which interpreter plays its screen (:meth:`DisplaySimulator.new_screen`)
and what its driver options tell the unit (:meth:`DisplaySimulator.configure`); the pty, the byte count and the
sim output API are the same for all of them.
"""

from __future__ import annotations

import abc
from typing import Any, ClassVar, Generic, Protocol, Self, TypeVar

from drivers.line_display import LineDisplayOptions
from drivers.models import DeviceKind
from drivers.simulator import PtyEndpoint, SimEnvironment, Simulator


class DisplayScreen(Protocol):
    """What the simulator needs of a command set's interpreter."""

    encoding: str

    @property
    def lines(self) -> list[str]: ...

    def feed(self, data: bytes) -> None: ...


ScreenT = TypeVar("ScreenT", bound=DisplayScreen)


class DisplaySimulator(Simulator, Generic[ScreenT]):
    kind = DeviceKind.DISPLAY
    #: The driver's options class, read from the configuration so both sides assume the same unit.
    options_class: ClassVar[type[LineDisplayOptions]] = LineDisplayOptions

    def __init__(self, device_id: str, endpoint: PtyEndpoint) -> None:
        super().__init__(device_id, endpoint)
        self.received = 0
        """Bytes the display has received (so a test can show that nothing was sent)."""
        self.screen = self.new_screen()

    @abc.abstractmethod
    def new_screen(self) -> ScreenT:
        """The command set's interpreter, showing what the unit would."""

    @classmethod
    def create(cls, device_id: str, env: SimEnvironment) -> Self:
        simulator = cls(device_id, PtyEndpoint(env.sim_dir / device_id, serial={"baudrate": 9600}))
        options = env.driver_options(device_id, cls.options_class)
        if options is not None:
            simulator.configure(options)
        return simulator

    def configure(self, options: LineDisplayOptions) -> None:
        """Set the unit up as its driver assumes: the character table (subclasses add what else they have)."""
        self.screen.encoding = options.encoding

    def on_bytes(self, data: bytes) -> None:
        self.received += len(data)
        self.screen.feed(data)

    def output(self) -> dict[str, Any]:
        return {"lines": list(self.screen.lines), **self.details(), "bytes": self.received}

    def details(self) -> dict[str, Any]:
        """What the sim output shows besides the lines (the unit's modes)."""
        return {}
