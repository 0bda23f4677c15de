"""The in-memory log ring of the support bundle: bounded by count and by size, tracebacks kept."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from daemon.logring import MESSAGE_LIMIT, LogRing


@pytest.fixture
def logger() -> Iterator[logging.Logger]:
    log = logging.getLogger("tests.logring")
    log.propagate = False  # keep the test's records out of pytest's own capture
    log.setLevel(logging.DEBUG)
    yield log
    log.propagate = True
    log.setLevel(logging.NOTSET)


def test_ring_keeps_the_newest_records_in_order(logger: logging.Logger) -> None:
    ring = LogRing(capacity=3)
    ring.install(logger)
    try:
        for n in range(5):
            logger.info("record %d of %s", n, "five")
    finally:
        ring.uninstall(logger)
    logger.info("after uninstall")
    entries = ring.snapshot()
    assert [e.message for e in entries] == ["record 2 of five", "record 3 of five", "record 4 of five"]
    assert ring.dropped == 2
    assert {e.level for e in entries} == {"INFO"}
    assert {e.logger for e in entries} == {"tests.logring"}
    assert [e.message for e in ring.snapshot(limit=1)] == ["record 4 of five"]
    public = entries[0].public()
    assert set(public) == {"time", "level", "logger", "message"}
    assert public["time"].endswith("+00:00")


def test_ring_is_bounded_by_characters_and_clips_long_messages(logger: logging.Logger) -> None:
    ring = LogRing(capacity=1000, max_chars=3 * MESSAGE_LIMIT)
    ring.install(logger)
    try:
        for n in range(10):
            logger.warning("%d %s", n, "x" * (MESSAGE_LIMIT * 2))
    finally:
        ring.uninstall(logger)
    entries = ring.snapshot()
    assert sum(len(e.message) for e in entries) <= 3 * MESSAGE_LIMIT + 200
    assert entries[-1].message.startswith("9 ")
    assert "characters left out" in entries[-1].message
    assert ring.dropped == 10 - len(entries)


def test_ring_keeps_tracebacks_and_survives_bad_format_args(logger: logging.Logger) -> None:
    ring = LogRing()
    ring.install(logger)
    try:
        try:
            raise ValueError("the driver broke")
        except ValueError:
            logger.exception("printer-1: driver failed")
    finally:
        ring.uninstall(logger)
    # Straight to the ring: any other handler (pytest's) would raise on the bad format first.
    record = logging.LogRecord("tests.logring", logging.ERROR, __file__, 1, "bad %d format", ("not a number",), None)
    ring.handle(record)
    failure, bad = ring.snapshot()
    assert failure.message.startswith("printer-1: driver failed\nTraceback")
    assert "ValueError: the driver broke" in failure.message
    assert bad.message.startswith("'bad %d format' % ('not a number',) (cannot format:")
