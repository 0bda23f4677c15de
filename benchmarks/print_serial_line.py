"""A serial receipt printer at 115200 baud: how busy is the line while a queue of jobs drains?

The printer is a pty whose device side is read by a thread that models the wire: it takes bytes at
most at 11,520 bytes/s (115200 baud, 8N1), interprets them with the project's ESC/POS interpreter and
answers DLE EOT only once the bytes before it have "arrived" (real-time requests queue behind job data
on the wire). The daemon runs as a subprocess with an ``escpos`` printer on the pty at 115200.

Busy fraction = (bytes × 1/11,520 s) / (wall time from the first byte to the last), while N receipts
queued at once drain. 100 % would be back-to-back bytes; the gaps are posd's per-job work (journal
commits, the status check before each job, events). Target ≥ 90 %. The floor is the wire itself.

Usage: ``python benchmarks/print_serial_line.py [--jobs 30]``
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import tempfile
import threading
import time
import tty
from pathlib import Path

import aiohttp
from _common import READY_RE, Child, machine_note, posd_executable, save_json, verdict, wait_device_ready

from drivers.escpos.codec import encode_status_byte
from drivers.escpos.interpreter import EscposInterpreter, StatusRequest
from drivers.models import PrinterStatus

BYTES_PER_S = 11520
OK = PrinterStatus(online=True, paper="ok", cover="closed")


def receipt(number: int) -> bytes:
    lines = [f"ORDER {number}"] + [f"{i:02d} PAO DE QUEIJO 100G      1 x 12,50" for i in range(38)] + ["TOTAL 450,00"]
    return b"\x1b@" + "\n".join(lines).encode("cp437") + b"\n\x1dV\x00"


class Wire:
    """The printer end of a 115200-baud line."""

    def __init__(self) -> None:
        self.master, slave = os.openpty()
        tty.setraw(self.master)
        tty.setraw(slave)
        self.path = os.ttyname(slave)
        self._slave = slave  # kept open so the master never sees a hang-up between daemon sessions
        self.job_bytes = 0
        self.first_job_byte: float | None = None
        self.last_byte_done = 0.0
        self.cuts = 0
        self.counting = False
        self._stop = False
        threading.Thread(target=self._run, daemon=True, name="wire").start()

    def _run(self) -> None:
        interpreter = EscposInterpreter()
        while not self._stop:
            try:
                chunk = os.read(self.master, 256)
            except OSError:
                return
            start = time.monotonic()
            # The wire takes len/11520 s for these bytes; model it, then let the printer act on them.
            done = max(start, self.last_byte_done) + len(chunk) / BYTES_PER_S
            time.sleep(max(0.0, done - time.monotonic()))
            self.last_byte_done = done
            before = interpreter.cuts
            for action in interpreter.feed(chunk):
                if isinstance(action, StatusRequest):
                    os.write(self.master, bytes([encode_status_byte(action.n, OK, False)]))
            interpreter.lines.clear()
            if self.counting:
                if self.first_job_byte is None:
                    self.first_job_byte = start
                self.job_bytes += len(chunk)
            self.cuts += interpreter.cuts - before

    def close(self) -> None:
        self._stop = True
        os.close(self._slave)
        os.close(self.master)


async def submit(port: int, token: str, jobs: int) -> None:
    url = f"http://127.0.0.1:{port}/api/v1/printers/p/jobs"
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as session:
        for number in range(jobs):
            body = {"raw": base64.b64encode(receipt(number)).decode()}
            async with session.post(url, json=body) as response:
                assert response.status == 202, await response.text()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=30)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    print(f"print_serial_line — {machine_note()}")
    wire = Wire()
    with tempfile.TemporaryDirectory(prefix="posd-serial-bench-") as tmp:
        work = Path(tmp)
        config = work / "posd.toml"
        config.write_text(
            '[[devices]]\nid = "p"\ndriver = "escpos"\n'
            f'transport = {{ type = "serial", port = "{wire.path}", baudrate = 115200 }}\n'
        )
        state = work / "state"
        argv = [posd_executable(), "serve", "--config", str(config), "--state-dir", str(state), "--port", "0"]
        with Child("posd", argv, work / "posd.log") as child:
            match, _ = child.wait_line(READY_RE, 30)
            port = int(match.group(1))
            token = (state / "admin.token").read_text().strip()
            wait_device_ready(port, token, "p", 10)
            wire.counting = True
            asyncio.run(submit(port, token, args.jobs))
            deadline = time.monotonic() + 60 + args.jobs * 2
            while wire.cuts < args.jobs and time.monotonic() < deadline:
                time.sleep(0.05)
            wire.counting = False
    wire.close()
    if wire.cuts < args.jobs or wire.first_job_byte is None:
        raise SystemExit(f"only {wire.cuts} of {args.jobs} receipts arrived")
    elapsed = wire.last_byte_done - wire.first_job_byte
    on_wire = wire.job_bytes / BYTES_PER_S
    busy = on_wire / elapsed
    print(f"\n{args.jobs} receipts, {wire.job_bytes} bytes (status polls included) at 115200 baud")
    print(f"  bytes need {on_wire:.2f} s of line time; the queue took {elapsed:.2f} s")
    print(f"  line busy {busy * 100:.1f} %  (floor: the wire itself, 100 %)")
    print(f"  {verdict(busy >= 0.90)} line busy ≥ 90 % while the queue drains")
    save_json(args.json, {"jobs": args.jobs, "bytes": wire.job_bytes, "elapsed_s": elapsed, "busy": busy})


if __name__ == "__main__":
    main()
