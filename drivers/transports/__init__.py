"""Transports: the async byte pipes between drivers and devices.

:data:`TransportSettings` is the discriminated union used in device configuration; :func:`make_transport`
is the one place that turns settings into a transport object.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from drivers.transports.base import StreamTransport, Transport
from drivers.transports.peer import PeerSettings
from drivers.transports.serial import SerialSettings, SerialTransport
from drivers.transports.tcp import TcpSettings, TcpTransport

TransportSettings = Annotated[SerialSettings | TcpSettings | PeerSettings, Field(discriminator="type")]


def make_transport(settings: SerialSettings | TcpSettings) -> Transport:
    """Build the byte transport for ``settings`` (peer settings are resolved by the device manager)."""
    if isinstance(settings, SerialSettings):
        return SerialTransport(settings)
    return TcpTransport(settings)


__all__ = [
    "PeerSettings",
    "SerialSettings",
    "SerialTransport",
    "StreamTransport",
    "TcpSettings",
    "TcpTransport",
    "Transport",
    "TransportSettings",
    "make_transport",
]
