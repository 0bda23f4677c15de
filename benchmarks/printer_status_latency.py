"""Printer status: a change at the printer → the ``printer.status`` event at a WebSocket client.

Setup: two TCP 9100 sinks in threads of this process stand in for two printers. Each runs the project's
ESC/POS interpreter, answers DLE EOT from its current state and, once the host has sent ``GS a n``, sends a
4-byte Automatic Status Back message whenever its state changes (as the simulator does). The real daemon runs
as a subprocess with one ``escpos`` printer per sink: ``poll`` (the default: DLE EOT every 0.2 s) and ``asb``
(``status = "asb"``). A WebSocket client in this process takes the events.

- t0: the sink's paper sensor flips (ok ↔ near_end) — for ``asb`` the message is sent at that moment;
  t1: the client receives the matching ``printer.status`` event. Both CLOCK_MONOTONIC, same process.
- floor (same run): a plain TCP client connected straight to an ASB-enabled sink, t1 = the 4 bytes arrive —
  what the wire and the kernel cost, with no daemon, no event bus, no WebSocket.

Target (issue 7): a change published within 500 ms.

Usage: ``python benchmarks/printer_status_latency.py [--changes 100]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import socket
import tempfile
import threading
from pathlib import Path
from typing import Literal

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

from drivers.escpos.codec import asb_enable, encode_asb, encode_status_byte
from drivers.escpos.interpreter import EscposInterpreter, StatusRequest
from drivers.models import PrinterStatus

Paper = Literal["ok", "near_end"]


class StatusSink:
    """One printer: DLE EOT answers from its state, ASB messages on every change once GS a is on."""

    def __init__(self) -> None:
        self._server = socket.socket()
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen()
        self.port: int = self._server.getsockname()[1]
        self.paper: Paper = "ok"
        self._lock = threading.Lock()
        self._connections: list[tuple[socket.socket, EscposInterpreter]] = []
        threading.Thread(target=self._accept, daemon=True, name="sink-accept").start()

    @property
    def status(self) -> PrinterStatus:
        return PrinterStatus(online=True, paper=self.paper, cover="closed")

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._serve, args=(conn,), daemon=True, name="sink-conn").start()

    def _serve(self, conn: socket.socket) -> None:
        interpreter = EscposInterpreter()
        with self._lock:
            self._connections.append((conn, interpreter))
        with conn:
            while True:
                try:
                    data = conn.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                with self._lock:
                    enabled_before = interpreter.asb_items
                    for action in interpreter.feed(data):
                        if isinstance(action, StatusRequest):
                            conn.sendall(bytes([encode_status_byte(action.n, self.status, False)]))
                    if interpreter.asb_items and not enabled_before:
                        conn.sendall(encode_asb(self.status, False))  # a printer reports once when enabled
                    interpreter.lines.clear()

    def flip(self) -> tuple[Paper, int]:
        """Change the paper sensor; send ASB where enabled. Returns the new value and t0."""
        with self._lock:
            self.paper = "near_end" if self.paper == "ok" else "ok"
            start = now_ns()
            for conn, interpreter in self._connections:
                if interpreter.asb_items:
                    with contextlib.suppress(OSError):
                        conn.sendall(encode_asb(self.status, False))
            return self.paper, start

    def close(self) -> None:
        self._server.close()


async def posd_latencies(port: int, token: str, sinks: dict[str, StatusSink], changes: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {name: [] for name in sinks}
    url = f"http://127.0.0.1:{port}/api/v1/events?topics=printer.status"
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        await ws.send_json({"type": "auth", "token": token})
        hello = json.loads((await ws.receive(timeout=10)).data)
        assert hello["type"] == "hello", hello
        for _ in range(changes):
            for name, sink in sinks.items():
                # Flips land anywhere in the 0.2 s between two polls, not just after the last one.
                await asyncio.sleep(random.uniform(0.0, 0.25))
                paper, start = sink.flip()
                while True:
                    message = await ws.receive(timeout=10)
                    end = now_ns()
                    event = json.loads(message.data)
                    if event.get("device") == name and event["data"]["paper"] == paper:
                        break
                out[name].append((end - start) / 1e6)
    return out


async def floor_latencies(sink: StatusSink, changes: int) -> list[float]:
    reader, writer = await asyncio.open_connection("127.0.0.1", sink.port)
    writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    writer.write(asb_enable())
    await asyncio.wait_for(reader.readexactly(4), 10)  # the message sent at enable
    latencies = []
    for _ in range(changes):
        await asyncio.sleep(random.uniform(0.0, 0.25))
        _, start = sink.flip()
        await asyncio.wait_for(reader.readexactly(4), 10)
        latencies.append((now_ns() - start) / 1e6)
    writer.close()
    await writer.wait_closed()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--changes", type=int, default=100, help="paper sensor changes per printer")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    print(f"printer_status_latency — {machine_note()}")

    sinks = {"poll": StatusSink(), "asb": StatusSink()}
    floor_sink = StatusSink()
    with tempfile.TemporaryDirectory(prefix="posd-status-bench-") as tmp:
        work = Path(tmp)
        config = work / "posd.toml"
        config.write_text(
            "".join(
                f'[[devices]]\nid = "{name}"\ndriver = "escpos"\n'
                f'transport = {{ type = "tcp", host = "127.0.0.1", port = {sink.port} }}\n'
                f'options = {{ status = "{name}" }}\n'
                for name, sink in sinks.items()
            )
        )
        state = work / "state"
        argv = [posd_executable(), "serve", "--config", str(config), "--state-dir", str(state), "--port", "0"]
        with Child("posd", argv, work / "posd.log") as child:
            match, _ = child.wait_line(READY_RE, 30)
            port = int(match.group(1))
            token = (state / "admin.token").read_text().strip()
            for name in sinks:
                wait_device_ready(port, token, name, 10)
            results = asyncio.run(posd_latencies(port, token, sinks, args.changes))
        floor = asyncio.run(floor_latencies(floor_sink, args.changes))
    for sink in (*sinks.values(), floor_sink):
        sink.close()

    floor_p50 = percentile(floor, 50)
    rows = []
    for label, values in (("poll (DLE EOT every 0.2 s)", results["poll"]), ("asb", results["asb"]), ("floor", floor)):
        p50 = percentile(values, 50)
        rows.append(
            [
                label,
                f"{p50:.2f}",
                f"{percentile(values, 95):.2f}",
                f"{max(values):.2f}",
                f"{ratio(p50, floor_p50):.1f}",
            ]
        )
    print(f"\nchange at the printer → printer.status at a WebSocket client, {args.changes} changes each")
    print_table(["", "p50 ms", "p95 ms", "max ms", "p50 / floor"], rows)
    for name in sinks:
        worst = max(results[name])
        print(f"  {verdict(worst <= 500)} {name}: every change published within 500 ms (max {worst:.1f} ms)")
    save_json(
        args.json,
        {
            "poll_p50_ms": percentile(results["poll"], 50),
            "poll_max_ms": max(results["poll"]),
            "asb_p50_ms": percentile(results["asb"], 50),
            "asb_max_ms": max(results["asb"]),
            "floor_p50_ms": floor_p50,
        },
    )


if __name__ == "__main__":
    main()
