"""Push mode (``Transport.stream``): chunks reach the sink from the read callback, over real sockets and ptys.

Event-source drivers (scanners) decode and publish inside the transport's read callback; these tests pin
the contract they rely on: nothing read before push mode is lost, the device going away ends the stream
with TransportClosed, a sink that raises ends it with its own error, and leaving push mode (cancel)
gives the transport back to ordinary reads.
"""

from __future__ import annotations

import asyncio
import os
import tty
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from drivers.errors import TransportClosed
from drivers.hidpos.codec import encode_reports
from drivers.transports import HidrawTransport, TcpTransport
from drivers.transports.hidraw import HidrawSettings
from drivers.transports.tcp import TcpSettings
from tests.conftest import EVENT_TIMEOUT, until


class PeerServer:
    """A one-connection TCP server on loopback standing in for a device."""

    def __init__(self) -> None:
        self.accepted: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await self.accepted.put((reader, writer))

        self.server = await asyncio.start_server(accept, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def peer(self) -> asyncio.StreamWriter:
        async with asyncio.timeout(EVENT_TIMEOUT):
            _, writer = await self.accepted.get()
        return writer


@pytest.fixture
async def tcp_pair() -> AsyncIterator[tuple[TcpTransport, asyncio.StreamWriter]]:
    server = PeerServer()
    port = await server.start()
    transport = TcpTransport(TcpSettings(host="127.0.0.1", port=port))
    await transport.open()
    peer = await server.peer()
    yield transport, peer
    await transport.close()
    peer.close()
    assert server.server is not None
    server.server.close()
    await server.server.wait_closed()


class Collected:
    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def __call__(self, data: bytes) -> None:
        self.chunks.append(data)

    @property
    def joined(self) -> bytes:
        return b"".join(self.chunks)


async def test_stream_hands_over_buffered_bytes_first_then_live_ones(
    tcp_pair: tuple[TcpTransport, asyncio.StreamWriter],
) -> None:
    transport, peer = tcp_pair
    peer.write(b"early")
    await peer.drain()
    assert await transport.read(EVENT_TIMEOUT, max_bytes=1) == b"e"  # "arly" now waits in the reader
    sink = Collected()
    streaming = asyncio.create_task(transport.stream(sink))
    await until(lambda: sink.joined == b"arly")
    peer.write(b"live")
    await peer.drain()
    await until(lambda: sink.joined == b"arlylive")
    streaming.cancel()
    with pytest.raises(asyncio.CancelledError):
        await streaming


async def test_stream_ends_with_transport_closed_when_the_device_hangs_up(
    tcp_pair: tuple[TcpTransport, asyncio.StreamWriter],
) -> None:
    transport, peer = tcp_pair
    sink = Collected()
    streaming = asyncio.create_task(transport.stream(sink))
    peer.write(b"last words")
    await peer.drain()
    peer.close()
    with pytest.raises(TransportClosed, match="closed the connection"):
        async with asyncio.timeout(EVENT_TIMEOUT):
            await streaming
    assert sink.joined == b"last words"


async def test_a_failing_sink_ends_the_stream_with_its_own_error(
    tcp_pair: tuple[TcpTransport, asyncio.StreamWriter],
) -> None:
    transport, peer = tcp_pair

    def sink(data: bytes) -> None:
        raise ValueError(f"cannot decode {data!r}")

    streaming = asyncio.create_task(transport.stream(sink))
    peer.write(b"\xff")
    await peer.drain()
    with pytest.raises(ValueError, match="cannot decode"):
        async with asyncio.timeout(EVENT_TIMEOUT):
            await streaming


async def test_leaving_push_mode_gives_the_transport_back_to_reads(
    tcp_pair: tuple[TcpTransport, asyncio.StreamWriter],
) -> None:
    transport, peer = tcp_pair
    sink = Collected()
    streaming = asyncio.create_task(transport.stream(sink))
    peer.write(b"pushed")
    await peer.drain()
    await until(lambda: sink.joined == b"pushed")
    streaming.cancel()
    with pytest.raises(asyncio.CancelledError):
        await streaming
    peer.write(b"pulled")
    await peer.drain()
    assert await transport.read(EVENT_TIMEOUT) == b"pulled"
    assert sink.joined == b"pushed"


@pytest.fixture
def pty_path(tmp_path: Path) -> Any:
    master, slave = os.openpty()
    tty.setraw(slave)
    yield master, os.ttyname(slave)
    os.close(master)
    os.close(slave)


async def test_hid_reports_back_to_back_reach_the_sink_one_by_one(pty_path: tuple[int, str]) -> None:
    master, path = pty_path
    transport = HidrawTransport(HidrawSettings(path=path, report_size=64))
    await transport.open()
    reports: list[bytes] = []
    streaming = asyncio.create_task(transport.stream_reports(reports.append))
    try:
        sent = encode_reports(b"]Q1", b"x" * 150)  # three reports
        os.write(master, b"".join(sent)[:100])  # a record device hands out whole reports only
        os.write(master, b"".join(sent)[100:])
        await until(lambda: len(reports) == 3)
        assert reports == sent
    finally:
        streaming.cancel()
        with pytest.raises(asyncio.CancelledError):
            await streaming
        await transport.close()


async def test_hid_stream_ends_with_transport_closed_on_hangup(tmp_path: Path) -> None:
    master, slave = os.openpty()
    tty.setraw(slave)
    transport = HidrawTransport(HidrawSettings(path=os.ttyname(slave), report_size=64))
    await transport.open()
    os.close(slave)
    streaming = asyncio.create_task(transport.stream_reports(lambda report: None))
    os.close(master)  # the reader's side now reads EIO: the device is gone
    try:
        with pytest.raises(TransportClosed):
            async with asyncio.timeout(EVENT_TIMEOUT):
                await streaming
    finally:
        await transport.close()
