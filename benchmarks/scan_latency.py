"""Scan → WebSocket delivery latency of posd, against a bare aiohttp floor measured in the same run.

Setup: this process opens two pseudo-terminals (``os.openpty``, both ends raw). One is the serial
scanner of a real ``posd serve`` subprocess (config: one ``serial-scanner`` device on the pty slave),
the other is read by ``_floor_server.py``, a bare aiohttp process that reads the pty with
``loop.add_reader``, frames on CR and ``ws.send_str``s a same-size JSON payload to every client (no
auth, no bus). Both servers run for the whole benchmark.

For each client mode, each N (default 1 and 10) and each server, N WebSocket clients connect
(``_ws_client.py``, identical code for both servers: auth message, hello, then record receive times). Then this process
writes labels ``]C0B<seq>XXX…\\r`` to the pty master, one every 5–10 ms (uniformly random, so the
scans never flood and never beat against a periodic timer). t0 is taken right after ``os.write`` of
the label's last byte returns; t1 when the client has the matching frame (see the modes below).
Latency = t1 − t0 for every (scan, client) delivery. Floor and posd alternate per N and per round, so
drift in the machine's background load hits both alike.

Design choice, client processes: each client runs in its own process, and t0/t1 are both read from
``CLOCK_MONOTONIC`` (``time.clock_gettime_ns``), which on Linux is one system-wide clock, so timestamps
from different processes compare directly. Running the 10 clients on one event loop in this process
would serialize their receives (the 10th client's t1 would include parsing the first nine frames) and
put the writer and the readers on one loop; separate processes are what real front ends look like.
The price: on a 2-core machine, 10 client processes + the server compete for CPU, which is part of
both the floor's and posd's figures alike.

Client modes (``--client-modes``, default ``lean process``; ``_ws_client.py`` has the details):

- ``lean``: one process per client, a blocking socket and the ``websockets`` sans-I/O protocol; t1 when
  ``recv()`` returns. The least a client spends per frame (a browser's WebSocket is native code too),
  so the figures are the servers' and the kernel's.
- ``process``: one process per client, asyncio + aiohttp's client; t1 when ``ws.receive()`` returns.
  Each such client burns ~100+ µs of CPU per frame; on a 2-core machine ten of them queue behind each
  other, and that queue, not the server, is most of the 10-client tail (the k-th client to get a scan
  gets it ~120 µs after the (k−1)-th, against the floor as against posd).
- ``loop``: the N connections on one event loop in one aiohttp client process.

Targets (from the issue): posd p50 ≤ 1.5 × floor p50; posd p99 ≤ 2 ms with 10 clients. Both are
judged for every client mode.

Run:  .venv/bin/python benchmarks/scan_latency.py [--clients 1 10] [--scans 250] [--rounds 2]
      [--profile]  (extra posd run under cProfile after the measurement; prints where the time goes)
"""

from __future__ import annotations

import argparse
import math
import pstats
import random
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from _common import (
    KIND_END,
    KIND_SCAN,
    KIND_WARMUP,
    REPO,
    BenchError,
    Pty,
    Server,
    Summary,
    collect_results,
    cpu_ns,
    first_deliveries,
    machine_note,
    make_label,
    percentile,
    print_table,
    ratio,
    save_json,
    start_clients,
    start_floor,
    start_posd,
    stop_all,
    verdict,
)

P50_RATIO_TARGET = 1.5
P99_TARGET_MS = 2.0
P99_TARGET_CLIENTS = 10


@dataclass
class Samples:
    deliveries_ns: list[int] = field(default_factory=list)
    """t1 − t0 of every (scan, client) delivery."""
    fanout_ns: list[int] = field(default_factory=list)
    """Per scan: t1 of the last client to get it − t0 (all N clients served)."""
    lost: int = 0
    sent: int = 0
    server_cpu_ns: int = 0
    """Server process CPU time (all threads) while the timed scans were sent."""


@dataclass
class Settings:
    scans: int
    warmup: int
    label_bytes: int
    gap_min_s: float
    gap_max_s: float
    client_mode: str = "lean"


def run_once(server: Server, pty: Pty, clients_n: int, settings: Settings, *, workdir: Path, tag: str) -> Samples:
    """One measurement: N fresh clients, warm-up scans, timed scans, end label."""
    rng = random.Random(f"{tag}")
    timeout = settings.scans * 0.05 + 60.0
    if settings.client_mode == "loop":
        clients = start_clients(server, 1, workdir, tag, timeout=timeout, connections_each=clients_n)
    else:
        implementation = "lean" if settings.client_mode == "lean" else "aiohttp"
        clients = start_clients(server, clients_n, workdir, tag, timeout=timeout, implementation=implementation)
    try:
        for i in range(settings.warmup):
            time.sleep(rng.uniform(settings.gap_min_s, settings.gap_max_s))
            pty.write(make_label(KIND_WARMUP, i, settings.label_bytes))
        sent_ns: dict[int, int] = {}
        cpu_before = cpu_ns(server.child.pid)
        for seq in range(settings.scans):
            time.sleep(rng.uniform(settings.gap_min_s, settings.gap_max_s))
            sent_ns[seq] = pty.write(make_label(KIND_SCAN, seq, settings.label_bytes))
        time.sleep(0.05)
        server_cpu = cpu_ns(server.child.pid) - cpu_before
        pty.write(make_label(KIND_END, 0, settings.label_bytes))
        results = collect_results(clients, timeout=30.0)
    finally:
        stop_all(clients)
    pty.drain_input()
    samples = Samples(sent=settings.scans * clients_n, server_cpu_ns=server_cpu)
    delivered, samples.lost = first_deliveries(results, sent_ns)
    last_ns: dict[int, int] = {}
    for seq, t1 in delivered:
        samples.deliveries_ns.append(t1 - sent_ns[seq])
        last_ns[seq] = max(last_ns.get(seq, 0), t1)
    samples.fanout_ns = [
        last_ns[seq] - t0 for seq, t0 in sent_ns.items() if seq in last_ns and len(results) == clients_n
    ]
    return samples


def fmt(value: float, digits: int = 3) -> str:
    return "n/a" if math.isnan(value) else f"{value:.{digits}f}"


def profile_posd(workdir: Path, clients_n: int, settings: Settings) -> None:
    """Run posd under cProfile through one measurement and print the functions it spent time in."""
    out = workdir / "posd.prof"
    pty = Pty.open()
    server: Server | None = None
    try:
        server = start_posd(workdir, pty.path, name="posd-profiled", profile_out=out)
        samples = run_once(server, pty, clients_n, settings, workdir=workdir, tag=f"profile-n{clients_n}")
        summary = Summary.of_ns(samples.deliveries_ns)
        print(f"\nprofiled run (cProfile inflates times): N={clients_n} p50 {fmt(summary.p50_ms)} ms")
    finally:
        if server is not None:
            server.child.stop(timeout=15.0)
        pty.close()
    if not out.exists():
        print("no profile written (daemon did not exit cleanly)")
        return
    # Steady state only: the product's and its libraries' functions, not the imports at startup.
    where = rf"{re.escape(str(REPO))}/(drivers|daemon|api)/|aiohttp/|serial|asyncio/(selector_events|streams|events)"
    stats = pstats.Stats(str(out))
    stats.sort_stats("tottime").print_stats(where, 30)


CLIENT_MODES = ("lean", "process", "loop")


def measure(args: argparse.Namespace, workdir: Path, modes: list[str]) -> dict[tuple[str, str, int], Samples] | None:
    """Every (mode, server, N) measurement; floor and posd alternate. None if a server failed."""
    samples: dict[tuple[str, str, int], Samples] = {}
    ptys = {"floor": Pty.open(), "posd": Pty.open()}
    servers: dict[str, Server] = {}
    try:
        servers["floor"] = start_floor(workdir, ptys["floor"].path)
        servers["posd"] = start_posd(workdir, ptys["posd"].path)
        for mode in modes:
            settings = Settings(
                args.scans, args.warmup, args.label_bytes, args.gap_ms[0] / 1000, args.gap_ms[1] / 1000, mode
            )
            for round_no in range(args.rounds):
                for clients_n in args.clients:
                    order = ("floor", "posd") if round_no % 2 == 0 else ("posd", "floor")
                    for name in order:
                        tag = f"{mode}-{name}-n{clients_n}-r{round_no}"
                        one = run_once(servers[name], ptys[name], clients_n, settings, workdir=workdir, tag=tag)
                        total = samples.setdefault((mode, name, clients_n), Samples())
                        total.deliveries_ns += one.deliveries_ns
                        total.fanout_ns += one.fanout_ns
                        total.lost += one.lost
                        total.sent += one.sent
                        total.server_cpu_ns += one.server_cpu_ns
                        p50 = percentile(one.deliveries_ns, 50) / 1e6
                        print(
                            f"  {mode:<7} round {round_no} N={clients_n:<3} {name:<5} "
                            f"p50 {fmt(p50)} ms, lost {one.lost}"
                        )
        posd_rc = servers["posd"].child.stop()
        if posd_rc not in (0, None):
            print(f"warning: posd exited with {posd_rc}{servers['posd'].child.log_tail()}")
    except BenchError as err:
        print(f"benchmark failed: {err}", file=sys.stderr)
        return None
    finally:
        for server in servers.values():
            server.child.stop()
        for pty in ptys.values():
            pty.close()
    return samples


def report(
    args: argparse.Namespace, mode: str, samples: dict[tuple[str, str, int], Samples]
) -> tuple[list[dict[str, object]], list[tuple[str, bool]]]:
    """Print one client mode's table; return its JSON rows and its target verdicts."""
    print(f"\nclients: {mode} — scan → WebSocket delivery latency (ms), every (scan, client) delivery")
    rows: list[list[str]] = []
    report_rows: list[dict[str, object]] = []
    targets: list[tuple[str, bool]] = []
    for clients_n in args.clients:
        floor = samples[(mode, "floor", clients_n)]
        posd = samples[(mode, "posd", clients_n)]
        fs, ps = Summary.of_ns(floor.deliveries_ns), Summary.of_ns(posd.deliveries_ns)
        fan_floor = percentile(floor.fanout_ns, 99) / 1e6
        fan_posd = percentile(posd.fanout_ns, 99) / 1e6
        r50, r99 = ratio(ps.p50_ms, fs.p50_ms), ratio(ps.p99_ms, fs.p99_ms)
        scans_each = args.scans * args.rounds
        cpu_floor, cpu_posd = floor.server_cpu_ns / scans_each / 1e3, posd.server_cpu_ns / scans_each / 1e3
        rows.append(
            [
                str(clients_n),
                str(ps.count),
                fmt(fs.p50_ms),
                fmt(fs.p99_ms),
                fmt(fs.max_ms),
                fmt(ps.p50_ms),
                fmt(ps.p99_ms),
                fmt(ps.max_ms),
                fmt(r50, 2),
                fmt(r99, 2),
                f"{fmt(fan_floor)}/{fmt(fan_posd)}",
                f"{cpu_floor:.0f}/{cpu_posd:.0f}",
                f"{floor.lost}/{posd.lost}",
            ]
        )
        where = f"{mode:<7} N={clients_n}"
        targets.append((f"{where}: posd p50 ≤ {P50_RATIO_TARGET}× floor p50 (ratio {fmt(r50, 2)})", r50 <= 1.5))
        if clients_n == P99_TARGET_CLIENTS:
            targets.append((f"{where}: posd p99 ≤ {P99_TARGET_MS} ms ({fmt(ps.p99_ms)} ms)", ps.p99_ms <= 2.0))
        report_rows.append(
            {
                "client_mode": mode,
                "clients": clients_n,
                "floor": fs.__dict__,
                "posd": ps.__dict__,
                "ratio_p50": r50,
                "ratio_p99": r99,
                "server_cpu_us_per_scan": {"floor": cpu_floor, "posd": cpu_posd},
            }
        )
    print_table(
        [
            "N",
            "deliveries",
            "floor p50",
            "floor p99",
            "floor max",
            "posd p50",
            "posd p99",
            "posd max",
            "p50 ratio",
            "p99 ratio",
            "all-N p99 floor/posd",
            "server CPU µs/scan floor/posd",
            "lost floor/posd",
        ],
        rows,
    )
    return report_rows, targets


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 10], help="client counts (default 1 10)")
    parser.add_argument("--scans", type=int, default=250, help="timed scans per round per N per server")
    parser.add_argument("--rounds", type=int, default=2, help="alternating floor/posd rounds (default 2)")
    parser.add_argument("--warmup", type=int, default=30, help="untimed scans before each measurement")
    parser.add_argument("--label-bytes", type=int, default=20, help="label length without the CR (default 20)")
    parser.add_argument("--gap-ms", type=float, nargs=2, default=[5.0, 10.0], help="scan spacing range, ms")
    parser.add_argument(
        "--client-modes",
        nargs="+",
        choices=CLIENT_MODES,
        default=["lean", "process"],
        help="lean / process: one process per client (lean socket / asyncio+aiohttp); loop: one aiohttp loop",
    )
    parser.add_argument("--profile", action="store_true", help="afterwards, profile posd with cProfile")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args()

    print(f"scan_latency {date.today()} — {machine_note()}")
    print(
        f"{args.scans} scans x {args.rounds} rounds per N per server per client mode, label {args.label_bytes} B, "
        f"gap {args.gap_ms[0]:g}-{args.gap_ms[1]:g} ms, client modes: {' '.join(args.client_modes)}"
    )
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="posd-bench-") as tmp:
        workdir = Path(tmp)
        samples = measure(args, workdir, args.client_modes)
        if samples is None:
            return 2
        print(f"\ntook {time.monotonic() - started:.0f} s")
        rows: list[dict[str, object]] = []
        targets: list[tuple[str, bool]] = []
        for mode in args.client_modes:
            mode_rows, mode_targets = report(args, mode, samples)
            rows += mode_rows
            targets += mode_targets
        print()
        for text, ok in targets:
            print(f"  {verdict(ok):<6} {text}")
        save_json(args.json, {"date": str(date.today()), "machine": machine_note(), "rows": rows})

        if args.profile:
            settings = Settings(
                args.scans, args.warmup, args.label_bytes, args.gap_ms[0] / 1000, args.gap_ms[1] / 1000, "process"
            )
            profile_posd(workdir, max(args.clients), settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
