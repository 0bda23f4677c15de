"""Transport: an async byte pipe to one device. The only layer that touches the OS.

Every read and write takes a timeout; there is no "forever". Implementations wrap library errors in
:mod:`drivers.errors` types.
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, NoReturn, SupportsIndex

from drivers.errors import TransportClosed, TransportTimeout

#: Default timeouts (seconds) when a caller does not pass one.
DEFAULT_OPEN_TIMEOUT = 3.0
DEFAULT_WRITE_TIMEOUT = 5.0

#: Receives each chunk in push mode (:meth:`Transport.stream`), on the event loop, synchronously.
DataSink = Callable[[bytes], None]

#: How long one read of the pull-mode fallback of :meth:`Transport.stream` waits before it reads again.
_PULL_IDLE = 60.0


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

    def where(self) -> str:
        """The address for messages and reasons, on one line: ``serial /dev/ttyUSB0 9600 8N1``."""
        return " ".join(str(value) for value in self.describe().values())

    @property
    @abc.abstractmethod
    def is_open(self) -> bool: ...

    async def stream(self, sink: DataSink) -> NoReturn:
        """Push mode: hand every chunk to ``sink`` as it arrives, until the device goes away.

        For event sources (scanners): the chunk is decoded and published inside the loop callback that
        read it, so no task wakes up between the device and the WebSocket. Raises TransportClosed when
        the device goes away, or whatever ``sink`` raised. Nothing times out here: a silent scanner is
        not a fault, and a lost one shows as TransportClosed. This default pulls with :meth:`read`;
        transports with a callback path override it.
        """
        while True:
            try:
                data = await self.read(_PULL_IDLE)
            except TransportTimeout:
                continue
            sink(data)

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


class PushReader(asyncio.StreamReader):
    """A StreamReader that can hand data straight to a sink instead of buffering it (push mode).

    ``StreamReaderProtocol.data_received`` calls :meth:`feed_data` from the transport's read callback,
    so in push mode the sink runs in that same callback.
    """

    _sink: DataSink | None = None
    _pushing: asyncio.Future[None] | None = None

    def feed_data(self, data: Iterable[SupportsIndex]) -> None:
        sink = self._sink
        if sink is None:
            super().feed_data(data)
            return
        try:
            sink(data if isinstance(data, bytes) else bytes(data))
        except Exception as err:
            self._finish(err)

    def feed_eof(self) -> None:
        super().feed_eof()
        self._finish(TransportClosed("device closed the connection"))

    def set_exception(self, exc: Exception) -> None:
        super().set_exception(exc)
        closed = TransportClosed(f"read failed: {exc}")
        closed.__cause__ = exc
        self._finish(closed)

    def _finish(self, err: BaseException) -> None:
        pushing, self._sink = self._pushing, None
        if pushing is not None and not pushing.done():
            pushing.set_exception(err)

    async def push(self, sink: DataSink) -> NoReturn:
        """Feed ``sink`` (what is buffered first) until EOF, a connection error or ``sink`` raising."""
        if self._pushing is not None:
            raise RuntimeError("this reader is already in push mode")
        if (error := self.exception()) is not None:
            raise TransportClosed(f"read failed: {error}") from error
        pushing: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # Hand over what came before push mode began. The buffer is StreamReader's own; reaching into it
        # (and resuming a transport it paused) is the only way to take it without an await.
        own_buffer: bytearray = self._buffer  # type: ignore[attr-defined]
        buffered = bytes(own_buffer)
        own_buffer.clear()
        self._maybe_resume_transport()  # type: ignore[attr-defined]
        self._sink, self._pushing = sink, pushing
        try:
            if buffered:
                sink(buffered)
            if self._eof:  # type: ignore[attr-defined]
                raise TransportClosed("device closed the connection")
            await pushing
            raise AssertionError("push mode ends only by an exception")  # pragma: no cover
        finally:
            self._sink, self._pushing = None, None


class StreamTransport(Transport):
    """Shared body of transports that end up as an asyncio (StreamReader, StreamWriter) pair.

    ``_connect`` builds the reader as a :class:`PushReader`, so :meth:`stream` runs the sink inside the
    transport's read callback.
    """

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
            raise TransportTimeout(f"opening {self.where()} timed out after {timeout}s") from err
        except self._wrapped_errors as err:
            raise TransportClosed(f"cannot open {self.where()}: {err}") from err

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

    async def stream(self, sink: DataSink) -> NoReturn:
        reader, _ = self._streams()
        if isinstance(reader, PushReader):
            await reader.push(sink)
        await super().stream(sink)

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
