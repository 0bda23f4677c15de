"""Simulated ESC/POS printer (TCP, like a network printer's port 9100) with a cash drawer on its kick connector."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from drivers.escpos.codec import (
    A1_COVER_OPEN,
    A1_DRAWER_PIN3,
    A1_OFFLINE,
    ASB_DRAWER,
    ASB_ERRORS,
    ASB_ONLINE,
    ASB_PAPER,
    encode_asb,
    encode_status_byte,
)
from drivers.escpos.drawer import EscposDrawerOptions
from drivers.escpos.driver import EscposOptions
from drivers.escpos.interpreter import Action, AutoStatusSet, DrawerPulse, EscposInterpreter, StatusRequest
from drivers.escpos.profile import SIMULATED_PROFILE_NAME, PrinterProfile, get_profile
from drivers.models import DeviceKind, PrinterStatus
from drivers.simulator import Endpoint, SimEnvironment, Simulator, TcpEndpoint
from drivers.transports import PeerSettings

#: Real-time commands a printer runs from its receive buffer on arrival, even when it cannot print:
#: DLE EOT n (status) and DLE DC4 1 m t (drawer pulse).
_REALTIME = re.compile(rb"\x10\x04[\x01-\x04]|\x10\x14\x01[\x00\x01][\x01-\x08]", re.DOTALL)
#: What the simulator keeps of the bytes it received: the latest (its interpreter bounds the lines and paper).
RECEIVED_KEEP_BYTES = 1 << 20


class FaultControl(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["fault"]
    paper: Literal["ok", "near_end", "end"] | None = None
    cover: Literal["open", "closed"] | None = None
    online: bool | None = None
    paper_end_after_cuts: int | None = Field(
        None, ge=1, description="Run out of paper after this many more cuts (a roll ending mid-queue)."
    )


class ResetOutputControl(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["clear"]


class EscposSimulator(Simulator):
    kind = DeviceKind.PRINTER
    Control = FaultControl | ResetOutputControl

    def __init__(self, device_id: str, endpoint: Endpoint, profile: PrinterProfile | None = None) -> None:
        super().__init__(device_id, endpoint)
        # The model it behaves as: its ESC t numbering, double-byte mode and paper width.
        self.profile = profile or get_profile(SIMULATED_PROFILE_NAME)
        self.paper: Literal["ok", "near_end", "end"] = "ok"
        self.cover: Literal["open", "closed"] = "closed"
        self.online = True
        self.received = bytearray()
        """The latest bytes received (at most 2 × RECEIVED_KEEP_BYTES; ``bytes_received`` counts them all)."""
        self.bytes_received = 0
        self.paper_out = EscposInterpreter.for_profile(self.profile)
        # The drawer on the kick connector: wired to pin 2, sensor high when open.
        self.drawer_connected = True
        self.drawer_open = False
        self.drawer_pin = 2
        self.pin3_high_when_open = True
        self.kicks = 0
        self._paper_end_at_cut: int | None = None
        self._asb_last: bytes | None = None  # the last Automatic Status Back message sent
        self._held = bytearray()  # received while it could not print

    @classmethod
    def create(cls, device_id: str, env: SimEnvironment) -> EscposSimulator:
        # It plays the model its driver is set up for: same code page numbers, double-byte mode and width.
        options = env.driver_options(device_id, EscposOptions)
        return cls(device_id, TcpEndpoint(), options.printer_profile() if options is not None else None)

    @property
    def status(self) -> PrinterStatus:
        return PrinterStatus(online=self.online, paper=self.paper, cover=self.cover)

    @property
    def pin3_high(self) -> bool:
        """The kick connector's sensor input: no drawer reads low; a drawer drives it by its polarity."""
        return self.drawer_connected and self.drawer_open == self.pin3_high_when_open

    @property
    def can_print(self) -> bool:
        return self.online and self.cover == "closed" and self.paper != "end"

    def on_bytes(self, data: bytes) -> None:
        # A simulated till may print all day: keep the recent bytes only.
        self.bytes_received += len(data)
        self.received += data
        if len(self.received) > 2 * RECEIVED_KEEP_BYTES:
            del self.received[:-RECEIVED_KEEP_BYTES]
        if self._held or not self.can_print:
            # A printer that cannot print keeps what arrives in its receive buffer and runs it on recovery
            # (an ESC p sent now opens the drawer later); only real-time commands act on arrival.
            self._held += self._run_realtime(data)
            self.report_status_change()
            return
        self._process(data)

    def _run_realtime(self, data: bytes) -> bytes:
        """Answer DLE EOT and fire DLE DC4 1 in ``data`` now; return ``data`` with them blanked out (NULs)."""

        def run(match: re.Match[bytes]) -> bytes:
            for action in EscposInterpreter.for_profile(self.profile).feed(match.group()):
                self._act(action)
            return bytes(len(match.group()))

        return _REALTIME.sub(run, data)

    def _resume(self) -> None:
        """Recovered: run what waited in the receive buffer."""
        if self._held and self.can_print:
            held, self._held = bytes(self._held), bytearray()
            self._process(held)

    def _process(self, data: bytes) -> None:
        for action in self.paper_out.feed(data):
            self._act(action)
        self._check_roll()
        self.report_status_change()

    def _act(self, action: Action) -> None:
        if isinstance(action, StatusRequest):
            self._check_roll()
            sensor = self.pin3_high
            self.send(bytes([encode_status_byte(action.n, self.status, sensor)]))
        elif isinstance(action, DrawerPulse):
            self.kicks += 1
            if self.drawer_connected and action.pin == self.drawer_pin:
                self.drawer_open = True
        elif isinstance(action, AutoStatusSet) and action.items:
            self._send_asb()  # a printer reports once when ASB is enabled

    def _send_asb(self) -> None:
        self._asb_last = encode_asb(self.status, self.pin3_high)
        self.send(self._asb_last)

    def report_status_change(self) -> None:
        """Automatic Status Back: send the status when an item enabled by GS a has changed since the last message."""
        items, last = self.paper_out.asb_items, self._asb_last
        if not items or last is None:
            return
        now = encode_asb(self.status, self.pin3_high)
        watched = (
            (ASB_DRAWER, 0, A1_DRAWER_PIN3),
            (ASB_ONLINE, 0, A1_OFFLINE | A1_COVER_OPEN),
            (ASB_ERRORS, 1, 0xFF),
            (ASB_PAPER, 2, 0xFF),
        )
        if any(items & item and (now[index] ^ last[index]) & bits for item, index, bits in watched):
            self._send_asb()

    def _check_roll(self) -> None:
        if self._paper_end_at_cut is not None and self.paper_out.cuts >= self._paper_end_at_cut:
            self.paper, self._paper_end_at_cut = "end", None

    async def apply(self, control: BaseModel) -> dict[str, Any]:
        if isinstance(control, FaultControl):
            if control.paper is not None:
                self.paper = control.paper
            if control.cover is not None:
                self.cover = control.cover
            if control.online is not None:
                self.online = control.online
            if control.paper_end_after_cuts is not None:
                self._paper_end_at_cut = self.paper_out.cuts + control.paper_end_after_cuts
            self.report_status_change()
            self._resume()
            return self.status.model_dump()
        asb_items = self.paper_out.asb_items  # clearing the printout does not reset the printer
        self.paper_out = EscposInterpreter.for_profile(self.profile)
        self.paper_out.asb_items = asb_items
        self.received.clear()
        self.bytes_received = 0
        return self.output()

    def paper_png(self) -> bytes:
        """The paper printed so far (since the last ``clear``), as a PNG."""
        from drivers.escpos.paper import paper_png  # Pillow is loaded only when someone looks at the paper

        return paper_png(self.paper_out)

    def output(self) -> dict[str, Any]:
        lines = list(self.paper_out.lines)
        return {
            "lines": lines,
            "images": self.paper_out.images,
            "cuts": self.paper_out.cuts,
            "bytes": self.bytes_received,
            "status": self.status.model_dump(),
            "drawer": {"opened": self.drawer_open, "kicks": self.kicks},
        }


class DrawerSetControl(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["set"]
    opened: bool


class EscposDrawerSimulator(Simulator):
    """The cash drawer plugged into a simulated printer: opened by its kicks, closed by hand (a control)."""

    kind = DeviceKind.DRAWER
    Control = DrawerSetControl

    def __init__(self, device_id: str, printer: EscposSimulator) -> None:
        super().__init__(device_id, None)
        self.printer = printer

    @classmethod
    def create(cls, device_id: str, env: SimEnvironment) -> EscposDrawerSimulator:
        peer = env.peers.get(device_id)
        if peer is None:  # built without a configuration (a test rig): the first simulated printer
            printer = next((s for s in env.simulators.values() if isinstance(s, EscposSimulator)), None)
        else:
            found = env.simulators.get(peer)
            printer = found if isinstance(found, EscposSimulator) else None
        if printer is None:
            problem = "there is none" if peer is None else f"{peer!r} is not one"
            raise ValueError(f"a simulated drawer hangs on a simulated ESC/POS printer: {problem}")
        # The printer has one sensor input (pin 3): a second drawer on it could not be told from the first.
        for other in env.simulators.values():
            if isinstance(other, EscposDrawerSimulator) and other.printer is printer:
                raise ValueError(f"printer {printer.device_id!r} already has a simulated drawer ({other.device_id})")
        options = env.driver_options(device_id, EscposDrawerOptions)
        if options is not None:
            printer.drawer_pin = options.pin  # wired to the pin its driver kicks
            printer.pin3_high_when_open = options.open_when_pin3 == "high"  # and with the sensor it expects
        return cls(device_id, printer)

    async def start(self) -> None:
        self.printer.drawer_connected = True

    async def stop(self) -> None:
        self.printer.drawer_connected = False

    @property
    def plugged(self) -> bool:
        return self.printer.drawer_connected

    def transport_settings(self) -> PeerSettings:
        return PeerSettings(device=self.printer.device_id)

    async def apply(self, control: BaseModel) -> dict[str, Any]:
        assert isinstance(control, DrawerSetControl)
        self.printer.drawer_open = control.opened
        self.printer.report_status_change()
        return self.output()

    def output(self) -> dict[str, Any]:
        return {"opened": self.printer.drawer_open, "kicks": self.printer.kicks, "connected": self.plugged}
