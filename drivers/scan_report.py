"""What every scanner driver does with a decoded label or a dropped one (serial, HID POS, keyboard wedge).

One place for the ``scanner.scan`` event, the GoodScanCount statistic and the report of dropped input,
so the three drivers cannot drift apart.
"""

from __future__ import annotations

import logging

from drivers.base import DeviceContext
from drivers.models import DeviceState, ScanData
from drivers.symbology import interpret

_LOGGER = logging.getLogger(__name__)

#: Longest excerpt of dropped input quoted in a device reason (the log has it whole).
_QUOTE = 40


def decode_label(label: bytes) -> str:
    """Label bytes → text: UTF-8 when they are UTF-8 (2D codes), else Latin-1 (one char per byte)."""
    try:
        return label.decode("utf-8")
    except UnicodeDecodeError:
        return label.decode("latin-1")


def scan_data(label: str, raw: str) -> tuple[ScanData, str | None]:
    """The event data of one label, and why its symbology was demoted to UNKNOWN (if it was)."""
    meaning = interpret(label)
    scan = ScanData(data=meaning.data, symbology=meaning.symbology, aim=meaning.aim, raw=raw, gs1=meaning.gs1)
    return scan, meaning.problem


class ScanReporter:
    """Publishes scans and reports dropped input for one scanner device."""

    def __init__(self, ctx: DeviceContext) -> None:
        self.ctx = ctx
        self._dropped = False

    def scan(self, label: str, raw: str) -> ScanData:
        scan, problem = scan_data(label, raw)
        if problem is not None:
            _LOGGER.warning("%s: reported as UNKNOWN: %s (raw %r)", self.ctx.device_id, problem, raw)
        self.ctx.stats.increment("GoodScanCount")
        self.ctx.publish("scanner.scan", scan.model_dump(mode="json"))
        if self._dropped:
            # A good scan after dropped input: the device is fine again, clear the reason.
            self._dropped = False
            self.ctx.set_state(DeviceState.READY)
        return scan

    def dropped(self, reason: str, data: str | bytes) -> None:
        """Input that made no scan (garbage, no terminator, unmappable key): count, log, show why."""
        self.ctx.stats.increment("CommunicationErrorCount")
        _LOGGER.warning("%s: dropped input: %s: %r", self.ctx.device_id, reason, data)
        excerpt = repr(data[:_QUOTE]) + ("…" if len(data) > _QUOTE else "")
        self._dropped = True
        self.ctx.set_state(DeviceState.READY, f"dropped input {excerpt}: {reason}")
