"""SQLite on its own thread: the event loop never waits on disk.

WAL mode with synchronous=FULL: a commit that returned survives power loss. One connection, used
only from one dedicated thread, so calls are serialized and need no locking of their own.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


class Database:
    def __init__(self, path: Path, schema: str) -> None:
        self.path = path
        self._schema = schema
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"sqlite-{path.stem}")
        self._conn: sqlite3.Connection | None = None

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA busy_timeout=5000")
        conn.executescript(self._schema)
        self._conn = conn

    async def open(self) -> None:
        await self.run(lambda conn: None, opening=True)

    async def run(self, fn: Callable[[sqlite3.Connection], T], *, opening: bool = False) -> T:
        def call() -> T:
            if self._conn is None:
                if not opening:
                    raise RuntimeError(f"{self.path} is not open")
                self._open()
            assert self._conn is not None
            return fn(self._conn)

        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    async def close(self) -> None:
        def close() -> None:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

        await asyncio.get_running_loop().run_in_executor(self._executor, close)
        self._executor.shutdown(wait=True)
