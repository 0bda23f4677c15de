"""A bounded in-memory ring of recent log records, for the support bundle.

The daemon installs one :class:`LogRing` on the root logger at start, so the bundle can show what posd
(and aiohttp, asyncio) said lately even where the journal is out of reach (a technician with only the API).
It is bounded twice — by record count and by total characters — so a burst of long tracebacks cannot grow
it past about a megabyte. Each record is reduced at emit time to four small strings: holding LogRecords
would keep their ``args`` (devices, requests, buffers) alive.
"""

from __future__ import annotations

import contextlib
import logging
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

DEFAULT_CAPACITY = 2000
DEFAULT_MAX_CHARS = 1_000_000
MESSAGE_LIMIT = 8000
"""Characters kept of one message (with its traceback); longer ones keep their start and end."""

_TRACEBACKS = logging.Formatter()


@dataclass(frozen=True, slots=True)
class LogEntry:
    time: float
    level: str
    logger: str
    message: str

    def public(self) -> dict[str, Any]:
        stamp = datetime.fromtimestamp(self.time, UTC).isoformat(timespec="milliseconds")
        return {"time": stamp, "level": self.level, "logger": self.logger, "message": self.message}


def _clip(text: str) -> str:
    if len(text) <= MESSAGE_LIMIT:
        return text
    half = MESSAGE_LIMIT // 2
    return f"{text[:half]}\n… ({len(text) - MESSAGE_LIMIT} characters left out) …\n{text[-half:]}"


class LogRing(logging.Handler):
    """Keeps the last ``capacity`` records (and at most ``max_chars`` characters of messages)."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY, max_chars: int = DEFAULT_MAX_CHARS) -> None:
        super().__init__()
        self.capacity = capacity
        self.max_chars = max_chars
        self._entries: deque[LogEntry] = deque()
        self._chars = 0
        self.dropped = 0
        """Records pushed out since start (the bundle says how much history it lacks)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            try:
                message = record.getMessage()
            except Exception as err:  # a bad format string: keep what there is (the stderr handler complains)
                message = f"{record.msg!r} % {record.args!r} (cannot format: {err})"
            if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
                # The same cache logging.Formatter.format uses: the traceback is rendered once for all handlers.
                record.exc_text = _TRACEBACKS.formatException(record.exc_info)
            if record.exc_text:
                message = f"{message}\n{record.exc_text}"
            entry = LogEntry(record.created, record.levelname, record.name, _clip(message))
        except Exception:
            self.handleError(record)
            return
        # Handler.handle holds self.lock around emit, so this is safe from the SQLite and executor threads too.
        self._entries.append(entry)
        self._chars += len(entry.message)
        while len(self._entries) > self.capacity or (self._chars > self.max_chars and len(self._entries) > 1):
            self._chars -= len(self._entries.popleft().message)
            self.dropped += 1

    def snapshot(self, limit: int | None = None) -> list[LogEntry]:
        """The newest ``limit`` entries (all if None), oldest first."""
        with self.lock or contextlib.nullcontext():
            entries = list(self._entries)
        return entries if limit is None else entries[max(0, len(entries) - limit) :]

    def install(self, logger: logging.Logger | None = None) -> None:
        (logger or logging.getLogger()).addHandler(self)

    def uninstall(self, logger: logging.Logger | None = None) -> None:
        (logger or logging.getLogger()).removeHandler(self)
