"""The print-job journal: SQLite (WAL, synchronous=FULL), written before the API answers 202.

A job moves ``queued → sending → done | failed | cancelled``; ``held`` (with a reason) waits for the
printer to recover; ``uncertain`` is a job found ``sending`` after a crash: whether it printed cannot be
known (raw ESC/POS has no acknowledgement). By policy it is reprinted marked as a copy, or held for
the operator. Idempotency keys are stored with their job, so a retried request returns the same job
for as long as the job is kept (``retention_h``, at least 24 h).
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from daemon.database import Database

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    printer TEXT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT,
    kind TEXT NOT NULL,
    payload BLOB NOT NULL,
    copy INTEGER NOT NULL DEFAULT 0,
    client TEXT NOT NULL,
    idempotency_key TEXT,
    request_hash TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS jobs_idempotency ON jobs (client, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_open ON jobs (printer, state, seq);
"""


class JobState(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    HELD = "held"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    UNCERTAIN = "uncertain"


OPEN_STATES = (JobState.QUEUED, JobState.HELD, JobState.SENDING, JobState.UNCERTAIN)
FINAL_STATES = (JobState.DONE, JobState.FAILED, JobState.CANCELLED)
_COLUMNS = (
    "seq, id, printer, state, reason, kind, payload, copy, client, idempotency_key, request_hash, created, updated"
)

# The job columns with an empty blob in place of the payload, for listings that must not read documents.
_SUMMARY_COLUMNS = _COLUMNS.replace("payload", "X''")


@dataclass(frozen=True, slots=True)
class JobRecord:
    seq: int
    id: str
    printer: str
    state: JobState
    reason: str | None
    kind: str
    payload: bytes
    copy: bool
    client: str
    idempotency_key: str | None
    request_hash: str
    created: float
    updated: float

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> JobRecord:
        seq, id_, printer, state, reason, kind, payload, copy, client, key, digest, created, updated = row
        return cls(
            seq,
            id_,
            printer,
            JobState(state),
            reason,
            kind,
            bytes(payload),
            bool(copy),
            client,
            key,
            digest,
            created,
            updated,
        )

    def public(self) -> dict[str, Any]:
        """The Job shape of the API."""
        out: dict[str, Any] = {
            "id": self.id,
            "printer": self.printer,
            "state": self.state.value,
            "kind": self.kind,
            "created": _iso(self.created),
            "updated": _iso(self.updated),
            "copy": self.copy,
        }
        if self.reason is not None:
            out["reason"] = self.reason
        return out


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="milliseconds")


def request_digest(kind: str, payload: bytes, printer: str) -> str:
    return hashlib.sha256(kind.encode() + b"\0" + printer.encode() + b"\0" + payload).hexdigest()


class IdempotencyConflict(Exception):
    """The key was used before for a different request."""

    def __init__(self, existing: JobRecord) -> None:
        super().__init__(f"Idempotency-Key already used for job {existing.id} with a different request")
        self.existing = existing


def _count_jobs(conn: sqlite3.Connection) -> dict[tuple[str, JobState], int]:
    """(printer, state) → how many jobs the journal keeps."""
    # GROUP BY the leading columns of jobs_open: SQLite counts from that index alone, never the payloads.
    rows = conn.execute("SELECT printer, state, COUNT(*) FROM jobs GROUP BY printer, state")
    return {(printer, JobState(state)): count for printer, state, count in rows}


class Journal:
    def __init__(self, path: Path, retention_h: float = 168.0) -> None:
        self._db = Database(path, SCHEMA)
        self.retention_s = retention_h * 3600

    async def open(self) -> None:
        await self._db.open()

    async def close(self) -> None:
        await self._db.close()

    async def add(
        self, *, printer: str, kind: str, payload: bytes, client: str, idempotency_key: str | None
    ) -> tuple[JobRecord, bool]:
        """Insert a queued job and commit. Returns (job, created); an existing job for the key returns False."""
        now = time.time()
        job_id = secrets.token_hex(8)

        def insert(conn: sqlite3.Connection) -> tuple[JobRecord, bool]:
            digest = request_digest(kind, payload, printer)  # here, on the database thread: a job can be 4 MB
            with conn:
                if idempotency_key is not None:
                    row = conn.execute(
                        f"SELECT {_COLUMNS} FROM jobs WHERE client = ? AND idempotency_key = ?",
                        (client, idempotency_key),
                    ).fetchone()
                    if row is not None:
                        existing = JobRecord.from_row(row)
                        if existing.request_hash != digest:
                            raise IdempotencyConflict(existing)
                        return existing, False
                cursor = conn.execute(
                    "INSERT INTO jobs (id, printer, state, kind, payload, client, idempotency_key, request_hash,"
                    " created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (job_id, printer, JobState.QUEUED.value, kind, payload, client, idempotency_key, digest, now, now),
                )
                seq = cursor.lastrowid
                assert seq is not None
            record = JobRecord(
                seq,
                job_id,
                printer,
                JobState.QUEUED,
                None,
                kind,
                payload,
                False,
                client,
                idempotency_key,
                digest,
                now,
                now,
            )
            return record, True

        return await self._db.run(insert)

    async def set_state(
        self, job: JobRecord, state: JobState, reason: str | None = None, *, copy: bool | None = None
    ) -> JobRecord:
        """Move a job to ``state`` and commit; returns the updated record."""
        updated = await self.set_state_if(job, state, reason, copy=copy, only_from=tuple(JobState))
        assert updated is not None  # any state will do: the row exists
        return updated

    async def set_state_if(
        self,
        job: JobRecord,
        state: JobState,
        reason: str | None = None,
        *,
        copy: bool | None = None,
        only_from: tuple[JobState, ...],
    ) -> JobRecord | None:
        """Move a job to ``state`` only if it is in one of ``only_from`` now, and commit; None if it was not.

        The print worker moves a job on after awaiting (a render, a status read) while a client may cancel
        it: the check and the update are one statement, so the later of the two sees the earlier.
        """
        now = time.time()
        new_copy = job.copy if copy is None else copy
        placeholders = ", ".join("?" * len(only_from))

        def update(conn: sqlite3.Connection) -> int:
            with conn:
                cursor = conn.execute(
                    "UPDATE jobs SET state = ?, reason = ?, copy = ?, updated = ?"
                    f" WHERE id = ? AND state IN ({placeholders})",
                    (state.value, reason, int(new_copy), now, job.id, *(s.value for s in only_from)),
                )
                return cursor.rowcount

        if not await self._db.run(update):
            return None
        return JobRecord(
            job.seq,
            job.id,
            job.printer,
            state,
            reason,
            job.kind,
            job.payload,
            new_copy,
            job.client,
            job.idempotency_key,
            job.request_hash,
            job.created,
            now,
        )

    async def cancel(self, job_id: str) -> JobRecord | None:
        """Cancel a job that is not sending or done. Returns the job as it is now (None if unknown)."""
        now = time.time()

        def cancel(conn: sqlite3.Connection) -> JobRecord | None:
            with conn:
                conn.execute(
                    "UPDATE jobs SET state = ?, reason = NULL, updated = ? WHERE id = ? AND state IN (?, ?, ?)",
                    (
                        JobState.CANCELLED.value,
                        now,
                        job_id,
                        JobState.QUEUED.value,
                        JobState.HELD.value,
                        JobState.UNCERTAIN.value,
                    ),
                )
                row = conn.execute(f"SELECT {_COLUMNS} FROM jobs WHERE id = ?", (job_id,)).fetchone()
            return JobRecord.from_row(row) if row else None

        return await self._db.run(cancel)

    async def get(self, job_id: str) -> JobRecord | None:
        def select(conn: sqlite3.Connection) -> JobRecord | None:
            row = conn.execute(f"SELECT {_COLUMNS} FROM jobs WHERE id = ?", (job_id,)).fetchone()
            return JobRecord.from_row(row) if row else None

        return await self._db.run(select)

    async def open_jobs(self, printer: str | None = None) -> list[JobRecord]:
        """Jobs not yet finished, oldest first (the per-printer FIFO order)."""
        states = tuple(s.value for s in OPEN_STATES)

        def select(conn: sqlite3.Connection) -> list[JobRecord]:
            marks = ",".join("?" * len(states))
            query = f"SELECT {_COLUMNS} FROM jobs WHERE state IN ({marks})"
            args: tuple[Any, ...] = states
            if printer is not None:
                query += " AND printer = ?"
                args = (*args, printer)
            return [JobRecord.from_row(r) for r in conn.execute(query + " ORDER BY seq", args)]

        return await self._db.run(select)

    async def list_jobs(self, printer: str, limit: int) -> list[JobRecord]:
        def select(conn: sqlite3.Connection) -> list[JobRecord]:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM jobs WHERE printer = ? ORDER BY seq DESC LIMIT ?", (printer, limit)
            )
            return [JobRecord.from_row(r) for r in rows]

        return await self._db.run(select)

    async def count_by_state(self) -> dict[tuple[str, JobState], int]:
        """(printer, state) → how many jobs the journal keeps (finished ones until the retention ends)."""

        return await self._db.run(_count_jobs)

    async def summary(self, limit: int = 50) -> dict[str, Any]:
        """Job counts by printer and state, and the newest ``limit`` jobs in their API shape (for diagnostics).

        The payload column is never read: a bundle must not carry receipts (customer data) nor megabytes of images.
        """

        def select(conn: sqlite3.Connection) -> dict[str, Any]:
            counts: dict[str, dict[str, int]] = {}
            for (printer, state), count in _count_jobs(conn).items():
                counts.setdefault(printer, {})[state.value] = count
            rows = conn.execute(
                f"SELECT {_SUMMARY_COLUMNS}, LENGTH(payload) FROM jobs ORDER BY seq DESC LIMIT ?", (limit,)
            )
            recent = []
            for *row, size in rows:
                record = JobRecord.from_row(tuple(row))
                recent.append({**record.public(), "client": record.client, "bytes": size})
            return {"counts": counts, "recent": recent}

        return await self._db.run(select)

    async def recover_after_crash(self) -> list[JobRecord]:
        """At start: every job still ``sending`` was interrupted; mark it ``uncertain`` and return them."""
        now = time.time()

        def recover(conn: sqlite3.Connection) -> list[JobRecord]:
            with conn:
                rows = conn.execute(
                    f"SELECT {_COLUMNS} FROM jobs WHERE state = ? ORDER BY seq", (JobState.SENDING.value,)
                ).fetchall()
                conn.execute(
                    "UPDATE jobs SET state = ?, reason = ?, updated = ? WHERE state = ?",
                    (JobState.UNCERTAIN.value, "interrupted", now, JobState.SENDING.value),
                )
            return [
                dataclasses.replace(JobRecord.from_row(r), state=JobState.UNCERTAIN, reason="interrupted", updated=now)
                for r in rows
            ]

        return await self._db.run(recover)

    async def purge(self) -> int:
        """Forget finished jobs (and their idempotency keys) older than the retention."""
        cutoff = time.time() - self.retention_s
        states = tuple(s.value for s in FINAL_STATES)

        def delete(conn: sqlite3.Connection) -> int:
            with conn:
                cursor = conn.execute(
                    f"DELETE FROM jobs WHERE updated < ? AND state IN ({','.join('?' * len(states))})",
                    (cutoff, *states),
                )
            return cursor.rowcount

        return await self._db.run(delete)
