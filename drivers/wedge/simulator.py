"""Simulated keyboard-wedge scanner: types labels as evdev key events of its keyboard layout.

Like a real scanner set to a "keyboard country", it turns each character into the key presses that
type it on that layout — found by asking libxkbcommon (:meth:`Keymap.strokes_for`): Shift, AltGr,
Caps Lock, dead keys, Ctrl+] for FNC1. The events go out as real ``struct input_event`` records on
the device side of a pty, which the driver opens as its event node, so the driver reads exactly the
bytes it reads from /dev/input/eventN.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from drivers.errors import DeviceError
from drivers.models import DeviceKind
from drivers.serial_scanner.simulator import ScanControl
from drivers.simulator import PtyEndpoint, SimEnvironment, Simulator
from drivers.symbology import AIM_FOR_SYMBOLOGY
from drivers.transports import EvdevSettings
from drivers.wedge.codec import (
    EV_KEY,
    EV_MSC,
    EV_SYN,
    KEY_ENTER,
    KEY_PRESSED,
    KEY_RELEASED,
    MSC_SCAN,
    SYN_REPORT,
    InputEvent,
    encode_input_events,
)
from drivers.wedge.driver import WedgeScannerOptions
from drivers.wedge.xkb import KEY_CAPSLOCK, Keymap, Stroke, UnknownLayout, XkbUnavailable, keymap_for


class TypeControl(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["type"]
    text: str = Field(min_length=1, max_length=4096, description="Typed as is, with no end (Enter/suffix).")


class KeysControl(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["keys"]
    codes: list[int] = Field(min_length=1, max_length=256, description="evdev key codes tapped in order.")


class LayoutControl(BaseModel):
    """Set the scanner's keyboard country, as its programming barcodes do."""

    model_config = ConfigDict(extra="forbid")
    action: Literal["layout"]
    layout: str
    variant: str = ""

    @model_validator(mode="after")
    def _known(self) -> LayoutControl:
        try:
            keymap_for(self.layout, self.variant)
        except (UnknownLayout, XkbUnavailable) as err:
            raise ValueError(str(err)) from err
        return self


def key_events(code: int, value: int, at: float) -> list[InputEvent]:
    """What a USB keyboard's evdev node reports for one key change: scan code, key, sync."""
    return [
        InputEvent(at, EV_MSC, MSC_SCAN, 0x70000 + code),
        InputEvent(at, EV_KEY, code, value),
        InputEvent(at, EV_SYN, SYN_REPORT, 0),
    ]


class Typist:
    """Turns text into the key events of a layout, with a fixed time between key changes."""

    def __init__(self, keymap: Keymap, interval_s: float = 0.0005) -> None:
        self.keymap = keymap
        self.interval_s = interval_s

    def strokes(self, text: str) -> list[Stroke]:
        out: list[Stroke] = []
        for char in text:
            strokes = self.keymap.strokes_for(char)
            if strokes is None:
                raise DeviceError(f"{char!r} cannot be typed on keyboard layout {self.keymap.layout_id}")
            out += strokes
        return out

    def events(self, strokes: list[Stroke], start: float, *, enter: bool = False) -> list[InputEvent]:
        events: list[InputEvent] = []
        at = start

        def change(code: int, value: int) -> None:
            nonlocal at
            events.extend(key_events(code, value, at))
            at += self.interval_s

        for stroke in strokes:
            for modifier in stroke.modifiers:
                if modifier == KEY_CAPSLOCK:  # a lock is tapped on, and tapped off after the key
                    change(modifier, KEY_PRESSED)
                    change(modifier, KEY_RELEASED)
                else:
                    change(modifier, KEY_PRESSED)
            change(stroke.code, KEY_PRESSED)
            change(stroke.code, KEY_RELEASED)
            for modifier in reversed(stroke.modifiers):
                if modifier == KEY_CAPSLOCK:
                    change(modifier, KEY_PRESSED)
                change(modifier, KEY_RELEASED)
        if enter:
            change(KEY_ENTER, KEY_PRESSED)
            change(KEY_ENTER, KEY_RELEASED)
        return events

    def type(self, text: str, start: float, *, enter: bool = False) -> list[InputEvent]:
        return self.events(self.strokes(text), start, enter=enter)


class WedgeScannerSimulator(Simulator):
    kind = DeviceKind.SCANNER
    Control = ScanControl | TypeControl | KeysControl | LayoutControl

    def __init__(
        self,
        device_id: str,
        endpoints: list[PtyEndpoint],
        *,
        layout: str = "us",
        variant: str = "",
        send_aim: bool = False,
        suffix: str = "",
        enter: bool = True,
        prefix: str = "",
    ) -> None:
        super().__init__(device_id, endpoints[0])
        self.endpoints = endpoints
        self.typist = Typist(keymap_for(layout, variant))
        self.send_aim = send_aim
        self.prefix = prefix
        self.suffix = suffix
        self.enter = enter
        self.scans = 0
        self._clock = 0.0

    @classmethod
    def create(cls, device_id: str, env: SimEnvironment) -> WedgeScannerSimulator:
        endpoints = [PtyEndpoint(env.sim_dir / f"{device_id}-event-kbd")]
        options = env.driver_options(device_id, WedgeScannerOptions)
        if options is None:
            return cls(device_id, endpoints)
        # Types on the layout its driver decodes with, and ends a scan the way the driver waits for.
        return cls(
            device_id,
            endpoints,
            layout=options.layout,
            variant=options.variant,
            prefix=options.prefix,
            suffix=options.suffix,
            enter=options.enter_ends_scan,
        )

    @classmethod
    def with_nodes(cls, device_id: str, env: SimEnvironment, nodes: int = 2, **options: Any) -> WedgeScannerSimulator:
        """A scanner exposing ``nodes`` event nodes (keyboard + consumer keys), like many USB scanners."""
        names = ["event-kbd", *(f"if{index:02d}-event-kbd" for index in range(1, nodes))]
        return cls(device_id, [PtyEndpoint(env.sim_dir / f"{device_id}-{name}") for name in names], **options)

    async def start(self) -> None:
        for endpoint in self.endpoints:
            await endpoint.plug()

    async def stop(self) -> None:
        for endpoint in self.endpoints:
            await endpoint.unplug()

    def transport_settings(self) -> EvdevSettings:
        return EvdevSettings(paths=[str(endpoint.link) for endpoint in self.endpoints], grab=False)

    def _now(self) -> float:
        # Key events never go back in time, even when two scans are typed within one clock tick.
        self._clock = max(time.monotonic(), self._clock)
        return self._clock

    def send_events(self, events: list[InputEvent], node: int = 0) -> None:
        if events:
            self._clock = events[-1].time + self.typist.interval_s
        self.endpoints[node].send(encode_input_events(events))

    def scan_events(self, data: str, symbology: str = "UNKNOWN") -> list[InputEvent]:
        aim = AIM_FOR_SYMBOLOGY.get(symbology, "") if self.send_aim else ""
        if symbology == "UPCA" and aim:
            data = "0" + data
        return self.typist.type(self.prefix + aim + data + self.suffix, self._now(), enter=self.enter)

    async def apply(self, control: BaseModel) -> dict[str, Any]:
        if isinstance(control, ScanControl):
            self.send_events(self.scan_events(control.data, control.symbology))
            self.scans += 1
        elif isinstance(control, TypeControl):
            self.send_events(self.typist.type(control.text, self._now()))
        elif isinstance(control, KeysControl):
            strokes = [Stroke(code) for code in control.codes]
            self.send_events(self.typist.events(strokes, self._now()))
        else:
            assert isinstance(control, LayoutControl)
            self.typist = Typist(keymap_for(control.layout, control.variant), self.typist.interval_s)
        return {"sent": True}

    def output(self) -> dict[str, Any]:
        return {"scans": self.scans, "layout": self.typist.keymap.layout_id}
