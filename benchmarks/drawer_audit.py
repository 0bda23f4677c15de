"""Drawer opens and the audit log: what the money path costs, against floors measured in the same run.

1. Audit append (in process): ``AuditLog.record`` one at a time (BEGIN IMMEDIATE, read the head, SHA-256,
   INSERT, COMMIT with WAL + synchronous=FULL, on the database thread). Floor: the same row INSERTed and
   committed through the same ``Database`` (same thread, same pragmas), without the head read and hash.
2. Verify: ``verify_database`` over ``--records`` rows. Floor: reading the same rows with the same SELECT.
3. Open over HTTP (``posd serve --simulate`` subprocess): ``POST /api/v1/drawers/drawer-1/open`` → kick over
   TCP to the simulated printer → the next DLE EOT status shows pin 3 → audit commit → 200; the drawer is
   closed through the sim API between opens. Also a refused open (a token without the drawer scope:
   problem hook + audit commit). Floor: ``GET /api/v1/health`` on the same daemon, same client.

Usage: ``python benchmarks/drawer_audit.py [--appends 1000] [--records 20000] [--opens 100]``
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from _common import READY_RE, Child, machine_note, now_ns, percentile, posd_executable, print_table, ratio, save_json

from daemon.audit import FIELDS, SCHEMA, AuditLog, verify_database
from daemon.database import Database

ROW: dict[str, Any] = {
    "action": "open",
    "result": "opened",
    "device": "drawer-1",
    "token": "front-counter",
    "origin": "none",
    "remote": "127.0.0.1",
    "operator": "ana",
    "reason": "sale",
    "reference": "S-000123",
    "detail": "sensed open",
}


def ms(values_ns: list[int]) -> tuple[float, float]:
    return percentile([v / 1e6 for v in values_ns], 50), percentile([v / 1e6 for v in values_ns], 99)


async def bench_append(directory: Path, count: int) -> dict[str, Any]:
    audit = AuditLog(directory / "audit.db")
    await audit.open()
    floor_db = Database(directory / "floor.db", SCHEMA)
    await floor_db.open()
    columns = ", ".join((*FIELDS, "prev_hash", "hash"))
    values = ", ".join("?" * (len(FIELDS) + 2))
    posd_ns: list[int] = []
    floor_ns: list[int] = []
    try:
        for n in range(count):
            # Interleaved, so load on the machine hits both alike.
            t0 = now_ns()
            await audit.record(**ROW)
            posd_ns.append(now_ns() - t0)

            row = [n + 1, "2026-11-22T10:00:00.000+00:00", *ROW.values(), "0" * 64, "0" * 64]

            def insert(conn: sqlite3.Connection, row: list[Any] = row) -> None:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute(f"INSERT INTO audit ({columns}) VALUES ({values})", row)
                conn.execute("COMMIT")

            t0 = now_ns()
            await floor_db.run(insert)
            floor_ns.append(now_ns() - t0)
    finally:
        await audit.close()
        await floor_db.close()
    return {"posd_ns": posd_ns, "floor_ns": floor_ns}


async def bench_verify(directory: Path, count: int) -> dict[str, Any]:
    path = directory / "verify.db"
    audit = AuditLog(path)
    await audit.open()
    for _ in range(count):
        await audit.record(**ROW)
    await audit.close()
    t0 = time.perf_counter()
    report = verify_database(path)
    posd_s = time.perf_counter() - t0
    assert report.ok, report
    assert report.records == count, report
    conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    t0 = time.perf_counter()
    rows = sum(1 for _ in conn.execute(f"SELECT {', '.join((*FIELDS, 'prev_hash', 'hash'))} FROM audit ORDER BY id"))
    floor_s = time.perf_counter() - t0
    conn.close()
    assert rows == count
    return {"records": count, "posd_s": posd_s, "floor_s": floor_s}


async def bench_open(directory: Path, opens: int) -> dict[str, Any]:
    config = directory / "posd.toml"
    config.write_text(
        '[tokens.pos]\nsecret = "print-only-benchmark-secret-000"\nscopes = ["print"]\n\n'
        f"[drawers]\nmax_opens = {opens * 10}\n"
    )
    child = Child(
        "posd",
        [
            posd_executable(),
            "serve",
            "--simulate",
            "--port",
            "0",
            "--config",
            str(config),
            "--state-dir",
            str(directory / "state"),
        ],
        directory / "posd.log",
    )
    try:
        match, _ = child.wait_line(READY_RE, 30.0)
        url = f"http://127.0.0.1:{match.group(1)}"
        token = (directory / "state" / "admin.token").read_text().strip()
        admin = {"Authorization": f"Bearer {token}"}
        async with aiohttp.ClientSession(headers=admin) as session:
            deadline = time.monotonic() + 20
            while True:
                async with session.get(f"{url}/api/v1/devices/drawer-1") as response:
                    if (await response.json())["device"]["state"] == "ready":
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError("drawer-1 never became ready")
                await asyncio.sleep(0.05)
            open_ns: list[int] = []
            refused_ns: list[int] = []
            health_ns: list[int] = []
            print_only = {"Authorization": "Bearer print-only-benchmark-secret-000"}
            for n in range(opens):
                t0 = now_ns()
                async with session.post(f"{url}/api/v1/drawers/drawer-1/open", json={"reason": "sale"}) as response:
                    body = await response.json()
                open_ns.append(now_ns() - t0)
                if body.get("opened") is not True:
                    raise RuntimeError(f"open {n}: {body}")
                async with session.post(f"{url}/api/v1/sim/drawer-1", json={"action": "set", "opened": False}):
                    pass
                t0 = now_ns()
                async with session.post(
                    f"{url}/api/v1/drawers/drawer-1/open", json={"reason": "sale"}, headers=print_only
                ) as response:
                    assert response.status == 403
                refused_ns.append(now_ns() - t0)
                t0 = now_ns()
                async with session.get(f"{url}/api/v1/health") as response:
                    await response.read()
                health_ns.append(now_ns() - t0)
                # Let the drawer's close reach the driver before the next open (one status poll, 0.2 s).
                while True:
                    async with session.get(f"{url}/api/v1/devices/drawer-1") as response:
                        if (await response.json())["device"]["status"]["opened"] is False:
                            break
                    await asyncio.sleep(0.01)
        return {"open_ns": open_ns, "refused_ns": refused_ns, "health_ns": health_ns}
    finally:
        child.stop()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--appends", type=int, default=1000)
    parser.add_argument("--records", type=int, default=20000)
    parser.add_argument("--opens", type=int, default=100)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    print(machine_note())
    with tempfile.TemporaryDirectory(prefix="posd-bench-drawer-") as tmp:
        directory = Path(tmp)
        append = await bench_append(directory, args.appends)
        verify = await bench_verify(directory, args.records)
        opened = await bench_open(directory, args.opens)

    rows: list[list[str]] = []
    p50, p99 = ms(append["posd_ns"])
    f50, f99 = ms(append["floor_ns"])
    rows.append(["audit append (ms)", f"{f50:.3f} / {f99:.3f}", f"{p50:.3f} / {p99:.3f}", f"{ratio(p50, f50):.2f}"])
    rows.append(
        [
            f"verify {verify['records']} records (s)",
            f"{verify['floor_s']:.3f}",
            f"{verify['posd_s']:.3f}",
            f"{ratio(verify['posd_s'], verify['floor_s']):.2f}",
        ]
    )
    h50, h99 = ms(opened["health_ns"])
    o50, o99 = ms(opened["open_ns"])
    r50, r99 = ms(opened["refused_ns"])
    rows.append(["open, sensed (ms)", f"{h50:.2f} / {h99:.2f}", f"{o50:.2f} / {o99:.2f}", f"{ratio(o50, h50):.1f}"])
    rows.append(["open refused (ms)", f"{h50:.2f} / {h99:.2f}", f"{r50:.2f} / {r99:.2f}", f"{ratio(r50, h50):.1f}"])
    print_table(["", "floor p50 / p99", "posd p50 / p99", "ratio p50"], rows)
    save_json(args.json, {"append": append, "verify": verify, "open": opened})


if __name__ == "__main__":
    asyncio.run(main())
