"""Scan → WebSocket latency while receipts print, against the same daemon's latency with no printing.

A till scans the next customer's items while the last receipt prints: the job's CPU work (validating and
rendering a document, scanning a raw job for drawer kicks, counting its lines for the statistics) must not
hold up the scans. This measures how much it does.

Setup: one real ``posd serve`` subprocess with a ``serial-scanner`` on a pseudo-terminal and an ``escpos``
printer on a TCP sink in this process (``print_latency.Sink``: it runs the ESC/POS interpreter and answers
status requests). One lean WebSocket client process (``_ws_client.py --client lean``) subscribes to
``scanner.scan``. Scans are written to the pty every 5–10 ms (random gaps), as in ``scan_latency.py``.

For each job kind, in alternating phases of the same run:

- ``idle`` (the floor): scans only;
- ``printing``: the same scans while a thread posts jobs of that kind back to back (the next job goes
  as soon as the sink saw the previous one's cut).

Job kinds (``--kinds``):

- ``document``: the NFC-e receipt of ``render_receipt.py`` (a 384×120 PNG logo, 40 rows, a QR code);
- ``legacy-raw``: raw ESC/POS as older POS software sends it: ESC @, a 576-dot logo as ten ESC * 24-dot
  bands, 40 text lines, a cut (18.8 kB);
- ``big-raw``: 1 MB of raw text lines and a cut (what one careless client can send).

Reported: scan latency p50 / p99 / max per phase and the printing ÷ idle ratios; jobs printed per phase.
``--posd-src DIR`` runs the daemon from another checkout (``PYTHONPATH=DIR``), to compare before/after.

Usage: ``python benchmarks/scan_while_printing.py [--scans 400] [--rounds 2] [--kinds document legacy-raw big-raw]``
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import (
    KIND_END,
    KIND_SCAN,
    KIND_WARMUP,
    BenchError,
    Pty,
    Server,
    Summary,
    collect_results,
    first_deliveries,
    machine_note,
    make_label,
    print_table,
    ratio,
    save_json,
    start_clients,
    start_posd,
    stop_all,
)
from print_latency import Sink
from render_receipt import document_json, logo_png

PRINTER_ID = "printer-1"
LABEL_BYTES = 24


def legacy_raw(number: int) -> bytes:
    rng = random.Random(number)
    bands = b"".join(b"\x1b*\x21" + (576).to_bytes(2, "little") + rng.randbytes(576 * 3) + b"\n" for _ in range(10))
    text = b"".join(b"%02d PAO DE QUEIJO 100G      1 x 12,50\n" % i for i in range(40))
    return b"\x1b@" + bands + f"ORDER {number}\n".encode() + text + b"\x1dV\x00"


def big_raw(number: int) -> bytes:
    line = b"%08d posd big raw job line, forty chars\n"
    return b"\x1b@" + b"".join(line % (number * 100_000 + i) for i in range(1024 * 1024 // 40)) + b"\x1dV\x00"


def job_bodies(kind: str) -> Callable[[int], dict[str, Any]]:
    if kind == "document":
        logo = base64.b64encode(logo_png()).decode()
        return lambda n: {"document": document_json(n, logo)}
    make = legacy_raw if kind == "legacy-raw" else big_raw
    return lambda n: {"raw": base64.b64encode(make(n)).decode()}


def printer_table(sink_port: int) -> str:
    return (
        "[[devices]]\n"
        f'id = "{PRINTER_ID}"\n'
        'driver = "escpos"\n'
        f'transport = {{ type = "tcp", host = "127.0.0.1", port = {sink_port} }}\n'
    )


class Printing:
    """A thread that posts jobs one after another, each once the sink has cut the previous one."""

    def __init__(self, server: Server, sink: Sink, body: Callable[[int], dict[str, Any]], first: int) -> None:
        self._server, self._sink, self._body = server, sink, body
        self._number = first
        self._stop = threading.Event()
        self.printed = 0
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="printing", daemon=True)

    def __enter__(self) -> Printing:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60.0)

    def _post(self, body: dict[str, Any]) -> None:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self._server.port}/api/v1/printers/{PRINTER_ID}/jobs",
            data=json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self._server.token}", "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30.0) as response:
            if response.status != 202:
                raise BenchError(f"job refused: {response.status}")

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                cuts = len(self._sink.cuts)
                self._post(self._body(self._number))
                self._number += 1
                self._sink.wait_cuts(cuts + 1, timeout=60.0)
                self.printed += 1
        except (OSError, urllib.error.URLError, BenchError, TimeoutError) as err:
            self.error = err


def scan_phase(server: Server, pty: Pty, workdir: Path, tag: str, scans: int) -> tuple[list[int], int]:
    """One lean client; warm-up scans, ``scans`` timed scans; latencies (ns) and the number lost."""
    rng = random.Random(tag)
    clients = start_clients(server, 1, workdir, tag, timeout=scans * 0.05 + 60.0, implementation="lean")
    try:
        for i in range(20):
            time.sleep(rng.uniform(0.005, 0.010))
            pty.write(make_label(KIND_WARMUP, i, LABEL_BYTES))
        sent_ns: dict[int, int] = {}
        for seq in range(scans):
            time.sleep(rng.uniform(0.005, 0.010))
            sent_ns[seq] = pty.write(make_label(KIND_SCAN, seq, LABEL_BYTES))
        time.sleep(0.05)
        pty.write(make_label(KIND_END, 0, LABEL_BYTES))
        results = collect_results(clients, timeout=60.0)
    finally:
        stop_all(clients)
    pty.drain_input()
    delivered, lost = first_deliveries(results, sent_ns)
    return [t1 - sent_ns[seq] for seq, t1 in delivered], lost


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scans", type=int, default=400, help="timed scans per phase")
    parser.add_argument("--rounds", type=int, default=2, help="idle/printing phase pairs per kind")
    parser.add_argument("--kinds", nargs="+", default=["document", "legacy-raw", "big-raw"])
    parser.add_argument("--posd-src", type=Path, help="run the daemon from this checkout (PYTHONPATH)")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()

    print(f"# scan → WebSocket while printing — {machine_note()}")
    sink = Sink()
    pty = Pty.open()
    rows: list[list[str]] = []
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="posd-bench-") as tmp:
        workdir = Path(tmp)
        server = start_posd(
            workdir, pty.path, extra_devices={PRINTER_ID: printer_table(sink.port)}, source=args.posd_src
        )
        try:
            number = 1
            for kind in args.kinds:
                body = job_bodies(kind)
                idle: list[int] = []
                busy: list[int] = []
                lost = printed = 0
                for round_index in range(args.rounds):
                    latencies, missing = scan_phase(server, pty, workdir, f"{kind}-idle-{round_index}", args.scans)
                    idle += latencies
                    lost += missing
                    with Printing(server, sink, body, number) as printing:
                        latencies, missing = scan_phase(server, pty, workdir, f"{kind}-busy-{round_index}", args.scans)
                    if printing.error is not None:
                        raise BenchError(f"printing {kind} failed: {printing.error!r}")
                    number += printing.printed + 1
                    printed += printing.printed
                    busy += latencies
                    lost += missing
                quiet, loaded = Summary.of_ns(idle), Summary.of_ns(busy)
                rows.append(
                    [
                        kind,
                        f"{quiet.p50_ms:.3f} / {quiet.p99_ms:.3f} / {quiet.max_ms:.2f}",
                        f"{loaded.p50_ms:.3f} / {loaded.p99_ms:.3f} / {loaded.max_ms:.2f}",
                        f"{ratio(loaded.p50_ms, quiet.p50_ms):.2f}",
                        f"{ratio(loaded.p99_ms, quiet.p99_ms):.2f}",
                        str(printed),
                        str(lost),
                    ]
                )
                figures[kind] = {"idle": vars(quiet), "printing": vars(loaded), "jobs": printed, "lost": lost}
        finally:
            server.child.stop()
            sink.close()
            pty.close()
    print_table(
        ["jobs", "idle p50/p99/max ms", "printing p50/p99/max ms", "p50 ×", "p99 ×", "jobs printed", "lost"], rows
    )
    save_json(args.json, {"machine": machine_note(), "posd_src": str(args.posd_src or ""), "kinds": figures})
    return 0


if __name__ == "__main__":
    sys.exit(main())
