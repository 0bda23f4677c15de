"""Record transports: character devices read in fixed-size records (evdev input events, hidraw reports).

A kernel evdev node returns whole ``struct input_event`` records on every read, and a hidraw node one
whole report per read. Simulators stand in for both with a pseudo-terminal carrying the same bytes
(``PtyEndpoint``): a tty is a byte stream, so for ttys and FIFOs the records are cut from the stream
by size instead. Drivers read the same records either way — "typing through the same path a real one does".
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import os
import stat
from collections import deque
from typing import Any, NoReturn

from drivers.errors import NotSupported, TransportClosed, TransportTimeout
from drivers.transports.base import DEFAULT_OPEN_TIMEOUT, DEFAULT_WRITE_TIMEOUT, DataSink, Transport

#: Read size: many records per read while a burst is queued in the kernel (a scan is ~100 key records).
_READ_BYTES = 64 * 1024


def is_stream_node(fd: int) -> bool:
    """True for byte-stream stand-ins (tty, FIFO, socket) rather than a record device (evdev, hidraw)."""
    mode = os.fstat(fd).st_mode
    return os.isatty(fd) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


class _Node:
    """One open device node: its fd, the bytes read but not yet handed out, and how to cut them."""

    def __init__(self, path: str, fd: int, record_size: int) -> None:
        self.path = path
        self.fd = fd
        self.record_size = record_size
        self.stream = is_stream_node(fd)
        self.chunks: deque[bytes] = deque()
        self.partial = bytearray()

    def take(self) -> bytes | None:
        """Whole records ready to hand out (a device node: one read; a stream: every whole record)."""
        if not self.stream:
            return self.chunks.popleft() if self.chunks else None
        while self.chunks:
            self.partial += self.chunks.popleft()
        usable = len(self.partial) - len(self.partial) % self.record_size
        if usable == 0:
            return None
        records = bytes(self.partial[:usable])
        del self.partial[:usable]
        return records


class RecordTransport(Transport):
    """Reads records from one or more device nodes (merged in arrival order), non-blocking, on the loop."""

    #: Flags to open the nodes with (hidraw is written to as well; evdev is read only).
    open_flags = os.O_RDONLY

    def __init__(self, paths: list[str], record_size: int) -> None:
        self._paths = paths
        self._record_size = record_size
        self._nodes: list[_Node] = []
        self._closed_reason: str | None = None
        self._ready = asyncio.Event()
        self._next = 0
        self._sink: DataSink | None = None
        self._pushing: asyncio.Future[None] | None = None

    @abc.abstractmethod
    def _prepare(self, fd: int, path: str) -> None:
        """Device setup after open (exclusive grab, …); raise OSError to refuse the node."""

    def _open_all(self) -> list[_Node]:
        nodes: list[_Node] = []
        try:
            for path in self._paths:
                fd = os.open(path, self.open_flags | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
                nodes.append(_Node(path, fd, self._record_size))
                self._prepare(fd, path)
        except BaseException:
            for node in nodes:
                os.close(node.fd)
            raise
        return nodes

    async def open(self, timeout: float = DEFAULT_OPEN_TIMEOUT) -> None:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                # os.open of a device node can wait on its driver; keep it off the event loop.
                nodes = await loop.run_in_executor(None, self._open_all)
        except TimeoutError as err:
            raise TransportTimeout(f"opening {', '.join(self._paths)} timed out after {timeout}s") from err
        except OSError as err:
            raise TransportClosed(f"cannot open {err.filename or ', '.join(self._paths)}: {err.strerror}") from err
        self._nodes = nodes
        self._closed_reason = None
        self._ready = asyncio.Event()
        for node in nodes:
            loop.add_reader(node.fd, self._on_readable, node)

    def _on_readable(self, node: _Node) -> None:
        try:
            data = os.read(node.fd, _READ_BYTES)
        except BlockingIOError:
            return
        except OSError as err:
            # ENODEV: the evdev/hidraw node was removed (unplug); EIO: a pty stand-in hung up.
            self._lose(f"{node.path}: {os.strerror(err.errno) if err.errno else err}")
            return
        if not data:
            self._lose(f"{node.path}: device closed")
            return
        node.chunks.append(data)
        if self._sink is not None:
            self._push_ready()
        else:
            self._ready.set()

    def _lose(self, reason: str) -> None:
        if self._closed_reason is None:
            self._closed_reason = reason
        loop = asyncio.get_running_loop()
        for node in self._nodes:
            loop.remove_reader(node.fd)
        self._ready.set()
        self._finish_push(TransportClosed(self._closed_reason))

    def _take(self) -> bytes | None:
        # Round robin over the nodes so one busy node cannot starve the other.
        count = len(self._nodes)
        for offset in range(count):
            node = self._nodes[(self._next + offset) % count]
            records = node.take()
            if records is not None:
                self._next = (self._next + offset + 1) % count
                return records
        return None

    async def read(self, timeout: float, max_bytes: int = _READ_BYTES) -> bytes:
        """Whole records (at least one); raises TransportTimeout / TransportClosed."""
        if not self._nodes:
            raise TransportClosed(f"{self.transport_type} transport is not open")
        try:
            async with asyncio.timeout(timeout):
                while True:
                    records = self._take()
                    if records is not None:
                        return records
                    if self._closed_reason is not None:
                        raise TransportClosed(self._closed_reason)
                    self._ready.clear()
                    await self._ready.wait()
        except TimeoutError as err:
            raise TransportTimeout(f"no data within {timeout}s") from err

    async def stream(self, sink: DataSink) -> NoReturn:
        """Push mode: whole records to ``sink`` from the read callback (see :meth:`Transport.stream`)."""
        if not self._nodes:
            raise TransportClosed(f"{self.transport_type} transport is not open")
        if self._pushing is not None:
            raise RuntimeError("this transport is already in push mode")
        pushing: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sink, self._pushing = sink, pushing
        try:
            self._push_ready()  # what was read before push mode began
            if self._closed_reason is not None:
                self._finish_push(TransportClosed(self._closed_reason))
            await pushing
            raise AssertionError("push mode ends only by an exception")  # pragma: no cover
        finally:
            self._sink, self._pushing = None, None

    def _push_ready(self) -> None:
        while self._sink is not None and (records := self._take()) is not None:
            try:
                self._sink(records)
            except Exception as err:
                self._finish_push(err)

    def _finish_push(self, err: BaseException) -> None:
        pushing, self._sink = self._pushing, None
        if pushing is not None and not pushing.done():
            pushing.set_exception(err)

    async def write(self, data: bytes, timeout: float = DEFAULT_WRITE_TIMEOUT) -> None:
        raise NotSupported(f"{self.transport_type} transport is read-only")

    @property
    def is_open(self) -> bool:
        return bool(self._nodes) and self._closed_reason is None

    async def close(self) -> None:
        nodes, self._nodes = self._nodes, []
        if not nodes:
            return
        loop = asyncio.get_running_loop()
        for node in nodes:
            loop.remove_reader(node.fd)
            with contextlib.suppress(OSError):  # closing also releases an EVIOCGRAB
                os.close(node.fd)

    def describe(self) -> dict[str, Any]:
        return {"type": self.transport_type, "paths": list(self._paths)}

    def where(self) -> str:
        return f"{self.transport_type} {', '.join(self._paths)}"
