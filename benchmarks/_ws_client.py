"""One benchmark WebSocket client, run as its own process by the benchmarks (not a benchmark itself).

Protocol, the same against posd and against the floor server: connect, send ``{"type":"auth",...}``,
wait for ``{"type":"hello"}``, print ``READY``. Then record ``CLOCK_MONOTONIC`` ns the moment each event
frame is handed over (before any JSON parsing), with the sequence number embedded in the scanned label.
An end label (kind ``E``), the socket closing or ``--timeout`` ends the run; the client prints
``RESULT {"connections": [{"seqs": [...], "times_ns": [...], "closed": why}, ...]}`` on one line and exits.

Two implementations (``--client``):

- ``aiohttp``: an asyncio program with aiohttp's client, stamping when ``ws.receive()`` returns. What a
  Python front end looks like; its own cost is large (an event-loop pass, a task wake-up and aiohttp's
  reader per frame, ~100+ µs of CPU here), and on a 2-core machine ten such clients queue for the CPU
  behind each other. ``--connections N`` opens N WebSockets on this process's one event loop.
- ``lean``: a blocking socket and the sans-I/O protocol of the ``websockets`` library, stamping when
  ``recv()`` returns the bytes that complete the frame; events are parsed after the run. The least a
  client can spend per frame, closer to a browser, whose WebSocket and JSON parser are native code.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
import time
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from _common import KIND_END, KIND_SCAN, parse_label
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Request, Response
from websockets.uri import parse_uri


async def one_connection(
    session: aiohttp.ClientSession, url: str, token: str, timeout: float, ready: asyncio.Event
) -> dict[str, object]:
    seqs: list[int] = []
    times_ns: list[int] = []
    closed = "timeout"
    clock = time.clock_gettime_ns
    mono = time.CLOCK_MONOTONIC
    deadline = time.monotonic() + timeout
    async with session.ws_connect(url, autoping=True, timeout=aiohttp.ClientWSTimeout(ws_close=2.0)) as ws:
        await ws.send_str(json.dumps({"type": "auth", "token": token}))
        hello = await ws.receive(timeout=10.0)
        if hello.type is not aiohttp.WSMsgType.TEXT or json.loads(hello.data).get("type") != "hello":
            raise RuntimeError(f"expected hello, got {hello.type} {hello.data!r}")
        ready.set()
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                msg = await ws.receive(timeout=remaining)
            except TimeoutError:
                break
            stamp = clock(mono)
            if msg.type is not aiohttp.WSMsgType.TEXT:
                closed = f"socket {msg.type.name}"
                break
            event = json.loads(msg.data)
            data = event.get("data")
            if not isinstance(data, dict) or "raw" not in data:
                continue  # hello / gap / anything that is not a scan
            kind, seq = parse_label(data["raw"])
            if kind == KIND_SCAN:
                seqs.append(seq)
                times_ns.append(stamp)
            elif kind == KIND_END:
                closed = "end label"
                break
    return {"seqs": seqs, "times_ns": times_ns, "closed": closed}


async def run(url: str, token: str, timeout: float, connections: int) -> list[dict[str, object]]:
    async with aiohttp.ClientSession() as session:
        readies = [asyncio.Event() for _ in range(connections)]
        tasks = [asyncio.create_task(one_connection(session, url, token, timeout, r)) for r in readies]
        waiting = asyncio.ensure_future(asyncio.gather(*(r.wait() for r in readies)))
        watched: list[asyncio.Future[Any]] = [waiting, *tasks]
        done, _ = await asyncio.wait(watched, timeout=30.0, return_when=asyncio.FIRST_COMPLETED)
        if waiting not in done:
            waiting.cancel()
            for task in done:
                task.result()  # a connection that failed before hello: raise its error
            raise RuntimeError("connections not ready within 30 s")
        print("READY", flush=True)
        return list(await asyncio.gather(*tasks))


#: What only an end label's event carries: its AIM id and kind (labels are ``]C0<kind><seq>…``).
END_MARK = b"]C0" + KIND_END.encode()


def scans_in(frames: list[tuple[int, bytes | bytearray]]) -> dict[str, object]:
    """The (seq, time) of every scan among ``(stamp, payload)`` text frames, in arrival order."""
    seqs: list[int] = []
    times_ns: list[int] = []
    for stamp, payload in frames:
        data = json.loads(payload).get("data")
        if isinstance(data, dict) and "raw" in data:
            kind, seq = parse_label(data["raw"])
            if kind == KIND_SCAN:
                seqs.append(seq)
                times_ns.append(stamp)
    return {"seqs": seqs, "times_ns": times_ns}


class LeanConnection:
    """The frames of one lean connection: hello first, then events, until the end label."""

    def __init__(self, protocol: ClientProtocol, token: str) -> None:
        self.protocol = protocol
        self.token = token
        self.frames: list[tuple[int, bytes | bytearray]] = []
        self.ready = False
        self.closed = ""

    def handle(self, event: Response | Frame, stamp: int) -> None:
        if isinstance(event, Response):
            if event.status_code != 101:
                raise RuntimeError(f"upgrade refused: {event.status_code}")
            self.protocol.send_text(json.dumps({"type": "auth", "token": self.token}).encode())
        elif event.opcode is Opcode.CLOSE:
            self.closed = "socket CLOSE"
        elif event.opcode is Opcode.TEXT:
            # A received frame holds the reader's bytearray (bytes once unmasked or inflated), never a memoryview.
            assert isinstance(event.data, bytes | bytearray)
            self.text(event.data, stamp)
        # Pings: the protocol queues the pong, which the caller flushes.

    def text(self, data: bytes | bytearray, stamp: int) -> None:
        if not self.ready:  # the first message is hello
            if json.loads(data).get("type") != "hello":
                raise RuntimeError(f"expected hello, got {data!r}")
            self.ready = True
            print("READY", flush=True)
        elif END_MARK in data:
            self.closed = "end label"
        else:
            self.frames.append((stamp, data))


def run_lean(url: str, token: str, timeout: float) -> list[dict[str, object]]:
    """One connection on a blocking socket; see the module docstring."""
    # aiohttp takes http:// URLs for WebSockets; the protocol wants the ws:// spelling of the same address.
    protocol = ClientProtocol(parse_uri("ws" + url.removeprefix("http")))
    address = urlsplit(url)
    sock = socket.create_connection((address.hostname, address.port), timeout=10.0)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    connection = LeanConnection(protocol, token)
    protocol.send_request(protocol.connect())
    clock = time.clock_gettime_ns
    mono = time.CLOCK_MONOTONIC
    deadline = time.monotonic() + timeout
    with sock:
        while not connection.closed:
            for chunk in protocol.data_to_send():  # the upgrade, the auth message, pongs
                if chunk:
                    sock.sendall(chunk)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                connection.closed = "timeout"
                break
            sock.settimeout(remaining)
            try:
                data = sock.recv(65536)
            except TimeoutError:
                connection.closed = "timeout"
                break
            stamp = clock(mono)
            if not data:
                connection.closed = "socket closed"
                break
            protocol.receive_data(data)
            for event in protocol.events_received():
                assert not isinstance(event, Request)  # only a server receives requests
                connection.handle(event, stamp)
    return [{**scans_in(connection.frames), "closed": connection.closed}]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--timeout", type=float, default=60.0, help="give up after this many seconds")
    parser.add_argument("--connections", type=int, default=1, help="WebSockets on this process's loop")
    parser.add_argument("--client", choices=("aiohttp", "lean"), default="aiohttp", help="see the docstring")
    args = parser.parse_args()
    if args.client == "lean":
        if args.connections != 1:
            parser.error("--client lean opens one connection per process")
        results = run_lean(args.url, args.token, args.timeout)
    else:
        results = asyncio.run(run(args.url, args.token, args.timeout, args.connections))
    sys.stdout.write("RESULT " + json.dumps({"connections": results}, separators=(",", ":")) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
