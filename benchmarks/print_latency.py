"""Print job: accept → last byte at the printer, journal commits included; and jobs/s for a queue of 500.

Setup: a TCP 9100 sink in a thread of this process stands in for the printer. It runs the project's
ESC/POS interpreter, answers DLE EOT status requests (the driver checks the printer before every job),
and timestamps (CLOCK_MONOTONIC) the cut that ends each job. The real daemon runs as a subprocess
with one ``escpos`` printer on that sink.

- posd latency: t0 just before ``POST /api/v1/printers/p/jobs`` (the 202 comes after the journal commit),
  t1 when the sink sees that job's cut; one job at a time.
- posd throughput: 500 jobs posted by 8 concurrent clients; first POST → last cut.
- floor (same run, same sink): python-escpos ``Dummy`` builds the same receipt and the bytes are written
  straight to a socket to the sink — no HTTP, no journal, no status check.

Usage: ``python benchmarks/print_latency.py [--jobs 200] [--queue 500] [--kind document|raw]``
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import socket
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
from _common import (
    READY_RE,
    Child,
    machine_note,
    now_ns,
    percentile,
    posd_executable,
    print_table,
    ratio,
    save_json,
    verdict,
    wait_device_ready,
)

from drivers.escpos.codec import encode_status_byte
from drivers.escpos.interpreter import EscposInterpreter, StatusRequest
from drivers.models import PrinterStatus

LINES = 40
OK = PrinterStatus(online=True, paper="ok", cover="closed")


def receipt_lines(number: int) -> list[str]:
    items = [f"{i:02d} PAO DE QUEIJO 100G      1 x 12,50" for i in range(LINES - 4)]
    return [f"ORDER {number}", *items, "TOTAL                        450,00", "OBRIGADO", "VOLTE SEMPRE"]


def document(number: int) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [{"type": "text", "text": line} for line in receipt_lines(number)]
    blocks.append({"type": "cut"})
    return {"blocks": blocks}


def raw_bytes(number: int) -> bytes:
    return b"\x1b@" + "\n".join(receipt_lines(number)).encode("cp437") + b"\n\x1dV\x00"


def escpos_dummy_bytes(number: int) -> bytes:
    from escpos.printer import Dummy

    printer = Dummy()
    for line in receipt_lines(number):
        printer.text(line + "\n")
    printer.cut(mode="FULL")
    return bytes(printer.output)


class Sink:
    """The printer side: one thread per connection, cut timestamps in order of arrival."""

    def __init__(self) -> None:
        self._server = socket.socket()
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen()
        self.port: int = self._server.getsockname()[1]
        self.cuts: list[int] = []
        self.cut_event = threading.Condition()
        threading.Thread(target=self._accept, daemon=True, name="sink-accept").start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._serve, args=(conn,), daemon=True, name="sink-conn").start()

    def _serve(self, conn: socket.socket) -> None:
        interpreter = EscposInterpreter(draw=False)  # the cuts are all it needs
        with conn:
            while data := conn.recv(65536):
                before = interpreter.cuts
                for action in interpreter.feed(data):
                    if isinstance(action, StatusRequest):
                        conn.sendall(bytes([encode_status_byte(action.n, OK, False)]))
                if interpreter.cuts > before:
                    stamp = now_ns()
                    with self.cut_event:
                        self.cuts.extend([stamp] * (interpreter.cuts - before))
                        self.cut_event.notify_all()
                # Keep memory flat: the lines are not needed here.
                interpreter.lines.clear()

    def wait_cuts(self, count: int, timeout: float) -> int:
        with self.cut_event:
            if not self.cut_event.wait_for(lambda: len(self.cuts) >= count, timeout):
                raise TimeoutError(f"sink saw {len(self.cuts)} of {count} cuts")
            return self.cuts[count - 1]

    def close(self) -> None:
        self._server.close()


def floor_latency(sink: Sink, jobs: int) -> list[float]:
    conn = socket.create_connection(("127.0.0.1", sink.port))
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    latencies = []
    for number in range(jobs):
        base = base_count(sink)
        start = now_ns()
        conn.sendall(escpos_dummy_bytes(number))
        end = sink.wait_cuts(base + 1, 10)
        latencies.append((end - start) / 1e6)
    conn.close()
    return latencies


def base_count(sink: Sink) -> int:
    with sink.cut_event:
        return len(sink.cuts)


def floor_throughput(sink: Sink, jobs: int) -> float:
    conn = socket.create_connection(("127.0.0.1", sink.port))
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    base = base_count(sink)
    start = now_ns()
    for number in range(jobs):
        conn.sendall(escpos_dummy_bytes(number))
    end = sink.wait_cuts(base + jobs, 60)
    conn.close()
    return jobs / ((end - start) / 1e9)


async def post_job(session: aiohttp.ClientSession, url: str, body: dict[str, Any]) -> None:
    async with session.post(url, json=body) as response:
        if response.status != 202:
            raise RuntimeError(f"job refused: {response.status} {await response.text()}")


async def posd_runs(
    port: int, token: str, sink: Sink, *, jobs: int, queue: int, make: Callable[[int], Any]
) -> tuple[list[float], float]:
    url = f"http://127.0.0.1:{port}/api/v1/printers/p/jobs"
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as session:
        base = base_count(sink)
        await post_job(session, url, make(-1))  # warm-up
        await asyncio.to_thread(sink.wait_cuts, base + 1, 10)
        latencies = []
        for number in range(jobs):
            base = base_count(sink)
            start = now_ns()
            await post_job(session, url, make(number))
            end = await asyncio.to_thread(sink.wait_cuts, base + 1, 10)
            latencies.append((end - start) / 1e6)
        base = base_count(sink)
        bodies = [make(number) for number in range(queue)]
        start = now_ns()
        pending = iter(bodies)

        async def client() -> None:
            for body in pending:
                await post_job(session, url, body)

        await asyncio.gather(*(client() for _ in range(8)))
        end = await asyncio.to_thread(sink.wait_cuts, base + queue, 120)
    return latencies, queue / ((end - start) / 1e9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=200, help="sequential jobs for the latency figure")
    parser.add_argument("--queue", type=int, default=500, help="jobs in the throughput run")
    parser.add_argument("--kind", choices=("document", "raw"), default="document")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--profile", type=Path, help="run posd under cProfile, write the stats here")
    args = parser.parse_args()
    print(f"print_latency — {machine_note()}")

    make: Callable[[int], Any]
    if args.kind == "document":
        make = lambda n: {"document": document(n)}  # noqa: E731
    else:
        make = lambda n: {"raw": base64.b64encode(raw_bytes(n)).decode()}  # noqa: E731

    sink = Sink()
    with tempfile.TemporaryDirectory(prefix="posd-print-bench-") as tmp:
        work = Path(tmp)
        config = work / "posd.toml"
        config.write_text(
            '[[devices]]\nid = "p"\ndriver = "escpos"\n'
            f'transport = {{ type = "tcp", host = "127.0.0.1", port = {sink.port} }}\n'
        )
        state = work / "state"
        command = [posd_executable()]
        if args.profile is not None:
            command = [sys.executable, "-m", "cProfile", "-o", str(args.profile), "-m", "daemon"]
        argv = [*command, "serve", "--config", str(config), "--state-dir", str(state), "--port", "0"]
        with Child("posd", argv, work / "posd.log") as child:
            match, _ = child.wait_line(READY_RE, 30)
            port = int(match.group(1))
            token = (state / "admin.token").read_text().strip()
            wait_device_ready(port, token, "p", 10)
            latencies, throughput = asyncio.run(
                posd_runs(port, token, sink, jobs=args.jobs, queue=args.queue, make=make)
            )
        floor_lat = floor_latency(sink, args.jobs)
        floor_tp = floor_throughput(sink, args.queue)
    sink.close()

    p50, floor_p50 = percentile(latencies, 50), percentile(floor_lat, 50)
    rows = [
        ["posd", f"{p50:.3f}", f"{percentile(latencies, 99):.3f}", f"{throughput:.0f}"],
        ["floor (escpos Dummy → socket)", f"{floor_p50:.3f}", f"{percentile(floor_lat, 99):.3f}", f"{floor_tp:.0f}"],
    ]
    print(
        f"\n{args.kind} jobs of {LINES} lines; latency over {args.jobs} sequential jobs, throughput over {args.queue}"
    )
    print_table(["", "accept→last byte p50 ms", "p99 ms", "jobs/s"], rows)
    print(f"\n  p50 ratio posd/floor {ratio(p50, floor_p50):.2f}")
    print(f"  {verdict(p50 <= 5.0)} accept → last byte p50 ≤ 5 ms ({p50:.3f} ms)")
    print(f"  {verdict(throughput >= 150)} 500 jobs in a row ≥ 150 jobs/s ({throughput:.0f} jobs/s)")
    save_json(
        args.json,
        {
            "kind": args.kind,
            "posd_p50_ms": p50,
            "floor_p50_ms": floor_p50,
            "posd_jobs_per_s": throughput,
            "floor_jobs_per_s": floor_tp,
        },
    )


if __name__ == "__main__":
    main()
