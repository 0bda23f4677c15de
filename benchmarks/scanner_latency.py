"""Scan → WebSocket latency per scanner kind (serial, HID POS, keyboard wedge), next to the spine's floor.

One ``posd serve`` subprocess has three scanners, each on its own pseudo-terminal: ``serial-scanner``
(CR-terminated lines), ``hidpos-scanner`` (64-byte HID POS reports) and ``wedge-scanner`` (evdev
``struct input_event`` records typed on the us layout, ~120 records per 20-character label, ending with
the Enter key-up). The floor is ``_floor_server.py`` from ``scan_latency.py`` (a bare aiohttp process that
reads a pty, splits on CR and sends a same-size JSON frame: no auth, no bus, no decoding) — the same
floor that the spine's benchmark reports.

For each N (default 1 and 10) the floor and each posd scanner are measured in turn (order alternating
per round), with N fresh client processes (``_ws_client.py``). A label ``]C0B<seq>XXX…`` is written
every 5–10 ms (random); t0 is taken after the write of its last byte (the CR, the last report, the
Enter key-up record), t1 when a client's ``ws.receive()`` returns the frame. A real wedge scanner types
its keys over milliseconds, so ``wedge`` writes the scan's key records, waits 2 ms, and writes the Enter
key-up (t0 after it); ``wedge-burst`` writes all ~190 records at once, so their decoding is all after t0.

Target (issue 3): scan → WebSocket event p99 ≤ 2 ms.

Run:  .venv/bin/python benchmarks/scanner_latency.py [--clients 1 10] [--scans 200] [--rounds 2]   (~70 s)
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from _common import (
    KIND_END,
    KIND_SCAN,
    KIND_WARMUP,
    READY_RE,
    BenchError,
    Child,
    Pty,
    Server,
    Summary,
    collect_results,
    first_deliveries,
    machine_note,
    make_label,
    posd_executable,
    print_table,
    ratio,
    save_json,
    start_clients,
    start_floor,
    stop_all,
    verdict,
    wait_device_ready,
)

from drivers.hidpos.codec import encode_reports
from drivers.wedge.codec import encode_input_events
from drivers.wedge.simulator import Typist
from drivers.wedge.xkb import keymap_for

P99_TARGET_MS = 2.0
#: label → (bytes sent before the scan's last piece, the last piece); t0 is taken after the last piece.
Encoder = Callable[[bytes], tuple[bytes, bytes]]
#: One key change as a USB keyboard's evdev node reports it: MSC_SCAN + KEY + SYN_REPORT records.
KEY_CHANGE_BYTES = 3 * 24


def serial_bytes(label: bytes) -> tuple[bytes, bytes]:
    return b"", label


def hid_bytes(label: bytes) -> tuple[bytes, bytes]:
    text = label.rstrip(b"\r")
    return b"", b"".join(encode_reports(text[:3], text[3:]))


_TYPIST = Typist(keymap_for("us"), interval_s=0.0005)


def wedge_typed(label: bytes) -> tuple[bytes, bytes]:
    """A scanner types its keys over milliseconds; what the latency covers is the Enter key-up."""
    text = label.rstrip(b"\r").decode("ascii")
    records = encode_input_events(_TYPIST.type(text, time.monotonic(), enter=True))
    return records[:-KEY_CHANGE_BYTES], records[-KEY_CHANGE_BYTES:]


def wedge_burst(label: bytes) -> tuple[bytes, bytes]:
    """Pessimistic: the whole scan (~190 records, 4.5 KB) lands at once and is all decoded after t0."""
    text = label.rstrip(b"\r").decode("ascii")
    return b"", encode_input_events(_TYPIST.type(text, time.monotonic(), enter=True))


@dataclass
class Target:
    name: str
    server: Server
    pty: Pty
    encode: Encoder
    deliveries_ns: list[int] = field(default_factory=list)
    lost: int = 0


def start_posd3(workdir: Path, ptys: dict[str, Pty], timeout: float = 30.0) -> Server:
    config = workdir / "posd.toml"
    state = workdir / "posd-state"
    config.write_text(
        "[[devices]]\n"
        'id = "serial-1"\ndriver = "serial-scanner"\n'
        f'transport = {{ type = "serial", port = "{ptys["serial"].path}", baudrate = 115200 }}\n'
        "[[devices]]\n"
        'id = "hid-1"\ndriver = "hidpos-scanner"\n'
        f'transport = {{ type = "hid", path = "{ptys["hid"].path}" }}\n'
        "[[devices]]\n"
        'id = "wedge-1"\ndriver = "wedge-scanner"\n'
        f'transport = {{ type = "evdev", paths = ["{ptys["wedge"].path}"], grab = false }}\n'
        'options = { layout = "us" }\n',
        encoding="utf-8",
    )
    argv = [posd_executable(), "serve", "--config", str(config), "--state-dir", str(state), "--port", "0"]
    child = Child("posd", argv, workdir / "posd.stderr.log")
    try:
        match, _ = child.wait_line(READY_RE, timeout)
        port = int(match.group(1))
        token = (state / "admin.token").read_text("utf-8").strip()
        for device in ("serial-1", "hid-1", "wedge-1"):
            wait_device_ready(port, token, device, timeout)
    except BaseException:
        child.stop()
        raise
    return Server(child, port, token)


def run_once(target: Target, clients_n: int, *, scans: int, warmup: int, workdir: Path, tag: str, client: str) -> None:
    rng = random.Random(tag)
    clients = start_clients(target.server, clients_n, workdir, tag, timeout=scans * 0.05 + 60.0, implementation=client)
    try:
        for i in range(warmup):
            time.sleep(rng.uniform(0.005, 0.010))
            target.pty.write(b"".join(target.encode(make_label(KIND_WARMUP, i, 20))))
        sent_ns: dict[int, int] = {}
        for seq in range(scans):
            time.sleep(rng.uniform(0.005, 0.010))
            before, last = target.encode(make_label(KIND_SCAN, seq, 20))
            if before:
                target.pty.write(before)
                time.sleep(0.002)  # the scanner's last key change comes a USB poll or two later
            sent_ns[seq] = target.pty.write(last)
        time.sleep(0.05)
        target.pty.write(b"".join(target.encode(make_label(KIND_END, 0, 20))))
        results = collect_results(clients, timeout=30.0)
    finally:
        stop_all(clients)
    target.pty.drain_input()
    delivered, lost = first_deliveries(results, sent_ns)
    target.deliveries_ns += [t1 - sent_ns[seq] for seq, t1 in delivered]
    target.lost += lost


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--scans", type=int, default=200, help="timed scans per round per N per target")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument(
        "--client",
        choices=("aiohttp", "lean"),
        default="aiohttp",
        help="client implementation, one process each (see _ws_client.py; scan_latency.py compares both)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args()
    print(f"scanner_latency {date.today()} — {machine_note()}")
    started = time.monotonic()
    results: dict[tuple[str, int], Target] = {}
    with tempfile.TemporaryDirectory(prefix="posd-bench-") as tmp:
        workdir = Path(tmp)
        ptys = {name: Pty.open() for name in ("floor", "serial", "hid", "wedge")}
        servers: list[Server] = []
        try:
            floor = start_floor(workdir, ptys["floor"].path)
            servers.append(floor)
            posd = start_posd3(workdir, ptys)
            servers.append(posd)
            kinds: list[tuple[str, Server, Pty, Encoder]] = [
                ("floor", floor, ptys["floor"], serial_bytes),
                ("serial", posd, ptys["serial"], serial_bytes),
                ("hid", posd, ptys["hid"], hid_bytes),
                ("wedge", posd, ptys["wedge"], wedge_typed),
                ("wedge-burst", posd, ptys["wedge"], wedge_burst),
            ]
            for round_no in range(args.rounds):
                for clients_n in args.clients:
                    order = kinds if round_no % 2 == 0 else kinds[::-1]
                    for name, server, pty, encode in order:
                        target = results.setdefault((name, clients_n), Target(name, server, pty, encode))
                        before = len(target.deliveries_ns)
                        tag = f"{name}-n{clients_n}-r{round_no}"
                        run_once(
                            target,
                            clients_n,
                            scans=args.scans,
                            warmup=args.warmup,
                            workdir=workdir,
                            tag=tag,
                            client=args.client,
                        )
                        p50 = Summary.of_ns(target.deliveries_ns[before:]).p50_ms
                        print(f"  round {round_no} N={clients_n:<3} {name:<6} p50 {p50:.3f} ms")
        except BenchError as err:
            print(f"benchmark failed: {err}", file=sys.stderr)
            return 2
        finally:
            for server in servers:
                server.child.stop()
            for pty in ptys.values():
                pty.close()
    print(f"\nScan → WebSocket latency (ms), every (scan, client) delivery; took {time.monotonic() - started:.0f} s")
    rows = []
    report = []
    checks: list[tuple[str, bool]] = []
    for clients_n in args.clients:
        floor_summary = Summary.of_ns(results[("floor", clients_n)].deliveries_ns)
        for name in ("floor", "serial", "hid", "wedge", "wedge-burst"):
            target = results[(name, clients_n)]
            summary = Summary.of_ns(target.deliveries_ns)
            rows.append(
                [
                    str(clients_n),
                    name,
                    str(summary.count),
                    f"{summary.p50_ms:.3f}",
                    f"{summary.p99_ms:.3f}",
                    f"{summary.max_ms:.3f}",
                    f"{ratio(summary.p50_ms, floor_summary.p50_ms):.2f}",
                    f"{ratio(summary.p99_ms, floor_summary.p99_ms):.2f}",
                    str(target.lost),
                ]
            )
            report.append({"clients": clients_n, "target": name, **summary.__dict__, "lost": target.lost})
            if name != "floor":
                checks.append((f"N={clients_n} {name}: p99 ≤ {P99_TARGET_MS} ms ({summary.p99_ms:.3f} ms)",
                               summary.p99_ms <= P99_TARGET_MS))  # fmt: skip
    print_table(["N", "scanner", "deliveries", "p50", "p99", "max", "p50/floor", "p99/floor", "lost"], rows)
    print()
    for text, ok in checks:
        print(f"  {verdict(ok):<6} {text}")
    save_json(args.json, {"date": str(date.today()), "machine": machine_note(), "rows": report})
    return 0


if __name__ == "__main__":
    sys.exit(main())
