"""The floor for scale → WebSocket latency: the least an asyncio + aiohttp process can do for the same job.

It reads a pseudo-terminal with ``loop.add_reader``, cuts Toledo continuous frames (18 bytes from STX; no
checksum, status or decimal checks), and when the weight digits change sends a JSON event of the same
shape as posd's ``scale.weight`` to every WebSocket client from one task. No auth (the first message is
read and ignored, then ``{"type":"hello"}``), no bus, no per-client queues.

Prints ``floor ready on http://127.0.0.1:PORT``; runs until SIGTERM/SIGINT.
"""

from __future__ import annotations

import sys

from _floor_server import Floor, main

FRAME = 18


class ScaleFloor(Floor):
    def __init__(self, fd: int) -> None:
        super().__init__(fd)
        self.last = b""

    def payloads(self, data: bytes) -> list[str]:
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
                weight = {"value": int(digits) / 1000, "unit": "kg", "stable": True, "status": "stable"}
                payloads.append(self.event("scale.weight", "scale-1", weight))
        self.buffer = buffer
        return payloads


if __name__ == "__main__":
    sys.exit(main(ScaleFloor, __doc__))
