"""Soak: a long run of scans to 10 WebSocket clients; does memory settle, is anything lost, does latency hold?

Stores run posd all day. This script runs the real ``posd serve`` (one serial scanner on a pty, as in
``scan_latency.py``) and the bare aiohttp floor one after the other, each for ``--seconds`` (default 60) at
``--rate`` scans per second (default 500: a year of a busy lane's scans compressed into minutes would be
more, but the event ring of 16,384 events fills after 33 s, which is the point where memory must stop
growing), with ``--clients`` (default 10) lean WebSocket clients (``_ws_client.py --client lean``).

Every second the server's RSS is read from /proc. Reported per server:

* RSS when the run starts, when posd's event ring is full (``ring_size / rate`` seconds in), and at the end;
* the RSS slope over the part of the run after the ring is full (a least-squares fit, MB per minute): with
  nothing accumulating it is ~0;
* deliveries lost (every client must get every scan) and p50 / p99 / max latency over the whole run;
* server CPU per scan.

Run:  .venv/bin/python benchmarks/soak.py [--seconds 60] [--rate 500] [--clients 10]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from _common import (
    KIND_END,
    KIND_SCAN,
    BenchError,
    Pty,
    Server,
    Summary,
    collect_results,
    cpu_ns,
    first_deliveries,
    machine_note,
    make_label,
    print_table,
    start_clients,
    start_floor,
    start_posd,
    stop_all,
)

RING_SIZE = 16384  # posd's default event ring (daemon/config.py events.ring_size)


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise BenchError(f"no VmRSS for {pid}")


def slope_per_minute(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MB), in MB per minute."""
    if len(points) < 2:
        return float("nan")
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_m = sum(m for _, m in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    cov = sum((t - mean_t) * (m - mean_m) for t, m in points)
    return cov / var * 60 if var else float("nan")


@dataclass
class Run:
    name: str
    rss: list[tuple[float, float]] = field(default_factory=list)
    deliveries_ns: list[int] = field(default_factory=list)
    lost: int = 0
    sent: int = 0
    cpu_ns: int = 0


def soak(server: Server, pty: Pty, args: argparse.Namespace, workdir: Path) -> Run:
    run = Run(server.child.name)
    pid = server.child.pid
    clients = start_clients(
        server, args.clients, workdir, run.name, timeout=args.seconds + 120.0, implementation="lean"
    )
    sent_ns: dict[int, int] = {}
    try:
        interval = 1.0 / args.rate
        started = time.monotonic()
        cpu_before = cpu_ns(pid)
        next_sample = started
        seq = 0
        while (now := time.monotonic()) - started < args.seconds:
            if now >= next_sample:
                run.rss.append((now - started, rss_mb(pid)))
                next_sample += 1.0
            due = started + seq * interval
            if now < due:
                time.sleep(min(due - now, 0.001))
                continue
            sent_ns[seq] = pty.write(make_label(KIND_SCAN, seq, 20))
            seq += 1
        time.sleep(0.2)
        run.cpu_ns = cpu_ns(pid) - cpu_before
        run.rss.append((time.monotonic() - started, rss_mb(pid)))
        pty.write(make_label(KIND_END, 0, 20))
        results = collect_results(clients, timeout=60.0)
    finally:
        stop_all(clients)
    pty.drain_input()
    run.sent = len(sent_ns)
    delivered, run.lost = first_deliveries(results, sent_ns)
    run.deliveries_ns = [t1 - sent_ns[seq] for seq, t1 in delivered]
    return run


def rss_at(run: Run, second: float) -> float:
    return min(run.rss, key=lambda point: abs(point[0] - second))[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each server's run")
    parser.add_argument("--rate", type=float, default=500.0, help="scans per second")
    parser.add_argument("--clients", type=int, default=10, help="lean WebSocket clients")
    args = parser.parse_args()
    ring_full_s = RING_SIZE / args.rate
    print(f"soak {date.today()} — {machine_note()}")
    print(
        f"{args.seconds:g} s per server at {args.rate:g} scans/s to {args.clients} lean clients; "
        f"posd's event ring is full after {ring_full_s:.0f} s"
    )
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="posd-soak-") as tmp:
        workdir = Path(tmp)
        for start in (start_posd, start_floor):
            pty = Pty.open()
            server: Server | None = None
            try:
                server = start(workdir, pty.path)
                runs.append(soak(server, pty, args, workdir))
            except BenchError as err:
                print(f"benchmark failed: {err}", file=sys.stderr)
                return 2
            finally:
                if server is not None:
                    server.child.stop()
                pty.close()
    rows = []
    for run in runs:
        summary = Summary.of_ns(run.deliveries_ns)
        steady = [point for point in run.rss if point[0] >= ring_full_s]
        rows.append(
            [
                run.name,
                str(run.sent),
                f"{run.lost}",
                f"{summary.p50_ms:.3f} / {summary.p99_ms:.3f} / {summary.max_ms:.3f}",
                f"{run.rss[0][1]:.1f}",
                f"{rss_at(run, ring_full_s):.1f}",
                f"{run.rss[-1][1]:.1f}",
                f"{slope_per_minute(steady):+.3f}" if len(steady) >= 2 else "n/a (run shorter than ring fill)",
                f"{run.cpu_ns / max(run.sent, 1) / 1e3:.0f}",
            ]
        )
    print()
    print_table(
        [
            "server",
            "scans",
            "lost deliveries",
            "p50 / p99 / max ms",
            "RSS start MB",
            "RSS ring full MB",
            "RSS end MB",
            "RSS slope after ring full MB/min",
            "CPU µs/scan",
        ],
        rows,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
