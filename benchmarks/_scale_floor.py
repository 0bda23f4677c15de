"""The floor for scale → WebSocket latency: the least an asyncio + aiohttp process can do for the same job.

It reads a pseudo-terminal with ``loop.add_reader``, cuts Toledo continuous frames (18 bytes from STX; no
checksum, status or decimal checks), and when the weight digits change sends a JSON event of the same
shape as posd's ``scale.weight`` to every WebSocket client from one task. No auth (the first message is
read and ignored, then ``{"type":"hello"}``), no bus, no per-client queues.

Prints ``floor ready on http://127.0.0.1:PORT``; runs until SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from datetime import UTC, datetime

from aiohttp import WSMsgType, web

FRAME = 18


class Floor:
    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.clients: set[web.WebSocketResponse] = set()
        self.buffer = b""
        self.last = b""
        self.seq = 0
        self.tasks: set[asyncio.Task[None]] = set()

    def on_readable(self) -> None:
        try:
            data = os.read(self.fd, 65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            return
        buffer = self.buffer + data
        payloads = []
        while True:
            start = buffer.find(b"\x02")
            if start < 0 or len(buffer) - start < FRAME:
                buffer = buffer[start:] if start >= 0 else b""
                break
            digits = buffer[start + 4 : start + 10]
            buffer = buffer[start + FRAME :]
            if digits != self.last:
                self.last = digits
                payloads.append(self.payload(digits))
        self.buffer = buffer
        if payloads and self.clients:
            task = asyncio.get_running_loop().create_task(self.broadcast(payloads))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    def payload(self, digits: bytes) -> str:
        self.seq += 1
        stamp = datetime.fromtimestamp(time.time(), UTC).isoformat(timespec="milliseconds")
        value = int(digits) / 1000
        data = {"value": value, "unit": "kg", "stable": True, "status": "stable"}
        event = {"seq": self.seq, "time": stamp, "topic": "scale.weight", "device": "scale-1", "data": data}
        return json.dumps(event, separators=(",", ":"))

    async def broadcast(self, payloads: list[str]) -> None:
        for ws in tuple(self.clients):
            for payload in payloads:
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await ws.send_str(payload)

    async def handler(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(heartbeat=20.0, compress=False)
        await ws.prepare(request)
        try:
            await ws.receive(timeout=5.0)
        except TimeoutError:
            await ws.close()
            return ws
        await ws.send_str(json.dumps({"type": "hello", "seq": self.seq}))
        self.clients.add(ws)
        try:
            async for msg in ws:
                if msg.type is WSMsgType.ERROR:
                    break
        finally:
            self.clients.discard(ws)
        return ws


async def serve(pty_path: str, port: int) -> None:
    fd = os.open(pty_path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    floor = Floor(fd)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    app = web.Application()
    app.router.add_get("/api/v1/events", floor.handler)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, shutdown_timeout=1.0)
    await site.start()
    loop.add_reader(fd, floor.on_readable)
    print(f"floor ready on http://127.0.0.1:{runner.addresses[0][1]}", flush=True)
    try:
        await stop.wait()
    finally:
        loop.remove_reader(fd)
        for ws in tuple(floor.clients):
            with contextlib.suppress(Exception):
                await ws.close()
        await runner.cleanup()
        os.close(fd)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pty", required=True)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    asyncio.run(serve(args.pty, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
