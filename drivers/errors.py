"""The one exception hierarchy of posd.

Library errors (pyserial, OSError, pyusb, …) are wrapped at the transport boundary with
``raise TransportError(...) from err`` so that drivers, the supervisor and the API only ever see
these types. The API maps each one to a problem+json ``code``.
"""

from __future__ import annotations


class PosdError(Exception):
    """Base of every error posd raises on purpose."""

    code = "internal_error"


class ConfigError(PosdError):
    """A configuration problem; the message names the file (or variable), the key and the problem."""

    code = "config_error"


class TransportError(PosdError):
    """The byte pipe to a device failed: it could not be opened, or broke while in use."""

    code = "device_offline"


class TransportClosed(TransportError):
    """The device went away (unplugged, connection reset, pty hung up)."""


class TransportTimeout(TransportError):
    """A read or write did not complete within its timeout."""

    code = "device_timeout"


class ProtocolError(PosdError):
    """The device answered something the codec cannot make sense of."""

    code = "protocol_error"


class DeviceError(PosdError):
    """A device-level failure reported to the caller (not ready, fault state, …)."""

    code = "device_error"


class DeviceOffline(DeviceError):
    code = "device_offline"


class PrinterNotReady(DeviceError):
    """The printer cannot print now; ``reason`` is ``paper_end``, ``cover_open`` or ``offline``."""

    code = "device_not_ready"

    def __init__(self, reason: str) -> None:
        super().__init__(f"printer not ready: {reason}")
        self.reason = reason


class DeviceBusy(DeviceError):
    code = "device_busy"


class NotSupported(DeviceError):
    """The device or its protocol cannot do what was asked (e.g. tare on a scale without tare)."""

    code = "not_supported"


class DeviceTimeout(DeviceError):
    code = "device_timeout"
