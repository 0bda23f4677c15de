"""Serial transport (RS-232, USB CDC-ACM, USB-serial adapters, pseudo-terminals) over pyserial-asyncio-fast.

pyserial-asyncio-fast runs open/flush/close in an executor, so nothing here blocks the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import termios
from typing import Any, Literal

import serial
import serial_asyncio_fast
from pydantic import BaseModel, ConfigDict, Field, field_validator

from drivers.transports.base import PushReader, StreamTransport


class SerialSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["serial"] = "serial"
    port: str = Field(description="Device path; prefer a stable one (/dev/serial/by-id/…, /dev/posd/…).")
    baudrate: int = Field(9600, gt=0, description="Line speed.")
    bytesize: Literal[5, 6, 7, 8] = Field(8, description="Data bits (scales often use 7).")
    parity: Literal["N", "E", "O", "M", "S"] = Field("N", description="Parity: None, Even, Odd, Mark, Space.")
    stopbits: float = Field(1, description="1, 1.5 or 2.")

    @field_validator("stopbits")
    @classmethod
    def _stopbits(cls, value: float) -> float:
        if value not in (1, 1.5, 2):
            raise ValueError("must be 1, 1.5 or 2")
        return value

    rtscts: bool = Field(False, description="Hardware flow control (many receipt printers).")
    xonxoff: bool = Field(False, description="Software flow control.")


def check_input_parity(fd: int) -> None:
    """Have the kernel check the parity of every byte read (pyserial turns INPCK off whatever the parity).

    Without IGNPAR or PARMRK a byte that fails the check reads as NUL, which no scale or scanner protocol
    sends inside a frame: the codec drops the frame instead of reading a digit with a flipped bit (Toledo
    8217 and Prix frames carry no checksum; parity is all that guards the weight).
    """
    attributes = termios.tcgetattr(fd)
    attributes[0] = (attributes[0] | termios.INPCK) & ~(termios.IGNPAR | termios.PARMRK)
    termios.tcsetattr(fd, termios.TCSANOW, attributes)


class SerialTransport(StreamTransport):
    transport_type = "serial"
    # termios.error is not an OSError: a port that refuses a setting raises it.
    _wrapped_errors = (OSError, serial.SerialException, termios.error, ValueError)

    def __init__(self, settings: SerialSettings) -> None:
        super().__init__()
        self.settings = settings

    def _open_port(self) -> serial.Serial:
        s = self.settings
        # timeout=0 from the start: the asyncio transport sets it anyway, and a port that refuses the
        # setting must fail here, where the port is closed again, not after (which leaks the fd and
        # its exclusive lock, so every retry would fail with EAGAIN).
        return serial.Serial(
            port=s.port,
            baudrate=s.baudrate,
            bytesize=s.bytesize,
            parity=s.parity,
            stopbits=s.stopbits,
            rtscts=s.rtscts,
            xonxoff=s.xonxoff,
            exclusive=True,
            timeout=0,
        )

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        loop = asyncio.get_running_loop()
        port = await loop.run_in_executor(None, self._open_port)
        try:
            reader = PushReader(loop=loop)
            protocol = asyncio.StreamReaderProtocol(reader, loop=loop)
            transport, _ = await serial_asyncio_fast.connection_for_serial(loop, lambda: protocol, port)
            if self.settings.parity != "N":
                # After the transport, which sets timeouts: pyserial reapplies its flags on every such change.
                check_input_parity(port.fileno())
        except BaseException:
            with contextlib.suppress(Exception):
                port.close()
            raise
        return reader, asyncio.StreamWriter(transport, protocol, reader, loop)

    def describe(self) -> dict[str, Any]:
        s = self.settings
        return {
            "type": "serial",
            "port": s.port,
            "baudrate": s.baudrate,
            "framing": f"{s.bytesize}{s.parity}{s.stopbits:g}",  # 8N1, 7E1, 8N1.5
        }
