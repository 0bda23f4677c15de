"""usblp transport: a USB printer through the kernel's usblp driver, as the character device /dev/usb/lpN.

The node is opened once, read and write, non-blocking, and driven from the event loop: writes go out as
the driver accepts them (``add_writer`` on EAGAIN), status bytes (usblp is bidirectional on most printers)
are read as they arrive. Unlike libusb (``type = "usb"``) this needs no detaching and no special rights
beyond the ``lp`` group, and it coexists with a kernel that binds usblp to every printer.

Two usblp details differ from a tty: a zero-length packet from the printer is an empty read, not end of
file, and a unidirectional printer answers reads with EINVAL (it has nothing to say). A tty or FIFO
(a simulator's stand-in) is read like any stream.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from drivers.errors import TransportClosed, TransportTimeout
from drivers.transports.base import DEFAULT_OPEN_TIMEOUT, DEFAULT_WRITE_TIMEOUT
from drivers.transports.records import RecordTransport, _Node

_LOGGER = logging.getLogger(__name__)

_READ_BYTES = 4096
#: Pause before writing again when the node said "writable" but still refused (usblp signals POLLOUT
#: while out of paper although a write would block).
_WRITE_RETRY_S = 0.01


class UsblpSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["file"] = "file"
    path: str = Field(
        description="The printer's character device: /dev/usb/lpN of the kernel's usblp driver (prefer a stable "
        "udev link, /dev/posd/…)."
    )


class UsblpTransport(RecordTransport):
    transport_type = "file"
    open_flags = os.O_RDWR

    def __init__(self, settings: UsblpSettings) -> None:
        super().__init__([settings.path], record_size=1)
        self.settings = settings
        self._write_lock = asyncio.Lock()
        self._write_ready: asyncio.Future[None] | None = None

    def _prepare(self, fd: int, path: str) -> None:
        return None

    async def open(self, timeout: float = DEFAULT_OPEN_TIMEOUT) -> None:
        try:
            await super().open(timeout)
        except PermissionError as err:  # epoll refuses a regular file or /dev/null: nothing to wait on
            await self.close()
            raise TransportClosed(
                f"cannot open {self.settings.path}: not a pollable character device such as /dev/usb/lpN"
            ) from err

    def _on_readable(self, node: _Node) -> None:
        if node.stream:
            super()._on_readable(node)
            return
        try:
            data = os.read(node.fd, _READ_BYTES)
        except BlockingIOError:
            return
        except OSError as err:
            if err.errno == errno.EINVAL:
                _LOGGER.warning("%s: the printer is unidirectional; no status can be read", node.path)
                asyncio.get_running_loop().remove_reader(node.fd)
                return
            self._lose(f"{node.path}: {os.strerror(err.errno) if err.errno else err}")  # ENODEV: unplugged
            return
        if data:  # usblp returns a zero-length packet as an empty read: not end of file
            node.chunks.append(data)
            self._ready.set()

    async def write(self, data: bytes, timeout: float = DEFAULT_WRITE_TIMEOUT) -> None:
        if not self._nodes:
            raise TransportClosed("file transport is not open")
        fd = self._nodes[0].fd
        pending = memoryview(data)
        async with self._write_lock:
            try:
                async with asyncio.timeout(timeout):
                    refused_when_writable = False
                    while pending:
                        if self._closed_reason is not None:
                            raise TransportClosed(self._closed_reason)
                        try:
                            written = os.write(fd, pending)
                        except BlockingIOError:
                            if refused_when_writable:
                                await asyncio.sleep(_WRITE_RETRY_S)
                            await self._writable(fd)
                            refused_when_writable = True
                            continue
                        refused_when_writable = False
                        pending = pending[written:]
            except TimeoutError as err:
                sent = len(data) - len(pending)
                raise TransportTimeout(f"write of {len(data)} bytes timed out after {timeout}s ({sent} sent)") from err
            except OSError as err:
                reason = f"{self.settings.path}: write failed: {os.strerror(err.errno) if err.errno else err}"
                self._lose(reason)
                raise TransportClosed(reason) from err

    async def _writable(self, fd: int) -> None:
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()
        self._write_ready = ready

        def on_writable() -> None:
            if not ready.done():
                ready.set_result(None)

        loop.add_writer(fd, on_writable)
        try:
            await ready
        finally:
            self._write_ready = None
            if self._nodes:  # after close the fd number may already belong to someone else
                loop.remove_writer(fd)

    async def close(self) -> None:
        if self._nodes:
            asyncio.get_running_loop().remove_writer(self._nodes[0].fd)
            if self._closed_reason is None:
                self._closed_reason = "file transport closed"
        if self._write_ready is not None and not self._write_ready.done():
            self._write_ready.set_result(None)  # a write waiting for room sees the transport closed
        await super().close()

    def describe(self) -> dict[str, Any]:
        return {"type": "file", "path": self.settings.path}
