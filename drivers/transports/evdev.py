"""evdev transport: keyboard-wedge scanners read as ``struct input_event`` records from /dev/input/event*.

Each node is taken exclusively with EVIOCGRAB, so the scanner's keystrokes do not also reach the
desktop or a console, and switched to CLOCK_MONOTONIC timestamps so inter-key gaps survive a wall-clock
step. A scanner that exposes two nodes (keyboard + consumer keys) is configured with both; their
records are merged in arrival order. Records are decoded by :mod:`drivers.wedge.events`.
"""

from __future__ import annotations

import fcntl
import logging
import struct
import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from drivers.transports.records import RecordTransport, is_stream_node

_LOGGER = logging.getLogger(__name__)

#: sizeof(struct input_event) on this platform: struct timeval (two longs) + u16 type + u16 code + s32 value.
INPUT_EVENT_FORMAT = "@llHHi"
INPUT_EVENT_SIZE = struct.calcsize(INPUT_EVENT_FORMAT)


def _iow(kind: str, number: int, size: int) -> int:
    """The kernel's _IOW(type, nr, size) ioctl request number."""
    return (1 << 30) | (size << 16) | (ord(kind) << 8) | number


EVIOCGRAB = _iow("E", 0x90, struct.calcsize("i"))
EVIOCSCLOCKID = _iow("E", 0xA0, struct.calcsize("i"))


class EvdevSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["evdev"] = "evdev"
    paths: list[str] = Field(
        min_length=1,
        max_length=4,
        description="Event nodes of the scanner; prefer /dev/input/by-id/…-event-kbd. List both nodes of scanners "
        "that expose two.",
    )
    grab: bool = Field(
        True, description="Take the nodes exclusively (EVIOCGRAB) so scans do not also type into the desktop."
    )


class EvdevTransport(RecordTransport):
    transport_type = "evdev"

    def __init__(self, settings: EvdevSettings) -> None:
        super().__init__(list(settings.paths), INPUT_EVENT_SIZE)
        self.settings = settings

    def _prepare(self, fd: int, path: str) -> None:
        if is_stream_node(fd):
            # A simulator's pty carrying the same records: nothing to grab, timestamps are the writer's.
            return
        if self.settings.grab:
            fcntl.ioctl(fd, EVIOCGRAB, 1)  # EBUSY: another program holds the grab
        try:
            fcntl.ioctl(fd, EVIOCSCLOCKID, struct.pack("i", time.CLOCK_MONOTONIC))
        except OSError as err:  # old kernels: realtime stamps still work between clock steps
            _LOGGER.debug("%s: cannot select monotonic timestamps: %s", path, err)

    def describe(self) -> dict[str, Any]:
        return {"type": "evdev", "paths": list(self.settings.paths), "grab": self.settings.grab}
