"""Simulators: the device side of a protocol, over a real pseudo-terminal or TCP socket.

A simulator owns an :class:`Endpoint` (the device's end of the wire) and reacts to the bytes the driver
sends, like the real device would. Simulators ship in the product: they serve ``posd serve --simulate``,
technicians' training, integrators' tests and the test suite. Fault controls (unplug, paper end, motion,
noise, …) arrive through :meth:`Simulator.control` as validated pydantic models.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import errno
import logging
import os
import tty
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar, get_args

from pydantic import BaseModel, ConfigDict, TypeAdapter

from drivers.errors import DeviceError
from drivers.models import DeviceKind
from drivers.transports import AnyTransportSettings, SerialSettings, TcpSettings

_LOGGER = logging.getLogger(__name__)

DataHandler = Callable[[bytes], None]


class Endpoint(abc.ABC):
    """The device's end of a transport. ``on_data`` receives what the driver wrote."""

    def __init__(self) -> None:
        self.on_data: DataHandler = lambda data: None
        self.plugged = False

    @abc.abstractmethod
    async def plug(self) -> None: ...

    @abc.abstractmethod
    async def unplug(self) -> None: ...

    @abc.abstractmethod
    def send(self, data: bytes) -> None:
        """Queue bytes from the device to the driver (dropped while unplugged, as on a real wire)."""

    @abc.abstractmethod
    def transport_settings(self) -> SerialSettings | TcpSettings:
        """How the driver reaches this endpoint."""


class PtyEndpoint(Endpoint):
    """A pseudo-terminal whose slave side the driver opens as a serial port.

    The slave is published under a stable symlink (``link``), as udev does with /dev/serial/by-id; a
    re-plug makes a new pty behind the same name. Unplugging closes the master, which the driver sees
    as the real hang-up a USB-serial adapter gives.
    """

    def __init__(self, link: Path, serial: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.link = link
        self.serial = serial or {}
        self._master: int | None = None
        self._slave_keepalive: int | None = None
        self._out = bytearray()

    async def plug(self) -> None:
        if self.plugged:
            return
        master, slave = os.openpty()
        tty.setraw(master)
        tty.setraw(slave)
        os.set_blocking(master, False)
        self.link.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.link.with_name(self.link.name + ".new")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        tmp.symlink_to(os.ttyname(slave))
        tmp.replace(self.link)
        # Keep one slave fd open so the master never reads EIO while no driver has the port open.
        self._master, self._slave_keepalive = master, slave
        asyncio.get_running_loop().add_reader(master, self._read_ready)
        self.plugged = True

    async def unplug(self) -> None:
        if not self.plugged:
            return
        self.plugged = False
        loop = asyncio.get_running_loop()
        assert self._master is not None
        assert self._slave_keepalive is not None
        loop.remove_reader(self._master)
        loop.remove_writer(self._master)
        os.close(self._master)
        os.close(self._slave_keepalive)
        self._master = self._slave_keepalive = None
        self._out.clear()
        with contextlib.suppress(FileNotFoundError):
            self.link.unlink()

    def _read_ready(self) -> None:
        assert self._master is not None
        try:
            data = os.read(self._master, 65536)
        except BlockingIOError:
            return
        except OSError as err:
            if err.errno == errno.EIO:
                return
            raise
        if data:
            self.on_data(data)

    def send(self, data: bytes) -> None:
        if not self.plugged or self._master is None:
            return
        if self._out:
            self._out += data
            return
        try:
            written = os.write(self._master, data)
        except BlockingIOError:
            written = 0
        if written < len(data):
            self._out += data[written:]
            asyncio.get_running_loop().add_writer(self._master, self._write_ready)

    def _write_ready(self) -> None:
        assert self._master is not None
        try:
            written = os.write(self._master, self._out)
        except BlockingIOError:
            return
        del self._out[:written]
        if not self._out:
            asyncio.get_running_loop().remove_writer(self._master)

    def transport_settings(self) -> SerialSettings:
        return SerialSettings(port=str(self.link), **self.serial)


class TcpEndpoint(Endpoint):
    """A TCP listener on loopback, like a network printer's raw port 9100 or a serial device server."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__()
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def plug(self) -> None:
        if self.plugged:
            return
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        self.plugged = True

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._clients.add(writer)
        try:
            while data := await reader.read(65536):
                self.on_data(data)
        except (ConnectionError, OSError):
            pass
        finally:
            self._clients.discard(writer)
            self._tasks.discard(task)
            writer.close()

    async def unplug(self) -> None:
        if not self.plugged:
            return
        self.plugged = False
        assert self._server is not None
        self._server.close()
        for writer in list(self._clients):
            writer.transport.abort()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None

    def send(self, data: bytes) -> None:
        for writer in self._clients:
            writer.write(data)

    def transport_settings(self) -> TcpSettings:
        return TcpSettings(host=self.host, port=self.port)


class PlugControl(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["unplug", "plug"]


def control_actions(model: type[BaseModel]) -> tuple[str, ...]:
    """The ``action`` values a control model takes (its ``Literal``), in the order the model lists them."""
    field = model.model_fields.get("action")
    values = get_args(field.annotation) if field is not None else ()
    if not values or not all(isinstance(value, str) for value in values):
        raise TypeError(f"control {model.__name__} has no Literal string field 'action'")
    return values


OptionsT = TypeVar("OptionsT", bound=BaseModel)


@dataclass
class SimEnvironment:
    """What a simulator may use when it is built: where to put its pty link, its peers' simulators, and what
    the daemon's configuration says about the device (its driver's options, the device it hangs on)."""

    sim_dir: Path
    simulators: dict[str, Simulator] = field(default_factory=dict)
    options: dict[str, BaseModel] = field(default_factory=dict)
    """Validated driver options by device id. A simulator reads them to play the model its driver is set up
    for (a printer profile, a scanner's suffix or keyboard layout); otherwise the two would disagree on the wire."""
    peers: dict[str, str] = field(default_factory=dict)
    """For a device reached through another (a drawer on a printer's kick connector): that device's id."""

    def driver_options(self, device_id: str, model: type[OptionsT]) -> OptionsT | None:
        """``device_id``'s driver options if the daemon gave some of type ``model``; None: the simulator's own defaults.

        None rather than ``model()``: a simulator built directly (a test rig) keeps behaving as it always did.
        """
        options = self.options.get(device_id)
        return options if isinstance(options, model) else None


class Simulator(abc.ABC):
    """Base of all simulators. Subclasses implement :meth:`on_bytes` and their own controls."""

    kind: ClassVar[DeviceKind]
    #: Pydantic model (usually a discriminated union on ``action``) of this simulator's own controls.
    Control: ClassVar[Any] = None
    _control_adapters: ClassVar[dict[type, TypeAdapter[Any]]] = {}

    def __init__(self, device_id: str, endpoint: Endpoint | None) -> None:
        self.device_id = device_id
        self.endpoint = endpoint
        if endpoint is not None:
            endpoint.on_data = self.on_bytes

    @classmethod
    @abc.abstractmethod
    def create(cls, device_id: str, env: SimEnvironment) -> Simulator: ...

    async def start(self) -> None:
        if self.endpoint is not None:
            await self.endpoint.plug()

    async def stop(self) -> None:
        if self.endpoint is not None:
            await self.endpoint.unplug()

    @property
    def plugged(self) -> bool:
        return self.endpoint is not None and self.endpoint.plugged

    def transport_settings(self) -> AnyTransportSettings:
        if self.endpoint is None:
            raise NotImplementedError("simulators without an endpoint must say how the driver reaches them")
        return self.endpoint.transport_settings()

    def on_bytes(self, data: bytes) -> None:  # noqa: B027 - a device that ignores its input is valid
        """Bytes written by the driver. The default device ignores them."""

    def send(self, data: bytes) -> None:
        if self.endpoint is not None:
            self.endpoint.send(data)

    @classmethod
    def control_models(cls) -> tuple[type[BaseModel], ...]:
        """Every control this simulator takes: its own (:attr:`Control`) and plug/unplug, as their models."""
        own: tuple[type[BaseModel], ...] = () if cls.Control is None else (get_args(cls.Control) or (cls.Control,))
        return (*own, PlugControl)

    @classmethod
    def _adapter(cls) -> TypeAdapter[Any]:
        adapter = cls._control_adapters.get(cls)
        if adapter is None:
            union = PlugControl if cls.Control is None else cls.Control | PlugControl
            adapter = TypeAdapter(union)
            cls._control_adapters[cls] = adapter
        return adapter

    async def control(self, action: dict[str, Any]) -> dict[str, Any]:
        """Apply a fault/input control. Raises pydantic.ValidationError on a malformed action."""
        parsed = self._adapter().validate_python(action)
        if isinstance(parsed, PlugControl):
            if parsed.action == "unplug":
                await self.stop()
            else:
                await self.start()
            return {"plugged": self.plugged}
        return await self.apply(parsed)

    async def apply(self, control: BaseModel) -> dict[str, Any]:
        raise DeviceError(f"simulator {self.device_id} has no control {control!r}")

    def output(self) -> dict[str, Any]:
        """What the simulated device shows or printed (the sim output API)."""
        return {}
