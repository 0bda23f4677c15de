"""The floor for scan → WebSocket latency: the least an asyncio + aiohttp process can do for the same job.

It reads a pseudo-terminal with ``loop.add_reader`` (no pyserial, no StreamReader, no driver task),
splits on CR with ``bytes.split``, builds a JSON payload of the same shape and size as posd's
``scanner.scan`` event, and broadcasts it to every connected WebSocket with ``ws.send_str`` from one task.
No authentication (the client's first message is read and ignored, then ``{"type":"hello"}`` is sent
so the client code is identical), no event bus, no per-client queues, no filters.

Prints ``floor ready on http://127.0.0.1:PORT`` when listening; runs until SIGTERM/SIGINT. ``Floor`` and
``serve`` here also run the scale floor (``_scale_floor.py``), which only cuts frames differently.
"""

from __future__ import annotations

import abc
import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime

from aiohttp import WSMsgType, web

DEVICE_ID = "scanner-1"


class Floor(abc.ABC):
    """What every floor does: read the pty in a reader callback, broadcast payloads from one task, and
    serve the WebSocket (first message read and ignored, then hello). Subclasses cut the bytes into events."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.clients: set[web.WebSocketResponse] = set()
        self.buffer = b""
        self.seq = 0
        self.tasks: set[asyncio.Task[None]] = set()

    @abc.abstractmethod
    def payloads(self, data: bytes) -> list[str]:
        """The events in ``data`` (plus what ``self.buffer`` held), as JSON text."""

    def event(self, topic: str, device: str, data: dict[str, object]) -> str:
        self.seq += 1
        stamp = datetime.fromtimestamp(time.time(), UTC).isoformat(timespec="milliseconds")
        event = {"seq": self.seq, "time": stamp, "topic": topic, "device": device, "data": data}
        return json.dumps(event, separators=(",", ":"), ensure_ascii=False)

    def on_readable(self) -> None:
        try:
            data = os.read(self.fd, 65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            return  # EIO while the writer has the master closed
        payloads = self.payloads(data)
        if payloads and self.clients:
            task = asyncio.get_running_loop().create_task(self.broadcast(payloads))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def broadcast(self, payloads: list[str]) -> None:
        for ws in tuple(self.clients):
            for payload in payloads:
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await ws.send_str(payload)

    async def handler(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(heartbeat=20.0, compress=False, max_msg_size=64 * 1024)
        await ws.prepare(request)
        try:
            await ws.receive(timeout=5.0)  # the "auth" message, accepted unread
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


class ScanFloor(Floor):
    """Scans: split on CR, a payload of the same shape and size as posd's ``scanner.scan`` event."""

    def payloads(self, data: bytes) -> list[str]:
        *lines, self.buffer = (self.buffer + data).split(b"\r")
        return [self.payload(line) for line in lines if line]

    def payload(self, line: bytes) -> str:
        raw = line.decode("latin-1")
        aim = raw[:3] if raw.startswith("]") else None
        data: dict[str, object] = {
            "data": raw[3:] if aim else raw,
            "symbology": "CODE128",
            "aim": aim,
            "raw": raw,
            "gs1": None,
        }
        return self.event("scanner.scan", DEVICE_ID, data)


async def serve(make_floor: Callable[[int], Floor], pty_path: str, host: str, port: int) -> None:
    fd = os.open(pty_path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    floor = make_floor(fd)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    app = web.Application()
    app.router.add_get("/api/v1/events", floor.handler)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, shutdown_timeout=1.0)
    await site.start()
    loop.add_reader(fd, floor.on_readable)
    bound = runner.addresses[0][1]
    print(f"floor ready on http://{host}:{bound}", flush=True)
    try:
        await stop.wait()
    finally:
        loop.remove_reader(fd)
        for ws in tuple(floor.clients):
            with contextlib.suppress(Exception):
                await ws.close()
        await runner.cleanup()
        os.close(fd)


def main(make_floor: Callable[[int], Floor], description: str | None = __doc__) -> int:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--pty", required=True, help="pseudo-terminal slave path to read scans from")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    asyncio.run(serve(make_floor, args.pty, args.host, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main(ScanFloor))
