"""A pyusb backend standing in for a USB bus with receipt printers on it (the USB bus is an edge tests cannot reach).

``FakeUsbBus`` implements the ``usb.backend.IBackend`` calls that ``usb.core.find`` and ``usb.core.Device``
make, shaped like pyusb's libusb 1.0 backend: descriptors, open/close, configuration, the kernel's usblp
driver bound to the printer interface (claiming it first fails with EBUSY, as on Linux), interface claims,
control transfers for string descriptors, bulk transfers with millisecond timeouts, and libusb's errors
(``USBTimeoutError`` for ETIMEDOUT, ``USBError`` with errno ENODEV once the device is gone).

Behind the bulk endpoints is the real device-side ESC/POS logic: what the host writes to the OUT endpoint
goes to an ``EscposSimulator`` on the event loop, what the simulator sends (DLE EOT answers, ASB messages)
comes back on the IN endpoint. Unplugging detaches the printer from the bus (its handles then fail with
ENODEV, enumeration no longer finds it); plugging it back makes a new device instance at a new address,
as a real re-enumeration does.
"""

from __future__ import annotations

import array
import asyncio
import errno
import itertools
import threading
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import usb.backend  # type: ignore[import-untyped]  # pyusb ships no types (as in drivers/transports/usb.py)
import usb.core  # type: ignore[import-untyped]

from drivers.escpos.simulator import EscposSimulator
from drivers.simulator import Endpoint
from drivers.transports import UsbSettings

OUT_ADDRESS = 0x01
IN_ADDRESS = 0x82
PACKET = 64
STRINGS = {1: "EPSON", 2: "TM-T20II Receipt"}
SERIAL_INDEX = 3


def no_device() -> usb.core.USBError:
    return usb.core.USBError("No such device (it may have been disconnected)", -4, errno.ENODEV)


def busy() -> usb.core.USBError:
    return usb.core.USBError("Resource busy", -6, errno.EBUSY)


def timed_out() -> usb.core.USBTimeoutError:
    return usb.core.USBTimeoutError("Operation timed out", -7, errno.ETIMEDOUT)


@dataclass(eq=False)
class Attachment:
    """One enumeration of a printer: what ``enumerate_devices`` yields (a re-plug makes a new one)."""

    printer: FakeUsbPrinter
    address: int


@dataclass(eq=False)
class Handle:
    attachment: Attachment
    closed: bool = False


@dataclass(eq=False)
class FakeUsbPrinter:
    """The physical printer: ids, serial, where it is plugged, and its side of the bulk pipes."""

    vendor_id: int = 0x04B8
    product_id: int = 0x0E15
    serial: str | None = "SIM0001"
    bus_number: int = 1
    ports: tuple[int, ...] = (1,)
    attachment: Attachment | None = None
    configuration: int = 1  # Linux configures a device when it enumerates it
    kernel_driver_active: bool = True  # and binds usblp to a printer-class interface
    claimed_by: Handle | None = None
    accepting: bool = True  # False: the printer's buffer is full and it NAKs every OUT packet
    permitted: bool = True  # False: the device node is not accessible to this user (no udev rule)
    on_write: Any = None  # called on the event loop with each bulk OUT payload
    loop: asyncio.AbstractEventLoop | None = None
    replies: bytearray = field(default_factory=bytearray)
    lock: threading.Condition = field(default_factory=threading.Condition)

    def send(self, data: bytes) -> None:
        """Device → host bytes, waiting on the IN endpoint (dropped while unplugged, as on a real bus)."""
        with self.lock:
            if self.attachment is not None:
                self.replies += data
                self.lock.notify_all()


class FakeUsbBus(usb.backend.IBackend):  # type: ignore[misc]  # IBackend is Any: pyusb is untyped
    def __init__(self) -> None:
        super().__init__()
        self.printers: list[FakeUsbPrinter] = []
        self._addresses = itertools.count(4)
        self.calls: list[tuple[str, str]] = []  # (backend call, thread name)
        self.transfer_timeouts: list[int] = []
        self.handles: list[Handle] = []  # every handle ever opened
        self.detached = 0
        self.claims = 0
        self.releases = 0
        self.closed_handles = 0
        self.reads_in_progress = 0
        self.writes_during_read = 0
        self._state = threading.Lock()

    # -- test controls -----------------------------------------------------------------------------
    def attach(self, printer: FakeUsbPrinter) -> None:
        with printer.lock:
            if printer not in self.printers:
                self.printers.append(printer)
            printer.attachment = Attachment(printer, next(self._addresses))
            printer.configuration, printer.kernel_driver_active, printer.claimed_by = 1, True, None
            printer.replies.clear()

    def detach(self, printer: FakeUsbPrinter) -> None:
        with printer.lock:
            printer.attachment = None
            printer.claimed_by = None
            printer.lock.notify_all()

    def _record(self, name: str) -> None:
        with self._state:
            self.calls.append((name, threading.current_thread().name))

    @staticmethod
    def _live(handle: Handle) -> FakeUsbPrinter:
        printer = handle.attachment.printer
        if handle.closed or printer.attachment is not handle.attachment:
            raise no_device()
        return printer

    def _timeout(self, timeout: int) -> float:
        # libusb waits forever on 0: a caller that passes it has a bug the test must see.
        assert isinstance(timeout, int), timeout
        assert timeout > 0, f"transfer timeout {timeout} ms (0 means forever in libusb)"
        with self._state:
            self.transfer_timeouts.append(timeout)
        return timeout / 1000

    # -- enumeration and descriptors ------------------------------------------------------------------
    def enumerate_devices(self) -> list[Attachment]:
        self._record("enumerate_devices")
        return [p.attachment for p in self.printers if p.attachment is not None]

    def get_device_descriptor(self, dev: Attachment) -> SimpleNamespace:
        printer = dev.printer
        return SimpleNamespace(
            bLength=18,
            bDescriptorType=1,
            bcdUSB=0x0200,
            bDeviceClass=0,
            bDeviceSubClass=0,
            bDeviceProtocol=0,
            bMaxPacketSize0=64,
            idVendor=printer.vendor_id,
            idProduct=printer.product_id,
            bcdDevice=0x0100,
            iManufacturer=1,
            iProduct=2,
            iSerialNumber=SERIAL_INDEX if printer.serial is not None else 0,
            bNumConfigurations=1,
            address=dev.address,
            bus=printer.bus_number,
            port_number=printer.ports[-1],
            port_numbers=printer.ports,
            speed=3,
        )

    def get_configuration_descriptor(self, dev: Attachment, config: int) -> SimpleNamespace:
        if config != 0:
            raise IndexError(config)
        return SimpleNamespace(
            bLength=9,
            bDescriptorType=2,
            wTotalLength=32,
            bNumInterfaces=1,
            bConfigurationValue=1,
            iConfiguration=0,
            bmAttributes=0xC0,
            bMaxPower=1,
            extra_descriptors=[],
        )

    def get_interface_descriptor(self, dev: Attachment, intf: int, alt: int, config: int) -> SimpleNamespace:
        if intf != 0 or alt != 0 or config != 0:
            raise IndexError((intf, alt, config))
        # USB printer class 7, subclass 1, protocol 2 (bidirectional).
        return SimpleNamespace(
            bLength=9,
            bDescriptorType=4,
            bInterfaceNumber=0,
            bAlternateSetting=0,
            bNumEndpoints=2,
            bInterfaceClass=7,
            bInterfaceSubClass=1,
            bInterfaceProtocol=2,
            iInterface=0,
            extra_descriptors=[],
        )

    def get_endpoint_descriptor(self, dev: Attachment, ep: int, intf: int, alt: int, config: int) -> SimpleNamespace:
        if ep not in (0, 1) or intf != 0 or alt != 0 or config != 0:
            raise IndexError((ep, intf, alt, config))
        return SimpleNamespace(
            bLength=7,
            bDescriptorType=5,
            bEndpointAddress=OUT_ADDRESS if ep == 0 else IN_ADDRESS,
            bmAttributes=0x02,  # bulk
            wMaxPacketSize=PACKET,
            bInterval=0,
            bRefresh=0,
            bSynchAddress=0,
            extra_descriptors=[],
        )

    # -- handles, configuration, interfaces --------------------------------------------------------------
    def open_device(self, dev: Attachment) -> Handle:
        self._record("open_device")
        if dev.printer.attachment is not dev:
            raise no_device()
        if not dev.printer.permitted:
            raise usb.core.USBError("Access denied (insufficient permissions)", -3, errno.EACCES)
        handle = Handle(dev)
        with self._state:
            self.handles.append(handle)
        return handle

    def close_device(self, dev_handle: Handle) -> None:
        self._record("close_device")
        printer = dev_handle.attachment.printer
        with printer.lock:
            if printer.claimed_by is dev_handle:
                printer.claimed_by = None
        dev_handle.closed = True
        with self._state:
            self.closed_handles += 1

    def get_configuration(self, dev_handle: Handle) -> int:
        return self._live(dev_handle).configuration

    def set_configuration(self, dev_handle: Handle, config_value: int) -> None:
        printer = self._live(dev_handle)
        if printer.kernel_driver_active or printer.claimed_by is not None:
            raise busy()
        printer.configuration = config_value

    def is_kernel_driver_active(self, dev_handle: Handle, intf: int) -> bool:
        return self._live(dev_handle).kernel_driver_active

    def detach_kernel_driver(self, dev_handle: Handle, intf: int) -> None:
        self._record("detach_kernel_driver")
        self._live(dev_handle).kernel_driver_active = False
        self.detached += 1

    def claim_interface(self, dev_handle: Handle, intf: int) -> None:
        self._record("claim_interface")
        printer = self._live(dev_handle)
        with printer.lock:
            if printer.kernel_driver_active or (printer.claimed_by not in (None, dev_handle)):
                raise busy()
            printer.claimed_by = dev_handle
        self.claims += 1

    def release_interface(self, dev_handle: Handle, intf: int) -> None:
        self._record("release_interface")
        printer = self._live(dev_handle)
        with printer.lock:
            if printer.claimed_by is dev_handle:
                printer.claimed_by = None
        self.releases += 1

    def ctrl_transfer(  # noqa: PLR0917 - IBackend's signature
        self, dev_handle: Handle, bmRequestType: int, bRequest: int, wValue: int, wIndex: int, data: Any, timeout: int
    ) -> int:
        self._timeout(timeout)
        printer = self._live(dev_handle)
        if bmRequestType != 0x80 or bRequest != 0x06 or wValue >> 8 != 3:
            raise usb.core.USBError("Pipe error", -9, errno.EPIPE)  # the device stalls what it does not know
        index = wValue & 0xFF
        if index == 0:
            descriptor = bytes([4, 3, 0x09, 0x04])  # LANGID en-US
        else:
            text = printer.serial if index == SERIAL_INDEX else STRINGS.get(index)
            if text is None:
                raise usb.core.USBError("Pipe error", -9, errno.EPIPE)
            encoded = text.encode("utf-16-le")
            descriptor = bytes([2 + len(encoded), 3]) + encoded
        count = min(len(descriptor), len(data))
        data[:count] = array.array("B", descriptor[:count])
        return count

    # -- bulk pipes ---------------------------------------------------------------------------------------
    def _claimed(self, dev_handle: Handle) -> FakeUsbPrinter:
        printer = self._live(dev_handle)
        if printer.claimed_by is not dev_handle:
            raise busy()
        return printer

    def bulk_write(self, dev_handle: Handle, ep: int, intf: int, data: Any, timeout: int) -> int:
        self._record("bulk_write")
        seconds = self._timeout(timeout)
        assert ep == OUT_ADDRESS
        printer = self._claimed(dev_handle)
        with self._state:
            if self.reads_in_progress:
                self.writes_during_read += 1
        with printer.lock:
            if not printer.lock.wait_for(
                lambda: printer.accepting or printer.attachment is not dev_handle.attachment, seconds
            ):
                raise timed_out()
        self._live(dev_handle)
        payload = bytes(data)
        assert printer.loop is not None
        assert printer.on_write is not None
        printer.loop.call_soon_threadsafe(printer.on_write, payload)
        return len(payload)

    def bulk_read(self, dev_handle: Handle, ep: int, intf: int, buff: Any, timeout: int) -> int:
        self._record("bulk_read")
        seconds = self._timeout(timeout)
        assert ep == IN_ADDRESS
        printer = self._claimed(dev_handle)
        with self._state:
            self.reads_in_progress += 1
        try:
            with printer.lock:
                printer.lock.wait_for(
                    lambda: bool(printer.replies) or printer.attachment is not dev_handle.attachment, seconds
                )
                self._live(dev_handle)
                if not printer.replies:
                    raise timed_out()
                count = min(len(buff), len(printer.replies))
                buff[:count] = array.array("B", printer.replies[:count])
                del printer.replies[:count]
                return count
        finally:
            with self._state:
                self.reads_in_progress -= 1

    def clear_halt(self, dev_handle: Handle, ep: int) -> None:
        self._live(dev_handle)


class UsbPrinterEndpoint(Endpoint):
    """The simulator's end of the fake bus: plug/unplug attach and detach the printer."""

    def __init__(self, bus: FakeUsbBus, printer: FakeUsbPrinter) -> None:
        super().__init__()
        self.bus = bus
        self.printer = printer

    async def plug(self) -> None:
        self.printer.loop = asyncio.get_running_loop()
        self.printer.on_write = self._written
        self.bus.attach(self.printer)
        self.plugged = True

    def _written(self, data: bytes) -> None:
        self.on_data(data)

    async def unplug(self) -> None:
        self.bus.detach(self.printer)
        self.plugged = False

    def send(self, data: bytes) -> None:
        self.printer.send(data)

    def transport_settings(self) -> Any:
        p = self.printer
        return UsbSettings(vendor_id=p.vendor_id, product_id=p.product_id, serial=p.serial)


def usb_printer_simulator(device_id: str, bus: FakeUsbBus, printer: FakeUsbPrinter) -> EscposSimulator:
    """The real ESC/POS device logic, reached through the fake bus."""
    return EscposSimulator(device_id, UsbPrinterEndpoint(bus, printer))
