"""The audit log: append-only, hash-chained records of every cash-drawer open attempt, in SQLite.

Each record stores ``hash = SHA-256(prev_hash + canonical JSON of the record)``, where the canonical JSON
has sorted keys, no spaces, UTF-8 (``ensure_ascii=False``) and covers every field below including ``id``
and ``time``; the first record's ``prev_hash`` is 64 zeros. :func:`verify_rows` walks the chain and names
the first record that does not verify: a changed field, a re-hashed record, a deleted or inserted one.

What a chain cannot show: someone who rewrites the whole tail from some record on (or cuts it off) leaves a
self-consistent chain. The head (``id``, ``hash``) is therefore logged with every record and returned by
``GET /api/v1/audit``; keep it somewhere else (end-of-day report, a log server) and pass it to
``posd audit verify --expect-head ID:HASH``.

In the database file, triggers refuse UPDATE and DELETE on the table, and this module has no code that
does either. The file is ``<state_dir>/audit.db``, separate from the other state.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from daemon.database import Database

_LOGGER = logging.getLogger(__name__)

AUDIT_DB = "audit.db"
GENESIS = "0" * 64

AuditResult = Literal["opened", "sent", "refused", "failed", "expired", "opened_unexpectedly", "open_too_long"]

#: The hashed fields, in table order. ``prev_hash`` and ``hash`` are the chain itself.
FIELDS: tuple[str, ...] = (
    "id",
    "time",
    "action",
    "result",
    "device",
    "token",
    "origin",
    "remote",
    "operator",
    "reason",
    "reference",
    "detail",
)
_TEXT_LIMIT = 200
_DETAIL_LIMIT = 1000

SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY,
    time TEXT NOT NULL,
    action TEXT NOT NULL,
    result TEXT NOT NULL,
    device TEXT,
    token TEXT,
    origin TEXT,
    remote TEXT,
    operator TEXT,
    reason TEXT,
    reference TEXT,
    detail TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""

_COLUMNS = ", ".join((*FIELDS, "prev_hash", "hash"))


class AuditRecord(BaseModel):
    id: int
    time: str = Field(description="UTC, ISO 8601 with milliseconds.")
    action: str = Field(description="open (an API request), raw_job_kick, sensed (the drawer itself), alert.")
    result: AuditResult
    device: str | None
    token: str | None = Field(description="Name of the token used (never the secret); null if none was valid.")
    origin: str | None = Field(description='The HTTP Origin header, or "none" when the client sent none.')
    remote: str | None = Field(description="Client address.")
    operator: str | None
    reason: str | None
    reference: str | None
    detail: str | None
    prev_hash: str
    hash: str


def canonical_json(record: Mapping[str, Any]) -> bytes:
    return json.dumps(
        {name: record[name] for name in FIELDS}, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode()


def chain_hash(prev_hash: str, record: Mapping[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + canonical_json(record)).hexdigest()


@dataclass(frozen=True)
class VerifyReport:
    records: int
    """Records checked (all of them when the chain is intact)."""
    head_id: int
    head_hash: str
    broken_id: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.broken_id is None and self.problem is None

    def text(self) -> str:
        if self.ok:
            return f"OK: {self.records} records, chain intact; head {self.head_id}:{self.head_hash}"
        where = f"record {self.broken_id}" if self.broken_id is not None else "the log"
        return f"BROKEN at {where}: {self.problem} ({self.records} records before it verified)"


def verify_rows(rows: Iterable[Mapping[str, Any]], expect_head: tuple[int, str] | None = None) -> VerifyReport:
    """Walk the chain in id order; stop at the first record that does not verify.

    ``expect_head`` (id, hash) is a head kept elsewhere: the record with that id must still have that hash,
    which catches a tail that was rewritten consistently or cut off.
    """
    prev_id, prev_hash, count = 0, GENESIS, 0
    hash_at_expected: str | None = None
    for row in rows:
        record_id = int(row["id"])
        if record_id != prev_id + 1:
            gap = f"record {prev_id + 1} is missing (deleted?)" if record_id > prev_id + 1 else "ids out of order"
            return VerifyReport(count, prev_id, prev_hash, prev_id + 1, gap)
        if row["prev_hash"] != prev_hash:
            problem = (
                f"it does not chain to record {prev_id}: record {prev_id} was altered and re-hashed, "
                "or this record's link was altered"
            )
            if prev_id == 0:
                problem = "the first record does not start the chain"
            return VerifyReport(count, prev_id, prev_hash, record_id, problem)
        if chain_hash(row["prev_hash"], row) != row["hash"]:
            return VerifyReport(count, prev_id, prev_hash, record_id, "its content does not match its hash (altered)")
        prev_id, prev_hash, count = record_id, row["hash"], count + 1
        if expect_head is not None and record_id == expect_head[0]:
            hash_at_expected = prev_hash
    if expect_head is not None:
        head_id, head_hash = expect_head
        if prev_id < head_id:
            problem = (
                f"the log ends at record {prev_id} but the expected head is record {head_id}: records were cut off"
            )
            return VerifyReport(count, prev_id, prev_hash, prev_id + 1, problem)
        if hash_at_expected != head_hash:
            problem = "its hash is not the expected head's: the chain was rewritten up to here"
            return VerifyReport(count, prev_id, prev_hash, head_id, problem)
    return VerifyReport(count, prev_id, prev_hash)


def _select_all(conn: sqlite3.Connection) -> Iterable[Mapping[str, Any]]:
    cursor = conn.execute(f"SELECT {_COLUMNS} FROM audit ORDER BY id")
    names = [d[0] for d in cursor.description]
    for values in cursor:
        yield dict(zip(names, values, strict=True))


def verify_database(path: Path, expect_head: tuple[int, str] | None = None) -> VerifyReport:
    """Verify an audit database file, opened read-only (safe while the daemon writes to it)."""
    if not path.exists():
        raise FileNotFoundError(path)
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return verify_rows(_select_all(conn), expect_head)
    finally:
        conn.close()


def _clip(value: str | None, limit: int = _TEXT_LIMIT) -> str | None:
    if value is None:
        return None
    # Text from the request may hold lone surrogates: header bytes that are not UTF-8 (aiohttp decodes them with
    # surrogateescape), or a JSON "\ud800" escape. Neither SQLite nor the hash can encode them, and an attempt
    # must not go unrecorded for that: they are kept, visibly, as backslash escapes.
    value = value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value if len(value) <= limit else value[: limit - 1] + "…"


class AuditLog:
    """The daemon's handle on ``audit.db``. Appends run on the database thread, one at a time."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self._db = Database(path, SCHEMA)
        self._clock = clock
        self._open = False

    async def open(self) -> None:
        await self._db.open()
        self._open = True
        head_id, head_hash = await self.head()
        _LOGGER.info("audit log %s: %d records, head %s", self.path, head_id, head_hash)

    async def close(self) -> None:
        if self._open:
            self._open = False
            await self._db.close()

    async def record(
        self,
        *,
        action: str,
        result: AuditResult,
        device: str | None,
        token: str | None = None,
        origin: str | None = None,
        remote: str | None = None,
        operator: str | None = None,
        reason: str | None = None,
        reference: str | None = None,
        detail: str | None = None,
    ) -> AuditRecord:
        """Append one record (committed, synchronous=FULL, before this returns) and return it."""
        stamp = datetime.fromtimestamp(self._clock(), UTC).isoformat(timespec="milliseconds")
        fields: dict[str, Any] = {
            "time": stamp,
            "action": action,
            "result": result,
            "device": device,
            "token": _clip(token),
            "origin": _clip(origin),
            "remote": _clip(remote),
            "operator": _clip(operator),
            "reason": _clip(reason),
            "reference": _clip(reference),
            "detail": _clip(detail, _DETAIL_LIMIT),
        }

        def append(conn: sqlite3.Connection) -> dict[str, Any]:
            conn.execute("BEGIN IMMEDIATE")
            try:
                last = conn.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
                prev_id, prev_hash = last if last is not None else (0, GENESIS)
                row = {"id": prev_id + 1, **fields, "prev_hash": prev_hash}
                row["hash"] = chain_hash(prev_hash, row)
                placeholders = ", ".join("?" * (len(FIELDS) + 2))
                conn.execute(
                    f"INSERT INTO audit ({_COLUMNS}) VALUES ({placeholders})",
                    [row[name] for name in (*FIELDS, "prev_hash", "hash")],
                )
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return row

        record = AuditRecord.model_validate(await self._db.run(append))
        # The log is a second, independent copy of the head: compare it with `posd audit verify --expect-head`.
        _LOGGER.info(
            "audit %d: %s %s %s by %s (%s) head %s",
            record.id,
            record.device,
            record.action,
            record.result,
            record.token,
            record.reason,
            record.hash,
        )
        return record

    async def records(self, since: int = 0, limit: int = 100, device: str | None = None) -> list[AuditRecord]:
        def select(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            query = f"SELECT {_COLUMNS} FROM audit WHERE id > ?"
            params: list[Any] = [since]
            if device is not None:
                query += " AND device = ?"
                params.append(device)
            cursor = conn.execute(query + " ORDER BY id LIMIT ?", [*params, limit])
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, values, strict=True)) for values in cursor]

        return [AuditRecord.model_validate(row) for row in await self._db.run(select)]

    async def head(self) -> tuple[int, str]:
        def select(conn: sqlite3.Connection) -> tuple[int, str]:
            last = conn.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
            return (int(last[0]), str(last[1])) if last is not None else (0, GENESIS)

        return await self._db.run(select)

    async def verify(self, expect_head: tuple[int, str] | None = None) -> VerifyReport:
        return await self._db.run(lambda conn: verify_rows(_select_all(conn), expect_head))
