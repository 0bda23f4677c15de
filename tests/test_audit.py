"""The audit log (daemon/audit.py): append-only, hash-chained, and every kind of tampering is named.

The expected hashes are computed here from the documented formula with hashlib and json directly,
not with the module's own helpers.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from daemon.audit import AuditLog, verify_database
from daemon.cli import main

GENESIS = "0" * 64
HASHED: tuple[str, ...] = ("id", "time", "action", "result", "device", "token", "origin", "remote", "operator")
HASHED += ("reason", "reference", "detail")


def expected_hash(prev_hash: str, row: dict[str, Any]) -> str:
    body = json.dumps({k: row[k] for k in HASHED}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


class FixedClock:
    def __init__(self) -> None:
        self.now = 1_795_000_000.0  # 2026-11-18T11:06:40Z

    def __call__(self) -> float:
        self.now += 1.5
        return self.now


@pytest.fixture
async def audit(tmp_path: Path) -> AsyncIterator[AuditLog]:
    log = AuditLog(tmp_path / "audit.db", clock=FixedClock())
    await log.open()
    yield log
    await log.close()


async def fill(log: AuditLog, count: int = 3) -> None:
    for n in range(count):
        await log.record(
            action="open",
            result="opened" if n % 2 == 0 else "refused",
            device="drawer-1",
            token="front",
            origin="none",
            remote="127.0.0.1",
            operator=f"op{n}",
            reason="sale",
            reference=f"S-{n}",
            detail="sensed open" if n % 2 == 0 else "rate_limited: too many",
        )


def rows(path: Path) -> list[dict[str, Any]]:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM audit ORDER BY id")]
    finally:
        conn.close()


def tamper(path: Path, sql: str, *params: Any) -> None:
    """What someone with the file does: drop the append-only triggers, then change it."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("DROP TRIGGER IF EXISTS audit_no_update")
        conn.execute("DROP TRIGGER IF EXISTS audit_no_delete")
        conn.execute(sql, params)
        conn.commit()
    finally:
        conn.close()


async def test_records_chain_by_the_documented_formula(audit: AuditLog) -> None:
    await fill(audit)
    stored = rows(audit.path)
    assert [r["id"] for r in stored] == [1, 2, 3]
    assert stored[0]["time"] == "2026-11-18T11:06:41.500+00:00"
    assert stored[0]["prev_hash"] == GENESIS
    for previous, row in zip([None, *stored], stored, strict=False):
        prev_hash = GENESIS if previous is None else previous["hash"]
        assert row["prev_hash"] == prev_hash
        assert row["hash"] == expected_hash(prev_hash, row)
    assert await audit.head() == (3, stored[2]["hash"])
    report = await audit.verify()
    assert (report.ok, report.records, report.head_id) == (True, 3, 3)


async def test_non_ascii_fields_hash_as_utf8(audit: AuditLog) -> None:
    record = await audit.record(action="open", result="opened", device="drawer-1", operator="José 张")
    row = rows(audit.path)[0]
    assert row["operator"] == "José 张"
    assert record.hash == expected_hash(GENESIS, row)


async def test_update_and_delete_are_refused_by_the_database(audit: AuditLog) -> None:
    await fill(audit, 1)
    conn = sqlite3.connect(audit.path)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("UPDATE audit SET result = 'opened' WHERE id = 1")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("DELETE FROM audit")
    finally:
        conn.close()
    assert len(rows(audit.path)) == 1


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("time", "2026-11-18T08:00:00.000+00:00"),
        ("action", "sensed"),
        ("result", "opened"),
        ("device", "drawer-2"),
        ("token", "manager"),
        ("origin", "https://pos.example.com"),
        ("remote", "10.0.0.9"),
        ("operator", "someone-else"),
        ("reason", "no_sale"),
        ("reference", "S-999"),
        ("detail", "sensed open"),
        ("detail", None),
        ("prev_hash", "f" * 64),
        ("hash", "0" * 64),
    ],
)
async def test_changing_any_field_of_a_record_is_found_at_that_record(
    audit: AuditLog, column: str, value: str | None
) -> None:
    await fill(audit, 4)
    await audit.close()
    tamper(audit.path, f"UPDATE audit SET {column} = ? WHERE id = 2", value)
    report = verify_database(audit.path)
    assert not report.ok
    assert report.broken_id == 2
    assert report.records == 1


async def test_a_re_hashed_record_breaks_the_link_of_the_next(audit: AuditLog) -> None:
    await fill(audit, 4)
    await audit.close()
    row = rows(audit.path)[1]
    row["result"] = "opened"
    tamper(
        audit.path, "UPDATE audit SET result = ?, hash = ? WHERE id = 2", "opened", expected_hash(row["prev_hash"], row)
    )
    report = verify_database(audit.path)
    assert (report.ok, report.broken_id) == (False, 3)
    assert "record 2" in (report.problem or "")


async def test_a_deleted_record_is_named(audit: AuditLog) -> None:
    await fill(audit, 4)
    await audit.close()
    tamper(audit.path, "DELETE FROM audit WHERE id = 3")
    report = verify_database(audit.path)
    assert (report.ok, report.broken_id) == (False, 3)
    assert "missing" in (report.problem or "")


async def test_a_renumbered_record_is_found(audit: AuditLog) -> None:
    await fill(audit, 3)
    await audit.close()
    tamper(audit.path, "UPDATE audit SET id = 9 WHERE id = 2")
    assert verify_database(audit.path).broken_id == 2


async def test_a_consistently_rewritten_or_cut_tail_needs_the_head_kept_elsewhere(audit: AuditLog) -> None:
    await fill(audit, 4)
    head = await audit.head()
    await audit.close()
    # Cut off the last record: the rest still chains, so only the kept head shows it.
    tamper(audit.path, "DELETE FROM audit WHERE id = 4")
    assert verify_database(audit.path).ok
    cut = verify_database(audit.path, expect_head=head)
    assert (cut.ok, cut.broken_id) == (False, 4)
    # Rewrite record 3 and re-hash from there on: consistent again, but not the kept head.
    kept = (3, rows(audit.path)[2]["hash"])
    row = rows(audit.path)[2]
    row["reason"] = "refund"
    tamper(
        audit.path, "UPDATE audit SET reason = ?, hash = ? WHERE id = 3", "refund", expected_hash(row["prev_hash"], row)
    )
    assert verify_database(audit.path).ok
    rewritten = verify_database(audit.path, expect_head=kept)
    assert (rewritten.ok, rewritten.broken_id) == (False, 3)


async def test_reopening_continues_the_chain(tmp_path: Path) -> None:
    first = AuditLog(tmp_path / "audit.db", clock=FixedClock())
    await first.open()
    await fill(first, 2)
    await first.close()
    second = AuditLog(tmp_path / "audit.db", clock=FixedClock())
    await second.open()
    record = await second.record(action="open", result="expired", device="drawer-1")
    await second.close()
    assert record.id == 3
    assert record.prev_hash == rows(tmp_path / "audit.db")[1]["hash"]
    assert verify_database(tmp_path / "audit.db").ok


async def test_concurrent_appends_stay_one_chain(audit: AuditLog) -> None:
    records = await asyncio.gather(
        *(audit.record(action="open", result="refused", device=f"drawer-{n % 3}") for n in range(40))
    )
    assert sorted(r.id for r in records) == list(range(1, 41))
    report = verify_database(audit.path)
    assert (report.ok, report.records) == (True, 40)


async def test_listing_pages_and_filters(audit: AuditLog) -> None:
    await fill(audit, 3)
    await audit.record(action="open", result="opened", device="drawer-2")
    assert [r.id for r in await audit.records(since=1, limit=2)] == [2, 3]
    assert [r.id for r in await audit.records(device="drawer-2")] == [4]
    assert await audit.records(since=4) == []


async def test_long_free_text_is_clipped_before_it_is_hashed(audit: AuditLog) -> None:
    record = await audit.record(action="open", result="refused", device="drawer-1", operator="x" * 5000)
    assert record.operator is not None
    assert len(record.operator) == 200
    assert verify_database(audit.path).ok


# -- the command -------------------------------------------------------------------------------------------
async def test_verify_command_exit_codes_and_first_broken_record(
    audit: AuditLog, capsys: pytest.CaptureFixture[str]
) -> None:
    await fill(audit, 3)
    head_id, head_hash = await audit.head()
    await audit.close()
    state_dir = str(audit.path.parent)
    assert main(["audit", "verify", "--state-dir", state_dir]) == 0
    assert f"OK: 3 records, chain intact; head 3:{head_hash}" in capsys.readouterr().out
    assert main(["audit", "verify", "--state-dir", state_dir, "--expect-head", f"{head_id}:{head_hash}"]) == 0
    capsys.readouterr()

    tamper(audit.path, "UPDATE audit SET operator = 'mallory' WHERE id = 2")
    assert main(["audit", "verify", "--file", str(audit.path)]) == 1
    out = capsys.readouterr().out
    assert "BROKEN at record 2" in out
    assert "altered" in out

    assert main(["audit", "verify", "--state-dir", str(audit.path.parent / "nowhere")]) == 2
    assert main(["audit", "verify", "--state-dir", state_dir, "--expect-head", "3:nothex"]) == 2


async def test_verify_command_is_installed(audit: AuditLog) -> None:
    """The console script, as a technician runs it, while the daemon's handle is still open (WAL)."""
    await fill(audit, 2)
    head_id, head_hash = await audit.head()
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("posd")),
        "audit",
        "verify",
        "--state-dir",
        str(audit.path.parent),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, err.decode()
    assert f"OK: 2 records, chain intact; head {head_id}:{head_hash}" in out.decode()


async def test_lone_surrogates_are_recorded_as_escapes(audit: AuditLog) -> None:
    # What aiohttp makes of header bytes that are not UTF-8: SQLite and the hash cannot encode it as it is.
    record = await audit.record(action="open", result="refused", device="drawer-1", origin="http://\udcff")
    assert record.origin == "http://\\udcff"
    assert verify_database(audit.path).ok
