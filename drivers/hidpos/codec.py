"""Sans-I/O HID POS scanner reports (usage page 0x8C, "USB HID POS" mode): reports in, whole scans out.

The scanned-data input report as Honeywell (and compatible) scanners send it, 64 bytes by default:

====== =====================================================================
byte   meaning
====== =====================================================================
0      report ID 0x02 (scanned data)
1      number of data bytes in this report
2–4    AIM symbology identifier (``]E0``…), zero when the scanner sends none
5…     data (at most report size − 8 bytes per report)
−3     the scanner's own code ID (informational)
−2     reserved
−1     bit 0 set while more reports of the same scan follow
====== =====================================================================

A long label (a QR code) spans several reports; it is reassembled here and never split or merged.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SCANNED_DATA_REPORT = 0x02
HEADER_BYTES = 5
TRAILER_BYTES = 3
MIN_REPORT = HEADER_BYTES + TRAILER_BYTES


@dataclass(frozen=True, slots=True)
class HidScan:
    aim: bytes
    """The AIM identifier from the report header (empty when the scanner sent none)."""
    data: bytes

    @property
    def label(self) -> bytes:
        return self.aim + self.data


@dataclass(frozen=True, slots=True)
class HidProblem:
    reason: str
    dropped: bytes


def encode_reports(aim: bytes, data: bytes, report_size: int = 64, code_id: int = 0) -> list[bytes]:
    """The reports a scanner sends for one label (used by the simulator and tests)."""
    room = report_size - MIN_REPORT
    if room <= 0:
        raise ValueError(f"report size {report_size} leaves no room for data")
    aim_bytes = (aim + b"\0\0\0")[:3]
    chunks = [data[i : i + room] for i in range(0, len(data), room)] or [b""]
    reports = []
    for index, chunk in enumerate(chunks):
        more = 1 if index < len(chunks) - 1 else 0
        body = bytes([SCANNED_DATA_REPORT, len(chunk)]) + aim_bytes + chunk
        padding = bytes(report_size - len(body) - TRAILER_BYTES)
        reports.append(body + padding + bytes([code_id, 0, more]))
    return reports


@dataclass
class HidPosAssembler:
    """Reassembles multi-report scans. Reports with another report ID are ignored (and counted).

    A scan longer than ``max_length`` is dropped whole and reported once: its remaining reports, up to the last
    one, are dropped with it, so its tail never comes out as a scan of its own.
    """

    max_length: int = 8192
    ignored_reports: int = 0
    _aim: bytes | None = None
    _parts: list[bytes] = field(default_factory=list)
    _length: int = 0
    _skipping: bytes | None = None
    """The AIM identifier of an over-long scan whose remaining reports are being dropped."""

    @property
    def pending(self) -> bool:
        """True while a scan is unfinished (the driver's cue to time it out with :meth:`abandon`)."""
        return self._aim is not None or self._skipping is not None

    def feed(self, report: bytes) -> list[HidScan | HidProblem]:
        if not report or report[0] != SCANNED_DATA_REPORT:
            self.ignored_reports += 1
            return []
        out: list[HidScan | HidProblem] = []
        if len(report) < MIN_REPORT:
            out.append(HidProblem(f"report of {len(report)} bytes is too short", report))
            return out
        size = report[1]
        if size > len(report) - MIN_REPORT:
            if self.pending:
                out.append(self.abandon("a corrupt report broke the scan"))
            out.append(HidProblem(f"report says {size} data bytes, it has room for {len(report) - MIN_REPORT}", report))
            return out
        aim = bytes(report[2:5]).rstrip(b"\0")
        more = bool(report[-1] & 0x01)
        if self._skipping is not None:
            if aim == self._skipping:
                if not more:
                    self._skipping = None  # its last report: the next one starts a scan
                return out
            self._skipping = None  # another scan started: the over-long one's last report never came
        if self._aim is not None and aim != self._aim:
            out.append(self.abandon("the next scan started before the last report of this one"))
        self._aim = aim
        self._parts.append(bytes(report[HEADER_BYTES : HEADER_BYTES + size]))
        self._length += size
        if self._length > self.max_length:
            out.append(self.abandon(f"scan longer than {self.max_length} bytes"))
            self._skipping = aim if more else None
            return out
        if not more:
            data = b"".join(self._parts)
            self._reset()
            if data:
                out.append(HidScan(aim, data))
        return out

    def abandon(self, reason: str = "the last report of the scan did not arrive") -> HidProblem:
        dropped = (self._aim or b"") + b"".join(self._parts)
        self._reset()
        return HidProblem(reason, dropped)

    def _reset(self) -> None:
        self._aim = None
        self._parts = []
        self._length = 0
        self._skipping = None
