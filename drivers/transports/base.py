"""Transport: an async byte pipe to one device. The only layer that touches the OS.

Every read and write takes a timeout; there is no "forever". Implementations wrap library errors in
:mod:`drivers.errors` types.
"""

from __future__ import annotations

import abc
import asyncio
from types import TracebackType
from typing import Any

from drivers.errors import TransportClosed, TransportTimeout

#: Default timeouts (seconds) when a caller does not pass one.
DEFAULT_OPEN_TIMEOUT = 3.0
DEFAULT_WRITE_TIMEOUT = 5.0


class Transport(abc.ABC):
    """A connected byte stream. Open it with ``async with transport:`` or :meth:`open`."""

    transport_type: str = "abstract"

    @abc.abstractmethod
    async def open(self, timeout: float = DEFAULT_OPEN_TIMEOUT) -> None: ...

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    async def read(self, timeout: float, max_bytes: int = 65536) -> bytes:
        """Return at least one byte, or raise TransportTimeout / TransportClosed."""

    @abc.abstractmethod
    async def write(self, data: bytes, timeout: float = DEFAULT_WRITE_TIMEOUT) -> None:
        """Write all of ``data`` (handed to the OS) or raise TransportTimeout / TransportClosed."""

    @abc.abstractmethod
    def describe(self) -> dict[str, Any]:
        """What the API shows under ``Device.transport`` (type plus address)."""

    @property
    @abc.abstractmethod
    def is_open(self) -> bool: ...

    async def __aenter__(self) -> Transport:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


class StreamTransport(Transport):
    """Shared body of transports that end up as an asyncio (StreamReader, StreamWriter) pair."""

    def __init__(self) -> None:
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    @abc.abstractmethod
    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]: ...

    #: Library exceptions that mean "the device is gone" for this transport.
    _wrapped_errors: tuple[type[BaseException], ...] = (OSError,)

    async def open(self, timeout: float = DEFAULT_OPEN_TIMEOUT) -> None:
        try:
            async with asyncio.timeout(timeout):
                self._reader, self._writer = await self._connect()
        except TimeoutError as err:
            raise TransportTimeout(f"opening {self.describe()} timed out after {timeout}s") from err
        except self._wrapped_errors as err:
            raise TransportClosed(f"cannot open {self.describe()}: {err}") from err

    @property
    def is_open(self) -> bool:
        return self._writer is not None and not self._writer.is_closing()

    def _streams(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._reader is None or self._writer is None:
            raise TransportClosed(f"{self.transport_type} transport is not open")
        return self._reader, self._writer

    async def read(self, timeout: float, max_bytes: int = 65536) -> bytes:
        reader, _ = self._streams()
        try:
            async with asyncio.timeout(timeout):
                data = await reader.read(max_bytes)
        except TimeoutError as err:
            raise TransportTimeout(f"no data within {timeout}s") from err
        except self._wrapped_errors as err:
            raise TransportClosed(f"read failed: {err}") from err
        if not data:
            raise TransportClosed("device closed the connection")
        return data

    async def write(self, data: bytes, timeout: float = DEFAULT_WRITE_TIMEOUT) -> None:
        _, writer = self._streams()
        if writer.is_closing():
            raise TransportClosed("device closed the connection")
        try:
            async with asyncio.timeout(timeout):
                writer.write(data)
                await writer.drain()
        except TimeoutError as err:
            raise TransportTimeout(f"write of {len(data)} bytes timed out after {timeout}s") from err
        except self._wrapped_errors as err:
            raise TransportClosed(f"write failed: {err}") from err

    async def close(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        if writer is None:
            return
        writer.close()
        try:
            async with asyncio.timeout(1.0):
                await writer.wait_closed()
        except TimeoutError:
            pass
        except self._wrapped_errors:
            # Closing a device that is already gone: nothing more to release.
            pass
