"""Per-device statistics under their UPOS names, persisted in the state database."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections import defaultdict

from daemon.database import Database

_LOGGER = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS statistics (
    device TEXT NOT NULL,
    name TEXT NOT NULL,
    value INTEGER NOT NULL,
    PRIMARY KEY (device, name)
);
"""


class DeviceStatistics:
    """Counters of one device. Increments are in memory; the store writes them out periodically."""

    def __init__(self, initial: dict[str, int] | None = None) -> None:
        self._counts: dict[str, int] = dict(initial or {})
        self.dirty = False

    def increment(self, name: str, by: int = 1) -> None:
        self._counts[name] = self._counts.get(name, 0) + by
        self.dirty = True

    def snapshot(self) -> dict[str, int]:
        return dict(self._counts)


class StatisticsStore:
    def __init__(self, db: Database, flush_interval_s: float = 10.0) -> None:
        self._db = db
        self._flush_interval = flush_interval_s
        self._devices: dict[str, DeviceStatistics] = {}
        self._loaded: dict[str, dict[str, int]] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        def load(conn: sqlite3.Connection) -> dict[str, dict[str, int]]:
            out: dict[str, dict[str, int]] = defaultdict(dict)
            for device, name, value in conn.execute("SELECT device, name, value FROM statistics"):
                out[device][name] = value
            return dict(out)

        self._loaded = await self._db.run(load)
        self._task = asyncio.create_task(self._flush_loop(), name="statistics-flush")

    def for_device(self, device_id: str) -> DeviceStatistics:
        stats = self._devices.get(device_id)
        if stats is None:
            stats = self._devices[device_id] = DeviceStatistics(self._loaded.get(device_id))
        return stats

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(self._flush_interval)
            try:
                await self.flush()
            except sqlite3.Error as err:
                _LOGGER.error("could not save statistics: %s", err)

    async def flush(self) -> None:
        rows: list[tuple[str, str, int]] = []
        for device_id, stats in self._devices.items():
            if stats.dirty:
                stats.dirty = False
                rows.extend((device_id, name, value) for name, value in stats.snapshot().items())
        if not rows:
            return

        def save(conn: sqlite3.Connection) -> None:
            with conn:
                conn.executemany(
                    "INSERT INTO statistics (device, name, value) VALUES (?, ?, ?) "
                    "ON CONFLICT (device, name) DO UPDATE SET value = excluded.value",
                    rows,
                )

        await self._db.run(save)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await self.flush()
