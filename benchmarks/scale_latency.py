"""Weight change at the scale → ``scale.weight`` WebSocket event: latency, against a floor in the same run.

A real ``posd serve`` drives one ``toledo-continuous`` scale on a pseudo-terminal; the benchmark is the
scale. It streams 18-byte continuous-output frames back to back, the weight changing every second frame,
and a WebSocket client (in this process) timestamps each ``scale.weight`` event.

**9600 baud accounted for**: a pty has no baud rate, so by default (``--pace 9600``) the benchmark writes
each byte at the time a 9600 8N1 line would deliver it (one byte per 1.042 ms; a frame takes 18.75 ms), so
the driver sees bytes arrive as from a real UART. Latency is measured from the moment the frame's **last
byte** is written — the earliest a receiver can know the frame is whole — to the event's arrival. The line
time itself (18.75 ms, physics) is reported beside it, not hidden in it. ``--pace none`` writes whole
frames at once (software latency only).

The floor (``_scale_floor.py``) does the least for the same job: add_reader on the pty, cut 18-byte frames,
send a JSON event of the same shape on change. Servers alternate (floor, posd, floor, posd …).
Timestamps are CLOCK_MONOTONIC. Target (issue 4): p99 ≤ 2 ms.

    .venv/bin/python benchmarks/scale_latency.py [--changes 300] [--rounds 2] [--pace 9600|none] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    HERE,
    PYTHON,
    READY_RE,
    Child,
    Pty,
    Summary,
    machine_note,
    now_ns,
    posd_executable,
    print_table,
    ratio,
    save_json,
    verdict,
    wait_device_ready,
)

from drivers.toledo.continuous import encode_frame

DEVICE = "scale-1"
BYTE_S_9600 = 10 / 9600  # start + 8 data + stop bits per byte
FRAMES_PER_CHANGE = 2
WARMUP = 20


def config_text(pty_path: str) -> str:
    return (
        "[[devices]]\n"
        f'id = "{DEVICE}"\n'
        'driver = "toledo-continuous"\n'
        f'transport = {{ type = "serial", port = "{pty_path}", baudrate = 9600, bytesize = 8, parity = "N" }}\n'
        "options = { reply_timeout_s = 10.0 }\n"
    )


def start_server(kind: str, workdir: Path, pty: Pty, name: str) -> tuple[Child, int, str]:
    if kind == "floor":
        child = Child(name, [PYTHON, str(HERE / "_scale_floor.py"), "--pty", pty.path], workdir / f"{name}.log")
        match, _ = child.wait_line(READY_RE, 30)
        return child, int(match.group(1)), ""
    config = workdir / f"{name}.toml"
    config.write_text(config_text(pty.path), encoding="utf-8")
    state = workdir / f"{name}-state"
    argv = [posd_executable(), "serve", "--config", str(config), "--state-dir", str(state), "--port", "0"]
    child = Child(name, argv, workdir / f"{name}.log")
    match, _ = child.wait_line(READY_RE, 30)
    port = int(match.group(1))
    token = (state / "admin.token").read_text("utf-8").strip()
    # The device is "ready" once the first frame arrived: prime the line.
    pty.write(encode_frame(Decimal(0), "kg", decimals=3))
    wait_device_ready(port, token, DEVICE, 30)
    return child, port, token


def value_of(index: int) -> Decimal:
    return Decimal(1000 + index % 9000).scaleb(-3)  # 1.000 … 9.999 kg, a new value each change


class Writer(threading.Thread):
    """Streams the frames, paced like a 9600-baud line; records when each change frame's last byte went in."""

    def __init__(self, pty: Pty, changes: int, pace: bool) -> None:
        super().__init__(name="scale-writer", daemon=True)
        self.pty, self.changes, self.pace = pty, changes, pace
        self.sent_ns: dict[str, int] = {}
        self.done = threading.Event()

    def run(self) -> None:
        next_at = time.monotonic()
        for index in range(WARMUP + self.changes):
            value = value_of(index)
            for repeat in range(FRAMES_PER_CHANGE):
                frame = encode_frame(value, "kg", decimals=3)
                if not self.pace:
                    stamp = self.pty.write(frame)
                    time.sleep(0.0188)  # a frame's line time, so the stream rate matches the paced one
                else:
                    for byte in frame:
                        delay = next_at - time.monotonic()
                        if delay > 0:
                            time.sleep(delay)
                        stamp = self.pty.write(bytes([byte]))
                        next_at += BYTE_S_9600
                if repeat == 0 and index >= WARMUP:
                    self.sent_ns[str(float(value))] = stamp
        self.done.set()


async def measure(port: int, token: str, pty: Pty, changes: int, pace: bool) -> tuple[list[int], int]:
    received: dict[str, int] = {}
    url = f"http://127.0.0.1:{port}/api/v1/events?topics=scale.weight"
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        await ws.send_str(json.dumps({"type": "auth", "token": token}))
        hello = json.loads((await ws.receive(timeout=10)).data)
        assert hello.get("type") == "hello", hello
        writer = Writer(pty, changes, pace)
        writer.start()
        deadline = time.monotonic() + 30 + changes * FRAMES_PER_CHANGE * 0.03
        while time.monotonic() < deadline:
            try:
                msg = await ws.receive(timeout=1.0)
            except TimeoutError:
                if writer.done.is_set():
                    break
                continue
            stamp = now_ns()
            if msg.type is not aiohttp.WSMsgType.TEXT:
                break
            event = json.loads(msg.data)
            if event.get("topic") == "scale.weight":
                received.setdefault(str(event["data"]["value"]), stamp)
        writer.join(5)
    latencies = [received[key] - sent for key, sent in writer.sent_ns.items() if key in received]
    return latencies, len(writer.sent_ns) - len(latencies)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--changes", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--pace", choices=["9600", "none"], default="9600")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    pace = args.pace == "9600"
    print(f"scale → WS latency, {args.changes} changes × {args.rounds} rounds, pace {args.pace}; {machine_note()}")
    results: dict[str, list[int]] = {"floor": [], "posd": []}
    lost = {"floor": 0, "posd": 0}
    with tempfile.TemporaryDirectory(prefix="posd-scale-bench-") as tmp:
        workdir = Path(tmp)
        for round_ in range(args.rounds):
            order = ("floor", "posd") if round_ % 2 == 0 else ("posd", "floor")
            for kind in order:
                pty = Pty.open()
                try:
                    child, port, token = start_server(kind, workdir, pty, f"{kind}{round_}")
                    with child:
                        latencies, missing = asyncio.run(measure(port, token, pty, args.changes, pace))
                finally:
                    pty.close()
                results[kind] += latencies
                lost[kind] += missing
    floor, posd = Summary.of_ns(results["floor"]), Summary.of_ns(results["posd"])
    line_ms = 18 * BYTE_S_9600 * 1000
    rows = [
        [name, str(s.count), f"{s.p50_ms:.3f}", f"{s.p99_ms:.3f}", f"{s.max_ms:.3f}", str(lost[name])]
        for name, s in (("floor", floor), ("posd", posd))
    ]
    print_table(["server", "events", "p50 ms", "p99 ms", "max ms", "lost"], rows)
    print(
        f"posd/floor: p50 {ratio(posd.p50_ms, floor.p50_ms):.2f}×, p99 {ratio(posd.p99_ms, floor.p99_ms):.2f}×; "
        f"line time of one frame at 9600 baud: {line_ms:.2f} ms (before the last byte, not included)"
    )
    print(f"target p99 ≤ 2 ms (posd, from the last byte): {verdict(posd.p99_ms <= 2.0)}")
    save_json(
        args.json,
        {
            "machine": machine_note(),
            "pace": args.pace,
            "floor": floor.__dict__,
            "posd": posd.__dict__,
            "lost": lost,
            "line_ms": line_ms,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
