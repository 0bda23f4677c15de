"""A stalled WebSocket reader must not slow a healthy one, and must be cut off: posd's slow-consumer rule.

Setup as in ``scan_latency.py``: this process feeds a real ``posd serve`` subprocess scans through a
pseudo-terminal, and one healthy client process (``_ws_client.py``) records when each scan arrives
(``CLOCK_MONOTONIC``, comparable across processes). Scans are sent open-loop at a high rate (default
2000 scans/s, ~1 KB labels, so every event frame is ~2 KB and buffers fill fast).

Phase A (the floor, same run, same load): the healthy client alone.
Phase B: a fresh healthy client, plus a stalled client: a raw TCP socket with a small SO_RCVBUF that does
the WebSocket handshake by hand, authenticates, reads the hello, and then never calls recv again. The
daemon should close a subscriber that stays over 1024 pending events for 5 s, or reaches 8192 pending
events, by aborting its transport. Every ~10 ms this process checks whether that happened:

* ``--probe passive`` (default): the stalled client sends nothing. SO_ERROR on the stalled socket
  shows the RST of an abort (what posd's abort produced in every run here). As a fallback, every
  0.5 s, the daemon's end of the connection is looked up in /proc/net/tcp: once closed it is gone or
  no longer ESTABLISHED (e.g. an orphan in FIN_WAIT1 still holding unsent data). Only every 0.5 s
  because reading /proc/net/tcp costs ~4 ms of kernel time here (it walks the whole TCP hash
  table): every 10 ms it took ~40 % of a core from the 2-core machine and inflated the tail latency.
* ``--probe send``: send a tiny masked pong frame from the stalled socket (sending is not reading);
  once the daemon has closed its end the kernel answers with RST and the next send fails. Note that
  any frame the daemon receives resets aiohttp's WebSocket heartbeat, so this probe hides the
  heartbeat (20 s ping + 10 s pong wait) as a second way of cutting the client off.

Detection resolution is ~10–20 ms (0.5 s if only the /proc fallback sees it); the daemon's own log
line ("event subscriber closed: too slow …") gives a millisecond cross-check.

Phases A and B alternate (``--repeats`` pairs, default 3) so drift in the machine's load hits both.
Reported: healthy p50/p99/max alone, with the stalled client (scans sent while it was connected), the
pooled p99 ratio B/A (target ≤ 2×; the per-pair ratios are printed too: on a noisy VM one scheduling
hiccup of ~100 ms is 200 late scans at 2000/s, enough to move a p99), and time from the first scan of
phase B to the disconnect (target ≤ 5 s).

Run:  .venv/bin/python benchmarks/slow_consumer.py [--rate 2000] [--label-bytes 1000] [--alone-s 3]
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import math
import os
import re
import socket
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from _common import (
    KIND_END,
    KIND_SCAN,
    KIND_WARMUP,
    BenchError,
    Pty,
    Server,
    Summary,
    collect_results,
    machine_note,
    make_label,
    now_ns,
    percentile,
    print_table,
    ratio,
    save_json,
    start_clients,
    start_posd,
    stop_all,
    verdict,
)

P99_RATIO_TARGET = 2.0
DISCONNECT_TARGET_S = 5.0
POLL_INTERVAL_NS = 10_000_000
PROC_CHECK_INTERVAL_NS = 500_000_000
TCP_ESTABLISHED = "01"
TCP_STATES = {"01": "ESTABLISHED", "04": "FIN_WAIT1", "05": "FIN_WAIT2", "06": "TIME_WAIT", "07": "CLOSE"}
LOG_RE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) WARNING daemon\.events: event subscriber closed: (.*)$")


def ws_frame(opcode: int, payload: bytes) -> bytes:
    """A masked client frame (RFC 6455 §5.2), FIN set."""
    mask = os.urandom(4)
    length = len(payload)
    if length < 126:
        head = bytes([0x80 | opcode, 0x80 | length])
    elif length < 65536:
        head = bytes([0x80 | opcode, 0x80 | 126]) + length.to_bytes(2, "big")
    else:
        head = bytes([0x80 | opcode, 0x80 | 127]) + length.to_bytes(8, "big")
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


class StalledClient:
    """A WebSocket client that authenticates, reads the hello, and then never reads again."""

    def __init__(self, port: int, token: str, rcvbuf: int, probe: str = "passive", timeout: float = 5.0) -> None:
        self.probe = probe
        self._next_proc_check = 0
        self.server_port = port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            # Before connect, so the advertised window is small from the first segment.
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            self.sock.settimeout(timeout)
            self.sock.connect(("127.0.0.1", port))
            self._handshake(port, token)
            self.sock.setblocking(False)
        except BaseException:
            self.sock.close()
            raise
        self.rcvbuf = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        self.local_port = self.sock.getsockname()[1]
        self.closed_reason: str | None = None
        self._pong = ws_frame(0xA, b"")

    def _recv_more(self, buffer: bytes) -> bytes:
        chunk = self.sock.recv(4096)
        if not chunk:
            raise BenchError(f"stalled client: server closed during handshake (got {buffer[:200]!r})")
        return buffer + chunk

    def _handshake(self, port: int, token: str) -> None:
        key = base64.b64encode(os.urandom(16)).decode("ascii")
        request = (
            "GET /api/v1/events?topics=scanner.scan HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        self.sock.sendall(request.encode("ascii"))
        buffer = b""
        while b"\r\n\r\n" not in buffer:
            buffer = self._recv_more(buffer)
        head, _, buffer = buffer.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            raise BenchError(f"stalled client: upgrade refused: {head[:200]!r}")
        self.sock.sendall(ws_frame(0x1, json.dumps({"type": "auth", "token": token}).encode()))
        while len(buffer) < 2 or len(buffer) < 2 + (buffer[1] & 0x7F):
            buffer = self._recv_more(buffer)
        length = buffer[1] & 0x7F
        if length >= 126 or b'"hello"' not in buffer[2 : 2 + length]:
            raise BenchError(f"stalled client: expected hello, got {buffer[:200]!r}")

    def server_end_state(self) -> str | None:
        """TCP state (hex, as in /proc/net/tcp) of the daemon's end of this connection; None if gone."""
        local = f"0100007F:{self.server_port:04X}"
        remote = f"0100007F:{self.local_port:04X}"
        with open("/proc/net/tcp", encoding="ascii") as fh:
            for line in fh:
                fields = line.split()
                if len(fields) > 3 and fields[1] == local and fields[2] == remote:
                    return fields[3]
        return None

    def poll_closed(self) -> bool:
        """True once the server has closed/aborted its end of the connection."""
        if self.closed_reason is None:
            self.closed_reason = self._probe()
        return self.closed_reason is not None

    def _proc_probe(self) -> str | None:
        """The /proc/net/tcp fallback, at most every PROC_CHECK_INTERVAL_NS."""
        now = now_ns()
        if now < self._next_proc_check:
            return None
        self._next_proc_check = now + PROC_CHECK_INTERVAL_NS
        state = self.server_end_state()
        if state == TCP_ESTABLISHED:
            return None
        return f"daemon's end {TCP_STATES.get(state or '', 'gone')} (/proc/net/tcp)"

    def _probe(self) -> str | None:
        """Why the connection is known to be closed, or None while it looks open."""
        error = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if error:
            return os.strerror(error)
        if self.probe == "passive":
            return self._proc_probe()
        try:
            self.sock.send(self._pong)
        except BlockingIOError:
            return None
        except OSError as err:
            return f"{type(err).__name__}: {err.strerror or err}"
        return None

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


@dataclass
class Phase:
    sent_ns: dict[int, int] = field(default_factory=dict)
    first_ns: int = 0
    last_ns: int = 0
    latencies_ns: dict[int, int] = field(default_factory=dict)
    lost: int = 0
    disconnect_ns: int | None = None
    disconnect_reason: str | None = None
    stall_start_wall: float = 0.0

    @property
    def achieved_rate(self) -> float:
        span = (self.last_ns - self.first_ns) / 1e9
        return (len(self.sent_ns) - 1) / span if span > 0 else math.nan


def send_load(
    pty: Pty,
    rate: float,
    label_bytes: int,
    *,
    duration_s: float,
    first_seq: int,
    stalled: StalledClient | None = None,
    tail_s: float = 1.0,
) -> Phase:
    """Open-loop load: scan i is due at start + i/rate (late scans go out at once, never skipped).

    With ``stalled``, run until the stalled client is cut off + ``tail_s``, or ``duration_s`` at most.
    """
    phase = Phase(stall_start_wall=time.time())
    interval_ns = int(1e9 / rate)
    start = now_ns()
    stop_at = start + int(duration_s * 1e9)
    next_poll = start
    seq = first_seq
    index = 0
    while True:
        due = start + index * interval_ns
        now = now_ns()
        if due > now:
            time.sleep((due - now) / 1e9)
        phase.sent_ns[seq] = pty.write(make_label(KIND_SCAN, seq, label_bytes))
        seq += 1
        index += 1
        now = now_ns()
        if stalled is not None and phase.disconnect_ns is None and now >= next_poll:
            next_poll = now + POLL_INTERVAL_NS
            if stalled.poll_closed():
                phase.disconnect_ns = now
                phase.disconnect_reason = stalled.closed_reason
                stop_at = min(stop_at, now + int(tail_s * 1e9))
        if now >= stop_at:
            break
    phase.first_ns = start
    phase.last_ns = now_ns()
    return phase


def run_phase(
    server: Server,
    pty: Pty,
    args: argparse.Namespace,
    *,
    workdir: Path,
    tag: str,
    first_seq: int,
    with_stalled: bool,
) -> tuple[Phase, StalledClient | None]:
    clients = start_clients(server, 1, workdir, tag, timeout=args.max_s + 60.0)
    stalled: StalledClient | None = None
    try:
        for i in range(50):
            pty.write(make_label(KIND_WARMUP, i, args.label_bytes))
            time.sleep(0.002)
        time.sleep(0.2)
        if with_stalled:
            stalled = StalledClient(server.port, server.token, args.rcvbuf, args.probe)
            phase = send_load(
                pty, args.rate, args.label_bytes, duration_s=args.max_s, first_seq=first_seq, stalled=stalled
            )
        else:
            phase = send_load(pty, args.rate, args.label_bytes, duration_s=args.alone_s, first_seq=first_seq)
        time.sleep(0.2)
        pty.write(make_label(KIND_END, 0, args.label_bytes))
        (result,) = collect_results(clients, timeout=60.0)
    finally:
        stop_all(clients)
        if stalled is not None:
            stalled.close()
    received = dict(zip(result.seqs, result.times_ns, strict=True))
    for seq, t0 in phase.sent_ns.items():
        if seq in received:
            phase.latencies_ns[seq] = received[seq] - t0
        else:
            phase.lost += 1
    return phase, stalled


def daemon_cutoff_log(log_path: Path, stall_start_wall: float) -> tuple[float | None, str | None]:
    """Seconds from the stall start to the daemon's next "subscriber closed: too slow" log line, and its reason."""
    try:
        lines = log_path.read_text("utf-8", "replace").splitlines()
    except OSError:
        return None, None
    for line in lines:
        match = LOG_RE.match(line)
        if match is not None:
            stamp = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()
            if stamp >= stall_start_wall - 0.001:
                return stamp - stall_start_wall, match.group(2)
    return None, None


def fmt(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:.{digits}f}"


@dataclass
class Repeat:
    alone: Summary
    stalled: Summary
    after: Summary
    disconnect_s: float | None
    seen_as: str | None
    log_s: float | None
    log_reason: str | None
    lost: int


def analyse(alone: Phase, stalled: Phase, log_path: Path) -> tuple[Repeat, list[int], list[int]]:
    """Split phase B at the cut-off; return the repeat's summaries and its raw alone/stalled latencies."""
    if stalled.disconnect_ns is not None:
        cut = stalled.disconnect_ns
        during = [v for s, v in stalled.latencies_ns.items() if stalled.sent_ns[s] < cut]
        after = [v for s, v in stalled.latencies_ns.items() if stalled.sent_ns[s] >= cut]
        disconnect_s: float | None = (cut - stalled.first_ns) / 1e9
    else:
        during, after, disconnect_s = list(stalled.latencies_ns.values()), [], None
    log_s, log_reason = daemon_cutoff_log(log_path, stalled.stall_start_wall)
    alone_ns = list(alone.latencies_ns.values())
    repeat = Repeat(
        Summary.of_ns(alone_ns),
        Summary.of_ns(during),
        Summary.of_ns(after),
        disconnect_s,
        stalled.disconnect_reason,
        log_s,
        log_reason,
        alone.lost + stalled.lost,
    )
    return repeat, alone_ns, during


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=2000.0, help="scans per second (default 2000)")
    parser.add_argument("--label-bytes", type=int, default=1000, help="label length (default 1000)")
    parser.add_argument("--alone-s", type=float, default=3.0, help="phase A duration, s (default 3)")
    parser.add_argument("--max-s", type=float, default=12.0, help="phase B gives up after this long (default 12)")
    parser.add_argument("--repeats", type=int, default=3, help="A,B pairs (alternating; default 3)")
    parser.add_argument("--rcvbuf", type=int, default=4096, help="stalled client's SO_RCVBUF (default 4096)")
    parser.add_argument(
        "--probe",
        choices=("passive", "send"),
        default="passive",
        help="how the cut-off is detected (default passive)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args()

    print(f"slow_consumer {date.today()} — {machine_note()}")
    print(f"load: {args.rate:g} scans/s, {args.label_bytes} B labels; phase A {args.alone_s:g} s")
    print(f"{args.repeats} alternating pairs of phase A (alone) and phase B (with a stalled client)")
    repeats: list[Repeat] = []
    all_alone: list[int] = []
    all_stalled: list[int] = []
    with tempfile.TemporaryDirectory(prefix="posd-bench-") as tmp:
        workdir = Path(tmp)
        pty = Pty.open()
        server: Server | None = None
        try:
            server = start_posd(workdir, pty.path)
            log_path = server.child.log_path
            for rep in range(args.repeats):
                seq0 = rep * 2 * 10**6
                alone, _ = run_phase(
                    server, pty, args, workdir=workdir, tag=f"alone{rep}", first_seq=seq0, with_stalled=False
                )
                stalled, client = run_phase(
                    server, pty, args, workdir=workdir, tag=f"stalled{rep}", first_seq=seq0 + 10**6, with_stalled=True
                )
                print(
                    f"  pair {rep}: A {len(alone.sent_ns)} scans at {alone.achieved_rate:.0f}/s, "
                    f"B {len(stalled.sent_ns)} scans at {stalled.achieved_rate:.0f}/s; "
                    f"stalled SO_RCVBUF {client.rcvbuf if client else '?'}"
                )
                repeat, alone_ns, stalled_ns = analyse(alone, stalled, log_path)
                repeats.append(repeat)
                all_alone += alone_ns
                all_stalled += stalled_ns
            alive = server.child.proc.poll() is None
        except BenchError as err:
            print(f"benchmark failed: {err}", file=sys.stderr)
            return 2
        finally:
            if server is not None:
                server.child.stop()
            pty.close()

    print("\nHealthy client's scan → WebSocket latency (ms); B = scans sent while the stalled client was connected")
    rows: list[list[str]] = []
    for rep, r in enumerate(repeats):
        rows.append(
            [
                str(rep),
                fmt(r.alone.p50_ms),
                fmt(r.alone.p99_ms),
                fmt(r.alone.max_ms),
                fmt(r.stalled.p50_ms),
                fmt(r.stalled.p99_ms),
                fmt(r.stalled.max_ms),
                fmt(ratio(r.stalled.p99_ms, r.alone.p99_ms), 2),
                fmt(r.after.p99_ms),
                fmt(r.disconnect_s),
                fmt(r.log_s),
                str(r.lost),
            ]
        )
    pooled_a, pooled_b = Summary.of_ns(all_alone), Summary.of_ns(all_stalled)
    p99_ratio = ratio(pooled_b.p99_ms, pooled_a.p99_ms)
    cuts = [r.disconnect_s for r in repeats]
    worst_cut = None if any(c is None for c in cuts) else max(c for c in cuts if c is not None)
    rows.append(
        [
            "all",
            fmt(pooled_a.p50_ms),
            fmt(pooled_a.p99_ms),
            fmt(pooled_a.max_ms),
            fmt(pooled_b.p50_ms),
            fmt(pooled_b.p99_ms),
            fmt(pooled_b.max_ms),
            fmt(p99_ratio, 2),
            "",
            f"worst {fmt(worst_cut)}",
            "",
            str(sum(r.lost for r in repeats)),
        ]
    )
    print_table(
        [
            "pair",
            "A p50",
            "A p99",
            "A max",
            "B p50",
            "B p99",
            "B max",
            "p99 B/A",
            "p99 after cut",
            "cut-off s",
            "log s",
            "lost",
        ],
        rows,
    )
    pair_ratios = sorted(ratio(r.stalled.p99_ms, r.alone.p99_ms) for r in repeats)
    median_ratio = fmt(percentile(pair_ratios, 50), 2)
    print(f"  p99 B/A per pair: {', '.join(fmt(x, 2) for x in pair_ratios)} (median {median_ratio})")
    for rep, r in enumerate(repeats):
        print(f"  pair {rep}: stalled socket saw {r.seen_as or 'nothing'}; daemon log: {r.log_reason or '(no line)'}")
    print(f"  daemon still running at the end: {alive}")
    print()
    ratio_ok = not math.isnan(p99_ratio) and p99_ratio <= P99_RATIO_TARGET
    cut_ok = worst_cut is not None and worst_cut <= DISCONNECT_TARGET_S
    ratio_text = f"healthy p99 with stalled client ≤ {P99_RATIO_TARGET:g}× alone ({fmt(p99_ratio, 2)}×)"
    print(f"  {verdict(ratio_ok):<6} {ratio_text}")
    print(f"  {verdict(cut_ok):<6} stalled client disconnected ≤ {DISCONNECT_TARGET_S:g} s (worst {fmt(worst_cut)} s)")
    save_json(
        args.json,
        {
            "date": str(date.today()),
            "machine": machine_note(),
            "rate": args.rate,
            "label_bytes": args.label_bytes,
            "repeats": [r.__dict__ for r in repeats],
            "pooled": {"alone": pooled_a.__dict__, "with_stalled": pooled_b.__dict__, "p99_ratio": p99_ratio},
            "worst_disconnect_s": worst_cut,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
