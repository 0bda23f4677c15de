"""One benchmark WebSocket client, run as its own process by the benchmarks (not a benchmark itself).

Protocol, the same against posd and against the floor server: connect, send ``{"type":"auth",...}``,
wait for ``{"type":"hello"}``, print ``READY``. Then record ``CLOCK_MONOTONIC`` ns the moment each event
frame is handed over by ``ws.receive()`` (before any parsing), with the sequence number embedded in the
scanned label. An end label (kind ``E``), the socket closing or ``--timeout`` ends the run; the client
prints ``RESULT {"connections": [{"seqs": [...], "times_ns": [...], "closed": why}, ...]}`` on one line
and exits. ``--connections N`` opens N WebSockets on this process's one event loop (default 1).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

import aiohttp
from _common import KIND_END, KIND_SCAN, parse_label


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--timeout", type=float, default=60.0, help="give up after this many seconds")
    parser.add_argument("--connections", type=int, default=1, help="WebSockets on this process's loop")
    args = parser.parse_args()
    results = asyncio.run(run(args.url, args.token, args.timeout, args.connections))
    sys.stdout.write("RESULT " + json.dumps({"connections": results}, separators=(",", ":")) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
