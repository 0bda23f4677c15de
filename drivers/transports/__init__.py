"""Transports: the async byte pipes between drivers and devices.

:data:`TransportSettings` is the discriminated union used in device configuration; :func:`make_transport`
is the one place that turns settings into a transport object.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from drivers.transports.base import StreamTransport, Transport
from drivers.transports.evdev import EvdevSettings, EvdevTransport
from drivers.transports.hidraw import HidrawSettings, HidrawTransport
from drivers.transports.peer import PeerSettings
from drivers.transports.serial import SerialSettings, SerialTransport
from drivers.transports.tcp import TcpSettings, TcpTransport
from drivers.transports.usb import UsbSettings, UsbTransport
from drivers.transports.usblp import UsblpSettings, UsblpTransport

#: Settings of transports built by :func:`make_transport` (everything but peer links).
DeviceTransportSettings = SerialSettings | TcpSettings | EvdevSettings | HidrawSettings | UsbSettings | UsblpSettings
#: Every transport settings model (what a simulator or a config entry may name).
AnyTransportSettings = DeviceTransportSettings | PeerSettings
TransportSettings = Annotated[AnyTransportSettings, Field(discriminator="type")]


def make_transport(settings: DeviceTransportSettings) -> Transport:
    """Build the byte transport for ``settings`` (peer settings are resolved by the device manager)."""
    if isinstance(settings, SerialSettings):
        return SerialTransport(settings)
    if isinstance(settings, EvdevSettings):
        return EvdevTransport(settings)
    if isinstance(settings, HidrawSettings):
        return HidrawTransport(settings)
    if isinstance(settings, UsbSettings):
        return UsbTransport(settings)
    if isinstance(settings, UsblpSettings):
        return UsblpTransport(settings)
    return TcpTransport(settings)


__all__ = [
    "AnyTransportSettings",
    "DeviceTransportSettings",
    "EvdevSettings",
    "EvdevTransport",
    "HidrawSettings",
    "HidrawTransport",
    "PeerSettings",
    "SerialSettings",
    "SerialTransport",
    "StreamTransport",
    "TcpSettings",
    "TcpTransport",
    "Transport",
    "TransportSettings",
    "UsbSettings",
    "UsbTransport",
    "UsblpSettings",
    "UsblpTransport",
    "make_transport",
]
