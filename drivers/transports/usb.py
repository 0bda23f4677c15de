"""USB transport: printers (and other bulk-endpoint devices) driven through libusb with pyusb.

pyusb is blocking, so every call runs on one of two single-thread executors owned by the transport: OUT
(find, claim, writes, release) and IN (reads). libusb's synchronous API is thread-safe, so a status read
waiting on the IN endpoint never holds up a job being written. Every transfer has an explicit timeout (libusb
takes 0 as "wait forever", so 0 is never passed), and transfers are bounded slices of the caller's timeout:
``read(timeout)`` and ``write(timeout)`` keep their deadlines, and ``close`` never waits long for a transfer
in flight. A read the caller stops waiting for keeps its slice: its bytes go to the next ``read``.

The device is found by vendor/product id plus, when given, its serial number or physical port — a stable
identity, never enumeration order. The kernel's usblp driver is detached and the interface claimed; on close
the interface is released and pyusb's resources disposed (without that, reconnecting after a power cycle
fails: python-escpos #437/#459).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

import usb.core  # type: ignore[import-untyped]
import usb.util  # type: ignore[import-untyped]
from pydantic import BaseModel, ConfigDict, Field

from drivers.errors import TransportClosed, TransportError, TransportTimeout
from drivers.transports.base import DEFAULT_OPEN_TIMEOUT, DEFAULT_WRITE_TIMEOUT, Transport

_LOGGER = logging.getLogger(__name__)

#: Longest single libusb read: how late ``close`` may be for a read in flight.
READ_SLICE_S = 0.1
#: Bytes per bulk OUT transfer, so a write gives up at its deadline between transfers.
WRITE_CHUNK_BYTES = 16 * 1024
#: Bytes asked for per bulk IN transfer (rounded to whole packets: a packet is never split).
READ_BYTES = 4096
#: Time allowed to release the device on close.
CLOSE_TIMEOUT_S = 2.0


def _system_backend() -> Any:
    return None


#: The pyusb backend devices are looked up through; returning None lets pyusb choose (libusb 1.0 first).
#: Tests set this to a backend that stands in for a device; configuration cannot reach it.
backend_factory: Callable[[], Any] = _system_backend


class UsbSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["usb"] = "usb"
    vendor_id: int = Field(ge=0, le=0xFFFF, description="USB vendor id (TOML accepts hex: 0x04b8).")
    product_id: int = Field(ge=0, le=0xFFFF, description="USB product id (e.g. 0x0e15).")
    serial: str | None = Field(
        None, min_length=1, description="Serial number string; tells apart devices with the same ids."
    )
    usb_port: str | None = Field(
        None,
        pattern=r"^\d+-\d+(\.\d+)*$",
        description="Physical port as the kernel names it (bus-port.port…, e.g. 1-1.2): identifies a device "
        "without a serial number.",
    )
    interface: int = Field(0, ge=0, le=255, description="Interface number of the printer function (almost always 0).")

    @property
    def ids(self) -> str:
        return f"{self.vendor_id:04x}:{self.product_id:04x}"


def _milliseconds(seconds: float) -> int:
    """A libusb timeout: at least 1 ms, because 0 would mean forever."""
    return max(1, math.ceil(seconds * 1000))


def _port_name(device: Any) -> str | None:
    ports = getattr(device, "port_numbers", None)
    if device.bus is None or not ports:
        return None
    return f"{device.bus}-{'.'.join(str(port) for port in ports)}"


def _udev_style(serial: str) -> str:
    """A serial number as udev spells it in ID_SERIAL_SHORT: whitespace runs and unusual characters as '_'."""
    collapsed = "_".join(serial.split())
    return "".join(c if c.isalnum() or c in "#+-.:=@_" or not c.isascii() else "_" for c in collapsed)


def _is_bulk(direction: int) -> Callable[[Any], bool]:
    def match(endpoint: Any) -> bool:
        return bool(
            usb.util.endpoint_direction(endpoint.bEndpointAddress) == direction
            and usb.util.endpoint_type(endpoint.bmAttributes) == usb.util.ENDPOINT_TYPE_BULK
        )

    return match


class _Claimed:
    """An opened device with its claimed interface and bulk endpoints."""

    def __init__(self, device: Any, out_address: int, in_address: int | None, in_packet: int) -> None:
        self.device = device
        self.out_address = out_address
        self.in_address = in_address
        self.read_size = max(in_packet, READ_BYTES - READ_BYTES % max(1, in_packet))


class UsbTransport(Transport):
    transport_type = "usb"

    def __init__(self, settings: UsbSettings) -> None:
        self.settings = settings
        self._claimed: _Claimed | None = None
        self._out: ThreadPoolExecutor | None = None
        self._in: ThreadPoolExecutor | None = None
        self._lost: str | None = None
        self._lost_event = asyncio.Event()
        self._buffer = bytearray()
        self._pending_read: asyncio.Future[bytes] | None = None
        self._write_lock = asyncio.Lock()

    # -- blocking parts (run on the executors) ------------------------------------------------------------
    def _find(self) -> Any:
        s = self.settings
        try:
            found = list(
                usb.core.find(find_all=True, backend=backend_factory(), idVendor=s.vendor_id, idProduct=s.product_id)
            )
        except usb.core.NoBackendError as err:
            raise TransportClosed("no libusb backend: install libusb-1.0-0") from err
        if s.usb_port is not None:
            found = [device for device in found if _port_name(device) == s.usb_port]
        unreadable: list[str] = []
        if s.serial is not None:
            matching = []
            for device in found:
                try:
                    serial = device.serial_number  # opens the device: string descriptors come over endpoint 0
                except (usb.core.USBError, ValueError) as err:
                    unreadable.append(f"bus {device.bus} address {device.address}: {err}")
                    serial = None
                # Hot-plug takes serials from udev, which writes "SN 01/A" as "SN_01_A": either spelling matches.
                if serial is not None and s.serial in (serial, _udev_style(serial)):
                    matching.append(device)
                else:
                    usb.util.dispose_resources(device)
            found = matching
        where = "".join(
            f" {label} {value}" for label, value in (("serial", s.serial), ("port", s.usb_port)) if value is not None
        )
        if not found:
            hint = f" (could not read the serial of {'; '.join(unreadable)})" if unreadable else ""
            raise TransportClosed(f"no USB device {s.ids}{where} is connected{hint}")
        if len(found) > 1:
            places = ", ".join(_port_name(device) or f"bus {device.bus} address {device.address}" for device in found)
            for device in found:
                usb.util.dispose_resources(device)
            raise TransportClosed(
                f"{len(found)} USB devices {s.ids}{where} are connected ({places}); set transport.serial "
                "or transport.usb_port to pick one"
            )
        return found[0]

    def _open_device(self) -> _Claimed:
        device = self._find()
        number = self.settings.interface
        try:
            with contextlib.suppress(NotImplementedError):  # backends that cannot tell (libusb 0.1, OpenUSB)
                if device.is_kernel_driver_active(number):
                    device.detach_kernel_driver(number)
            try:
                configuration = device.get_active_configuration()
            except usb.core.USBError:  # unconfigured: take the first configuration, as the kernel would
                device.set_configuration()
                configuration = device.get_active_configuration()
            interface = usb.util.find_descriptor(configuration, bInterfaceNumber=number)
            if interface is None:
                raise TransportClosed(f"USB device {self.settings.ids} has no interface {number}")
            usb.util.claim_interface(device, number)
            out_endpoint = usb.util.find_descriptor(interface, custom_match=_is_bulk(usb.util.ENDPOINT_OUT))
            in_endpoint = usb.util.find_descriptor(interface, custom_match=_is_bulk(usb.util.ENDPOINT_IN))
            if out_endpoint is None:
                raise TransportClosed(f"USB device {self.settings.ids} interface {number} has no bulk OUT endpoint")
        except BaseException:
            usb.util.dispose_resources(device)
            raise
        if in_endpoint is None:
            _LOGGER.warning("USB device %s has no bulk IN endpoint: it cannot report status", self.settings.ids)
        return _Claimed(
            device,
            out_endpoint.bEndpointAddress,
            None if in_endpoint is None else in_endpoint.bEndpointAddress,
            64 if in_endpoint is None else in_endpoint.wMaxPacketSize,
        )

    @staticmethod
    def _read_slice(claimed: _Claimed, timeout_ms: int) -> bytes:
        try:
            data = claimed.device.read(claimed.in_address, claimed.read_size, timeout=timeout_ms)
        except usb.core.USBTimeoutError:
            return b""
        return bytes(data)

    @staticmethod
    def _write_chunk(claimed: _Claimed, chunk: bytes, timeout_ms: int) -> int:
        written: int = claimed.device.write(claimed.out_address, chunk, timeout=timeout_ms)
        return written

    def _release(self, claimed: _Claimed) -> None:
        with contextlib.suppress(usb.core.USBError):  # a device that is gone has nothing left to release
            usb.util.release_interface(claimed.device, self.settings.interface)
        with contextlib.suppress(usb.core.USBError):
            usb.util.dispose_resources(claimed.device)

    # -- async surface ---------------------------------------------------------------------------------------
    async def open(self, timeout: float = DEFAULT_OPEN_TIMEOUT) -> None:
        loop = asyncio.get_running_loop()
        ids = self.settings.ids.replace(":", "-")
        self._out = ThreadPoolExecutor(1, thread_name_prefix=f"usb-out-{ids}")
        self._in = ThreadPoolExecutor(1, thread_name_prefix=f"usb-in-{ids}")
        opening = loop.run_in_executor(self._out, self._open_device)
        try:
            done, _ = await asyncio.wait([opening], timeout=timeout)
        finally:
            if not opening.done():
                # The OUT thread finishes the open later; release what it claimed, on that thread.
                opening.add_done_callback(self._release_late_open)
        if not done:
            raise TransportTimeout(f"opening USB device {self.settings.ids} timed out after {timeout}s")
        try:
            self._claimed = opening.result()
        except usb.core.USBError as err:
            self._shutdown_executors()
            raise TransportClosed(f"cannot open USB device {self.settings.ids}: {err.strerror or err}") from err
        except BaseException:
            self._shutdown_executors()
            raise
        self._lost = None
        self._lost_event = asyncio.Event()

    def _release_late_open(self, opening: asyncio.Future[_Claimed]) -> None:
        if not opening.cancelled() and opening.exception() is None and self._out is not None:
            self._out.submit(self._release, opening.result())
        self._shutdown_executors()

    def _shutdown_executors(self) -> None:
        for executor in (self._out, self._in):
            if executor is not None:
                executor.shutdown(wait=False)
        self._out = self._in = None

    def _connected(self) -> tuple[_Claimed, ThreadPoolExecutor, ThreadPoolExecutor]:
        if self._lost is not None:
            raise TransportClosed(self._lost)
        if self._claimed is None or self._out is None or self._in is None:
            raise TransportClosed("usb transport is not open")
        return self._claimed, self._out, self._in

    def _failed(self, err: usb.core.USBError, doing: str) -> TransportError:
        if isinstance(err, usb.core.USBTimeoutError):
            return TransportTimeout(f"{doing} timed out")
        # ENODEV (unplugged, powered off), EPIPE, EIO: the device is no longer usable through this handle.
        if self._lost is None:
            self._lost = f"USB device {self.settings.ids}: {doing} failed: {err.strerror or err}"
            self._lost_event.set()
        return TransportClosed(self._lost)

    async def read(self, timeout: float, max_bytes: int = 65536) -> bytes:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self._buffer:
            claimed, _, in_executor = self._connected()
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TransportTimeout(f"no data within {timeout}s")
            if claimed.in_address is None:
                # Nothing can ever arrive; wait out the timeout unless the device goes away.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(remaining):
                        await self._lost_event.wait()
                continue
            pending = self._pending_read
            if pending is None:
                slice_ms = _milliseconds(min(remaining, READ_SLICE_S))
                pending = self._pending_read = loop.run_in_executor(in_executor, self._read_slice, claimed, slice_ms)
            done, _ = await asyncio.wait([pending], timeout=remaining)
            if not done:
                continue  # the slice stays in flight for the next read
            if self._pending_read is pending:
                self._pending_read = None
            try:
                self._buffer += pending.result()
            except usb.core.USBError as err:
                raise self._failed(err, "read") from err
        data = bytes(self._buffer[:max_bytes])
        del self._buffer[:max_bytes]
        return data

    async def write(self, data: bytes, timeout: float = DEFAULT_WRITE_TIMEOUT) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with self._write_lock:
            sent = 0
            while sent < len(data):
                claimed, out_executor, _ = self._connected()
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise TransportTimeout(f"write of {len(data)} bytes timed out after {timeout}s ({sent} sent)")
                chunk = data[sent : sent + WRITE_CHUNK_BYTES]
                try:
                    sent += await loop.run_in_executor(
                        out_executor, self._write_chunk, claimed, chunk, _milliseconds(remaining)
                    )
                except usb.core.USBError as err:
                    raise self._failed(err, f"write of {len(data)} bytes ({sent} sent)") from err

    async def close(self) -> None:
        claimed, self._claimed = self._claimed, None
        if self._lost is None:
            self._lost = "usb transport closed"
            self._lost_event.set()
        pending, self._pending_read = self._pending_read, None
        if pending is not None:
            # libusb must not free the handle under a transfer in flight; a slice ends within READ_SLICE_S.
            await asyncio.wait([pending], timeout=READ_SLICE_S + CLOSE_TIMEOUT_S)
            if pending.done() and not pending.cancelled():
                pending.exception()  # retrieved: a device that went away raises here, and that is expected
        if claimed is not None and self._out is not None:
            releasing = asyncio.get_running_loop().run_in_executor(self._out, self._release, claimed)
            await asyncio.wait([releasing], timeout=CLOSE_TIMEOUT_S)
        self._shutdown_executors()
        self._buffer.clear()

    @property
    def is_open(self) -> bool:
        return self._claimed is not None and self._lost is None

    def describe(self) -> dict[str, Any]:
        s = self.settings
        out: dict[str, Any] = {
            "type": "usb",
            "vendor_id": f"{s.vendor_id:04x}",
            "product_id": f"{s.product_id:04x}",
            "interface": s.interface,
        }
        if s.serial is not None:
            out["serial"] = s.serial
        if s.usb_port is not None:
            out["usb_port"] = s.usb_port
        return out
