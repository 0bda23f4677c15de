"""Sans-I/O keyboard-wedge decoding: evdev input events in, whole scans out.

Key codes are positions, not characters: a French scanner typing ``004HQ3`` sends the keys a US
table would read as ``àà'HA"``. Characters come from libxkbcommon with the layout the scanner is set
to (:mod:`drivers.wedge.xkb`), which tracks Shift, Caps Lock, AltGr/level 3, Num Lock and dead keys.

A scan ends at the key-up of Enter / keypad Enter, at a configured suffix, or — when configured — at
an inter-key gap measured with the events' own timestamps (the time comes in with the event; this
module has no clock), so a daemon that reads late never splits or merges scans.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass

from drivers.transports.evdev import INPUT_EVENT_FORMAT, INPUT_EVENT_SIZE
from drivers.wedge.xkb import Keymap, KeyState

EV_SYN = 0x00
EV_KEY = 0x01
EV_MSC = 0x04
SYN_REPORT = 0
MSC_SCAN = 0x04
KEY_RELEASED, KEY_PRESSED, KEY_REPEATED = 0, 1, 2
KEY_ENTER = 28
KEY_KPENTER = 96
ENTER_KEYS = frozenset({KEY_ENTER, KEY_KPENTER})

_RECORD = struct.Struct(INPUT_EVENT_FORMAT)


@dataclass(frozen=True, slots=True)
class InputEvent:
    """One ``struct input_event``: time in seconds (the kernel's timestamp), type, code, value."""

    time: float
    type: int
    code: int
    value: int


def parse_input_events(data: bytes) -> list[InputEvent]:
    """Whole 24-byte records → events (a trailing partial record is the caller's to keep)."""
    usable = len(data) - len(data) % INPUT_EVENT_SIZE
    return [
        InputEvent(sec + usec / 1e6, kind, code, value)
        for sec, usec, kind, code, value in _RECORD.iter_unpack(memoryview(data)[:usable])
    ]


def parse_key_events(data: bytes) -> list[InputEvent]:
    """Like :func:`parse_input_events`, keeping only EV_KEY records (the ones that carry keys).

    A USB keyboard node sends three records per key change (MSC_SCAN, KEY, SYN_REPORT); skipping the
    other two before building objects triples the read loop's throughput.
    """
    usable = len(data) - len(data) % INPUT_EVENT_SIZE
    return [
        InputEvent(sec + usec / 1e6, kind, code, value)
        for sec, usec, kind, code, value in _RECORD.iter_unpack(memoryview(data)[:usable])
        if kind == EV_KEY
    ]


def encode_input_events(events: Iterable[InputEvent]) -> bytes:
    out = bytearray()
    for event in events:
        sec = int(event.time)
        usec = round((event.time - sec) * 1e6)
        if usec >= 1_000_000:
            sec, usec = sec + 1, usec - 1_000_000
        out += _RECORD.pack(sec, usec, event.type, event.code, event.value)
    return bytes(out)


@dataclass(frozen=True, slots=True)
class WedgeScan:
    label: str
    """The scan with prefix and suffix stripped (AIM identifier still in front, if the scanner sends one)."""
    raw: str
    """Everything typed for this scan, prefix and suffix included (not the Enter)."""


@dataclass(frozen=True, slots=True)
class WedgeProblem:
    reason: str
    typed: str
    """What was decoded of the dropped input ("?" where a key had no character)."""


WedgeOutput = WedgeScan | WedgeProblem


class KeyboardDecoder:
    """Decodes one scanner's key events. Feed events in order; collect scans and problems.

    A scan containing a key that types nothing on the layout (an unmappable code, a dead key that
    composes nothing) is never published with a character missing: it is reported whole as a problem.
    So is input longer than ``max_length``: it is dropped up to its end of scan, and reported once.
    """

    def __init__(
        self,
        keymap: Keymap,
        *,
        enter_ends_scan: bool = True,
        suffix: str = "",
        prefix: str = "",
        gap_s: float | None = None,
        numlock: bool = True,
        max_length: int = 4096,
    ) -> None:
        if not (enter_ends_scan or suffix or gap_s):
            raise ValueError("a scan needs an end: Enter, a suffix or an inter-key gap")
        self.keys = KeyState(keymap, numlock=numlock)
        self.enter_ends_scan = enter_ends_scan
        self.suffix = suffix
        self.prefix = prefix
        self.gap_s = gap_s
        self.max_length = max_length
        self._typed: list[str] = []
        """What this scan typed, up to max_length characters."""
        self._length = 0
        self._tail = ""
        """The last len(suffix) characters typed (so the suffix is found without joining the whole scan)."""
        self._problem: str | None = None
        self._last_key_time: float | None = None

    @property
    def pending(self) -> bool:
        """True while a scan has started and not ended (the driver's cue to watch for a missing end)."""
        return bool(self._typed) or self._problem is not None or self.keys.composing

    def feed(self, event: InputEvent) -> list[WedgeOutput]:
        if event.type != EV_KEY:
            return []  # EV_SYN / EV_MSC (scan codes) / LEDs carry no characters
        out: list[WedgeOutput] = []
        if (
            self.gap_s is not None
            and self._last_key_time is not None
            and event.time - self._last_key_time > self.gap_s
            and self.pending
        ):
            out += self.end_by_gap()
        self._last_key_time = event.time
        code, value = event.code, event.value
        if value == KEY_RELEASED:
            self.keys.release(code)
            if code in ENTER_KEYS and self.enter_ends_scan:
                out += self._finish()
            return out
        if code in ENTER_KEYS and self.enter_ends_scan:
            return out  # the scan ends at the key-up
        text: str | None
        if value == KEY_REPEATED:
            text = self.keys.repeat(code)  # a held key's character again; modifiers do not repeat
        else:
            text, keysym, modifier = self.keys.press(code)
            if text == "" and not modifier:
                layout = self.keys.keymap.layout_id
                if self.keys.cancelled:
                    self._mark(f"a dead key and key {code} compose nothing on layout {layout}")
                else:
                    self._mark(f"key {code} (keysym {keysym:#x}) types nothing on layout {layout}")
                text = "?"
        if text:
            self._add(text, out)
        return out

    def _add(self, text: str, out: list[WedgeOutput]) -> None:
        self._length += len(text)
        if self._length <= self.max_length:
            self._typed.append(text)
        else:
            # Not a scan: dropped up to its end, or the characters after the limit would come out as one.
            self._mark(f"input longer than {self.max_length} characters without an end")
        if self.suffix:
            self._tail = (self._tail + text)[-len(self.suffix) :]
            if self._tail == self.suffix:
                out += self._finish()

    def _mark(self, reason: str) -> None:
        if self._problem is None:
            self._problem = reason

    def _finish(self) -> list[WedgeOutput]:
        raw = "".join(self._typed)
        problem = self._problem
        self._reset_scan()
        if problem is not None:
            return [WedgeProblem(problem, raw)]
        label = raw
        if self.suffix and label.endswith(self.suffix):
            label = label[: -len(self.suffix)]
        if self.prefix and label.startswith(self.prefix):
            label = label[len(self.prefix) :]
        if not label:
            return []  # a stray Enter, or only the prefix/suffix: no scan
        return [WedgeScan(label, raw)]

    def _reset_scan(self) -> None:
        self._typed.clear()
        self._length = 0
        self._tail = ""
        self._problem = None
        self.keys.reset_compose()

    def end_by_gap(self) -> list[WedgeOutput]:
        """The keys stopped for longer than the gap: with gap-ended scans that is the end of one."""
        if self.gap_s is None:
            return []
        if self.keys.composing:
            self._mark("a dead key was not followed by a key it composes with")
        return self._finish()

    def abandon(self) -> WedgeProblem:
        """Drop an unfinished scan (no terminator in time) and say what was dropped."""
        raw = "".join(self._typed)
        reason = self._problem or "no end of scan (Enter/suffix) arrived"
        if self.keys.composing and self._problem is None:
            reason = "a dead key was not followed by a key it composes with"
        self._reset_scan()
        return WedgeProblem(reason, raw)

    def close(self) -> None:
        self.keys.close()
