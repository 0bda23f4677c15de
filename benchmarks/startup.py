"""Startup time, idle memory and idle CPU of ``posd serve --simulate``, against a bare aiohttp floor.

posd: ``posd serve --simulate --port 0 --state-dir <fresh temp dir>`` (5 simulated devices: a printer over
TCP, scanner/scale/display over ptys, a drawer). Floor: ``python -c`` importing aiohttp and pydantic and
running a bare aiohttp app with one route, which prints ``floor ready on http://…`` once listening.

* Startup: CLOCK_MONOTONIC from just before ``Popen`` to the arrival of the "ready on" stdout line.
  One untimed warm-up start each (page cache, .pyc files), then ``--runs`` (default 5) alternating
  starts of each; the median is compared. Target: posd ≤ 1.5 s.
* Idle RSS: ``VmRSS`` from /proc/PID/status, 3 s after "ready on". Target: posd ≤ 60 MB.
* Idle CPU: utime+stime (all threads) from /proc/PID/stat over the next ``--idle-s`` (default 10) s,
  as a percentage of one core (resolution: one clock tick, 0.1 % of a 10 s window); the same from
  /proc/PID/task/*/schedstat (run time in ns) as a finer cross-check. Target: posd ≤ 1 %.
  Context switches per second (all threads, from /proc/PID/task/*/status) show how often the idle
  process wakes up.

The posd and floor instances used for RSS/CPU run side by side through the same idle window, so
background noise on the machine hits both alike. No psutil: /proc only.

Run:  .venv/bin/python benchmarks/startup.py [--runs 5] [--idle-s 10]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from _common import (
    PYTHON,
    READY_RE,
    BenchError,
    Child,
    cpu_ns,
    machine_note,
    posd_executable,
    print_table,
    ratio,
    save_json,
    stop_all,
    verdict,
)

STARTUP_TARGET_S = 1.5
RSS_TARGET_MB = 60.0
CPU_TARGET_PCT = 1.0

FLOOR_CODE = """
import asyncio
import aiohttp, pydantic
from aiohttp import web

async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})

async def main() -> None:
    app = web.Application()
    app.router.add_get("/api/v1/health", health)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(f"floor ready on http://127.0.0.1:{runner.addresses[0][1]}", flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


def posd_argv(state_dir: Path) -> list[str]:
    return [posd_executable(), "serve", "--simulate", "--port", "0", "--state-dir", str(state_dir)]


def floor_argv() -> list[str]:
    return [PYTHON, "-c", FLOOR_CODE]


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    raise BenchError(f"no VmRSS for pid {pid}")


def threads(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return 0


def cpu_ticks(pid: int) -> int:
    """utime + stime of the whole process (all threads), in clock ticks."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
        fields = fh.read().rpartition(")")[2].split()
    # fields[0] is state (field 3); utime and stime are fields 14 and 15.
    return int(fields[11]) + int(fields[12])


def context_switches(pid: int) -> int:
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        with (
            contextlib.suppress(FileNotFoundError),
            open(f"/proc/{pid}/task/{task}/status", encoding="ascii") as fh,
        ):
            for line in fh:
                if line.startswith(("voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:")):
                    total += int(line.split()[1])
    return total


def start_once(name: str, argv: list[str], workdir: Path, timeout: float) -> tuple[Child, float]:
    """Spawn, wait for "ready on"; return the running child and spawn→ready seconds."""
    child = Child(name, argv, workdir / f"{name}.stderr.log")
    try:
        _, ready_ns = child.wait_line(READY_RE, timeout)
    except BaseException:
        child.stop()
        raise
    return child, (ready_ns - child.spawn_ns) / 1e9


def fmt_ratio(value: float, floor: float) -> str:
    """posd/floor; a floor of 0 (e.g. no CPU tick at all in the window) has no ratio."""
    return f"{ratio(value, floor):.2f}" if floor > 0 else "n/a (floor 0)"


@dataclass
class Idle:
    rss_mb: float
    cpu_pct: float
    cpu_pct_schedstat: float
    switches_per_s: float
    threads: int


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="timed starts of each (default 5)")
    parser.add_argument("--settle-s", type=float, default=3.0, help="wait after ready before RSS (default 3)")
    parser.add_argument("--idle-s", type=float, default=10.0, help="idle CPU window (default 10)")
    parser.add_argument("--timeout", type=float, default=30.0, help="give up on a start after this long")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args()
    tick = os.sysconf("SC_CLK_TCK")

    print(f"startup {date.today()} — {machine_note()}")
    times: dict[str, list[float]] = {"floor": [], "posd": []}
    idle: dict[str, Idle] = {}
    with tempfile.TemporaryDirectory(prefix="posd-bench-") as tmp:
        workdir = Path(tmp)
        running: list[Child] = []
        try:
            for run in range(args.runs + 1):  # run 0 is the untimed warm-up
                last = run == args.runs
                for name in ("posd", "floor") if run % 2 == 0 else ("floor", "posd"):
                    argv = posd_argv(workdir / f"state-{run}") if name == "posd" else floor_argv()
                    child, seconds = start_once(f"{name}-{run}", argv, workdir, args.timeout)
                    if last:
                        running.append(child)  # kept for the idle measurement
                    else:
                        child.stop()
                    if run > 0:
                        times[name].append(seconds)
                        print(f"  run {run} {name:<5} ready in {seconds:.3f} s")
            # Both last instances idle side by side.
            by_name = {child.name.split("-")[0]: child for child in running}
            time.sleep(args.settle_s)
            rss = {name: rss_mb(child.pid) for name, child in by_name.items()}
            ticks0 = {name: cpu_ticks(child.pid) for name, child in by_name.items()}
            sched0 = {name: cpu_ns(child.pid) for name, child in by_name.items()}
            switches0 = {name: context_switches(child.pid) for name, child in by_name.items()}
            start = time.monotonic()
            time.sleep(args.idle_s)
            elapsed = time.monotonic() - start
            for name, child in by_name.items():
                if child.proc.poll() is not None:
                    raise BenchError(f"{name} exited during the idle window{child.log_tail()}")
                cpu = (cpu_ticks(child.pid) - ticks0[name]) / tick / elapsed * 100.0
                cpu_fine = (cpu_ns(child.pid) - sched0[name]) / 1e9 / elapsed * 100.0
                switches = (context_switches(child.pid) - switches0[name]) / elapsed
                idle[name] = Idle(rss[name], cpu, cpu_fine, switches, threads(child.pid))
        except BenchError as err:
            print(f"benchmark failed: {err}", file=sys.stderr)
            return 2
        finally:
            stop_all(running)

    med = {name: statistics.median(values) for name, values in times.items()}
    rows = [
        [
            "startup to ready (median s)",
            f"{med['floor']:.3f}",
            f"{med['posd']:.3f}",
            fmt_ratio(med["posd"], med["floor"]),
            f"≤ {STARTUP_TARGET_S:g} s",
        ],
        [
            "  (min-max s)",
            f"{min(times['floor']):.3f}-{max(times['floor']):.3f}",
            f"{min(times['posd']):.3f}-{max(times['posd']):.3f}",
            "",
            "",
        ],
        [
            f"idle RSS, ready+{args.settle_s:g} s (MB)",
            f"{idle['floor'].rss_mb:.1f}",
            f"{idle['posd'].rss_mb:.1f}",
            fmt_ratio(idle["posd"].rss_mb, idle["floor"].rss_mb),
            f"≤ {RSS_TARGET_MB:g} MB",
        ],
        [
            f"idle CPU over {args.idle_s:g} s (% of a core)",
            f"{idle['floor'].cpu_pct:.2f}",
            f"{idle['posd'].cpu_pct:.2f}",
            fmt_ratio(idle["posd"].cpu_pct, idle["floor"].cpu_pct),
            f"≤ {CPU_TARGET_PCT:g} %",
        ],
        [
            "  same, from schedstat (%)",
            f"{idle['floor'].cpu_pct_schedstat:.3f}",
            f"{idle['posd'].cpu_pct_schedstat:.3f}",
            fmt_ratio(idle["posd"].cpu_pct_schedstat, idle["floor"].cpu_pct_schedstat),
            "",
        ],
        [
            "idle context switches /s",
            f"{idle['floor'].switches_per_s:.1f}",
            f"{idle['posd'].switches_per_s:.1f}",
            fmt_ratio(idle["posd"].switches_per_s, idle["floor"].switches_per_s),
            "",
        ],
        ["threads", str(idle["floor"].threads), str(idle["posd"].threads), "", ""],
    ]
    print(f"\nStartup and idle cost; {args.runs} timed starts each (median), CPU resolution 1/{tick} s")
    print_table(["measure", "floor", "posd", "posd/floor", "target"], rows)
    print()
    checks = [
        (f"startup ≤ {STARTUP_TARGET_S:g} s (median {med['posd']:.3f} s)", med["posd"] <= STARTUP_TARGET_S),
        (f"idle RSS ≤ {RSS_TARGET_MB:g} MB ({idle['posd'].rss_mb:.1f} MB)", idle["posd"].rss_mb <= RSS_TARGET_MB),
        (f"idle CPU ≤ {CPU_TARGET_PCT:g} % ({idle['posd'].cpu_pct:.2f} %)", idle["posd"].cpu_pct <= CPU_TARGET_PCT),
    ]
    for text, ok in checks:
        print(f"  {verdict(ok):<6} {text}")
    save_json(
        args.json,
        {
            "date": str(date.today()),
            "machine": machine_note(),
            "startup_s": times,
            "median_s": med,
            "idle": {name: value.__dict__ for name, value in idle.items()},
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
