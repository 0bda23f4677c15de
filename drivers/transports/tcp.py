"""TCP transport: network receipt printers (raw port 9100), serial device servers, simulators."""

from __future__ import annotations

import asyncio
import socket
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from drivers.transports.base import PushReader, StreamTransport


class TcpSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["tcp"] = "tcp"
    host: str = Field(description="Host name or address (a printer's IP).")
    port: int = Field(9100, gt=0, lt=65536, description="Raw printing port, 9100 on most printers.")


class TcpTransport(StreamTransport):
    transport_type = "tcp"

    def __init__(self, settings: TcpSettings) -> None:
        super().__init__()
        self.settings = settings

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        # asyncio.open_connection, with a PushReader for push mode.
        loop = asyncio.get_running_loop()
        reader = PushReader(loop=loop)
        protocol = asyncio.StreamReaderProtocol(reader, loop=loop)
        transport, _ = await loop.create_connection(lambda: protocol, self.settings.host, self.settings.port)
        writer = asyncio.StreamWriter(transport, protocol, reader, loop)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            # Small command/status exchanges must not wait for Nagle.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return reader, writer

    def describe(self) -> dict[str, Any]:
        return {"type": "tcp", "host": self.settings.host, "port": self.settings.port}

    def where(self) -> str:
        return f"tcp {self.settings.host}:{self.settings.port}"
