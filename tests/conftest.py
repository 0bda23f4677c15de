"""Shared fixtures: a leak check on every async test, and a real daemon on real sockets.

``running_daemon`` starts the daemon in the test's event loop with its simulators behind real ptys and
TCP sockets and the HTTP server on a free loopback port; tests talk to it with a real aiohttp client.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from api.server import HttpServer
from daemon.config import load_config
from daemon.service import Daemon
from drivers.registry import DriverRegistry

EVENT_TIMEOUT = 5.0

# Supervisor settings that keep retries quick in tests (the defaults are for tills).
FAST_SUPERVISOR = """
[supervisor]
backoff_initial_s = 0.05
backoff_max_s = 0.5
"""


def pytest_configure(config: pytest.Config) -> None:
    # The daemons the tests start as processes read POSD_* variables as configuration and refuse unknown
    # ones: whatever the developer's shell or CI sets under that prefix must not reach them.
    for name in [name for name in os.environ if name.startswith("POSD_")]:
        del os.environ[name]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        function = getattr(item, "function", None)
        if function is not None and inspect.iscoroutinefunction(function):
            item.add_marker(pytest.mark.usefixtures("no_leaked_tasks"))


@pytest.fixture
async def no_leaked_tasks() -> AsyncIterator[None]:
    """Fail a test that leaves tasks running or SQLite threads behind (pymodbus does the same)."""
    before = asyncio.all_tasks()
    threads_before = {t.name for t in threading.enumerate()}
    yield
    current = asyncio.current_task()
    leaked = {t for t in asyncio.all_tasks() - before if t is not current and not t.done()}
    if leaked:
        # Give tasks that are finishing on their own one second; then they count as leaked.
        _, leaked = await asyncio.wait(leaked, timeout=1.0)
    for task in leaked:
        task.cancel()
    assert not leaked, f"test leaked tasks: {sorted(t.get_name() for t in leaked)}"
    stray = {t.name for t in threading.enumerate()} - threads_before
    stray = {name for name in stray if name.startswith("sqlite-")}
    assert not stray, f"test leaked threads: {sorted(stray)}"


@dataclass
class Response:
    status: int
    body: Any
    headers: dict[str, str]


class EventStream:
    """A WebSocket client of /api/v1/events that waits for events with a timeout."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.hello: dict[str, Any] = {}
        self.seen: list[dict[str, Any]] = []

    async def receive_json(self, timeout: float = EVENT_TIMEOUT) -> dict[str, Any]:
        msg = await self.ws.receive(timeout=timeout)
        if msg.type is not aiohttp.WSMsgType.TEXT:
            raise AssertionError(f"expected a text frame, got {msg.type!r} {msg.data!r} {msg.extra!r}")
        data: dict[str, Any] = json.loads(msg.data)
        return data

    async def next(
        self,
        topic: str | None = None,
        device: str | None = None,
        where: Callable[[dict[str, Any]], bool] | None = None,
        timeout: float = EVENT_TIMEOUT,
    ) -> dict[str, Any]:
        """The next event matching topic/device/predicate; fails after ``timeout`` seconds."""
        async with asyncio.timeout(timeout):
            while True:
                event = await self.receive_json(timeout)
                self.seen.append(event)
                if topic is not None and event.get("topic") != topic:
                    continue
                if device is not None and event.get("device") != device:
                    continue
                if where is not None and not where(event["data"]):
                    continue
                return event

    async def close(self) -> None:
        await self.ws.close()


@dataclass
class RunningDaemon:
    daemon: Daemon
    http: HttpServer
    session: aiohttp.ClientSession
    token: str
    streams: list[EventStream] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.http.url

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.http.port}"

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = "admin",
        headers: dict[str, str] | None = None,
        data: bytes | str | None = None,
    ) -> Response:
        all_headers = dict(headers or {})
        if token is not None:
            all_headers.setdefault("Authorization", f"Bearer {self.token if token == 'admin' else token}")
        kwargs: dict[str, Any] = {"headers": all_headers}
        if body is not None:
            kwargs["json"] = body
        elif data is not None:
            kwargs["data"] = data
        async with self.session.request(method, self.url + path, **kwargs) as response:
            raw = await response.read()
            try:
                parsed: Any = json.loads(raw) if raw else None
            except ValueError:
                parsed = raw
            return Response(response.status, parsed, dict(response.headers))

    async def get(self, path: str, **kwargs: Any) -> Response:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, body: Any = None, **kwargs: Any) -> Response:
        return await self.request("POST", path, {} if body is None and "data" not in kwargs else body, **kwargs)

    async def sim(self, device: str, **action: Any) -> Response:
        response = await self.post(f"/api/v1/sim/{device}", action)
        assert response.status == 200, response.body
        return response

    async def events(
        self, query: str = "", token: str | None = None, headers: dict[str, str] | None = None
    ) -> EventStream:
        ws = await self.session.ws_connect(
            self.url + "/api/v1/events" + (f"?{query}" if query else ""), headers=headers
        )
        stream = EventStream(ws)
        self.streams.append(stream)
        await ws.send_json({"type": "auth", "token": token or self.token})
        stream.hello = await stream.receive_json()
        assert stream.hello["type"] == "hello", stream.hello
        return stream

    async def wait_state(self, stream: EventStream, device: str, state: str, timeout: float = EVENT_TIMEOUT) -> None:
        """Wait for ``device`` to be in ``state`` (already, or by a device.state event)."""
        current = await self.get(f"/api/v1/devices/{device}")
        if current.body["device"]["state"] == state:
            return
        await stream.next("device.state", device, lambda d: d["state"] == state, timeout)

    async def wait_all_state(
        self, stream: EventStream, devices: Iterable[str], state: str, timeout: float = EVENT_TIMEOUT
    ) -> None:
        """Wait for every one of ``devices`` to be in ``state``, reading ``stream`` from one task.

        One WebSocket has one reader, so the devices cannot each wait on it; and a sequential wait
        would consume another device's event while waiting for the first.
        """
        pending = set(devices)
        listing = await self.get("/api/v1/devices")
        pending -= {d["id"] for d in listing.body["devices"] if d["state"] == state}
        async with asyncio.timeout(timeout):
            while pending:
                event = await stream.next("device.state", where=lambda d: d["state"] == state, timeout=timeout)
                pending.discard(event["device"])


StartDaemon = Callable[..., Awaitable[RunningDaemon]]


async def until(condition: Callable[[], bool], timeout: float = EVENT_TIMEOUT) -> None:
    """Wait for a condition on state that announces no event; fails after ``timeout``."""
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110 - the state has no event to await
            await asyncio.sleep(0.002)


@pytest.fixture
async def start_daemon(tmp_path: Path) -> AsyncIterator[StartDaemon]:
    """Factory: ``await start_daemon(config_toml="", simulate=True, registry=None)``."""
    running: list[RunningDaemon] = []

    async def start(
        config_toml: str = "",
        *,
        simulate: bool = True,
        registry: DriverRegistry | None = None,
        fast: bool = True,
        state_dir: Path | None = None,
    ) -> RunningDaemon:
        directory = tmp_path / f"daemon{len(running)}"
        directory.mkdir()
        config_file = directory / "posd.toml"
        text = f'state_dir = "{state_dir or directory / "state"}"\n' + config_toml
        if fast and "[supervisor]" not in config_toml:
            text += FAST_SUPERVISOR
        config_file.write_text(text)
        registry = registry or DriverRegistry.builtin()
        loaded = load_config(config_file, registry, env={}, overrides={"server": {"port": 0}})
        daemon = Daemon(loaded, registry, simulate=simulate)
        await daemon.start()
        http = HttpServer(daemon)
        await http.start()
        session = aiohttp.ClientSession()
        handle = RunningDaemon(daemon, http, session, daemon.admin_token)
        running.append(handle)
        return handle

    yield start
    for handle in reversed(running):
        for stream in handle.streams:
            await stream.close()
        await handle.session.close()
        await handle.http.stop()
        await handle.daemon.stop()


SIMULATED_IDS = ("printer-1", "drawer-1", "scanner-1", "scale-1", "display-1")


async def wait_all_ready(handle: RunningDaemon) -> None:
    stream = await handle.events("topics=device.state")
    for device in SIMULATED_IDS:
        await handle.wait_state(stream, device, "ready")
    await stream.close()
    handle.streams.remove(stream)


async def stop(handle: RunningDaemon) -> None:
    """Stop a daemon before the end of the test (teardown then skips it)."""
    for stream in handle.streams:
        await stream.close()
    await handle.session.close()
    await handle.http.stop()
    await handle.daemon.stop()


@pytest.fixture
async def sim_daemon(start_daemon: StartDaemon) -> RunningDaemon:
    """A simulate-mode daemon whose five devices are all ready."""
    handle = await start_daemon()
    await wait_all_ready(handle)
    return handle
