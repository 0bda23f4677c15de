"""Supervision: a failing driver is retried with capped backoff and never takes anything else down."""

from __future__ import annotations

import asyncio
import logging
import os
import tty
from collections.abc import AsyncIterator
from importlib.metadata import EntryPoint

import pytest

from daemon.config import SupervisorConfig
from daemon.manager import DeviceManager
from drivers.registry import ENTRY_POINT_GROUP, DriverRegistry
from tests.conftest import StartDaemon
from tests.plugin_driver import FlakyScanner


@pytest.fixture
async def tcp_device() -> AsyncIterator[int]:
    """A TCP peer that accepts and stays silent, like a device server with nothing to say."""
    connections: list[asyncio.StreamWriter] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    for writer in connections:
        writer.close()
    server.close()
    await server.wait_closed()


def plugin_registry() -> DriverRegistry:
    point = EntryPoint(name="flaky", value="tests.plugin_driver:specs", group=ENTRY_POINT_GROUP)
    return DriverRegistry.with_plugins(lambda: [point])


async def test_plugin_driver_failing_is_retried_and_isolated(start_daemon: StartDaemon, tcp_device: int) -> None:
    FlakyScanner.sessions.clear()
    config = f"""
[[devices]]
id = "flaky-1"
driver = "flaky-scanner"
transport = {{ type = "tcp", host = "127.0.0.1", port = {tcp_device} }}
options = {{ failures = 2 }}
"""
    handle = await start_daemon(config, registry=plugin_registry())
    # since=0 replays what happened before this client connected.
    stream = await handle.events("since=0&topics=device.state")
    errors = []
    while True:
        event = await stream.next("device.state")
        if event["device"] == "flaky-1" and event["data"]["state"] == "error":
            errors.append(event["data"]["reason"])
        if event["device"] == "flaky-1" and event["data"]["state"] == "ready":
            break
    assert len(errors) == 2
    assert errors[0].startswith("driver failed: RuntimeError: bug on session 1; retry in")
    assert FlakyScanner.sessions["flaky-1"] == 3
    # Everything else came up regardless, and the daemon answers.
    for device in ("printer-1", "scanner-1", "scale-1", "display-1"):
        await handle.wait_state(stream, device, "ready")
    assert (await handle.get("/api/v1/health", token=None)).status == 200


async def test_unreachable_device_is_offline_with_reason_and_retry(
    start_daemon: StartDaemon, tmp_path_factory: pytest.TempPathFactory
) -> None:
    missing = tmp_path_factory.mktemp("dev") / "ttyUSB9"
    config = f"""
[[devices]]
id = "scanner-9"
driver = "serial-scanner"
transport = {{ type = "serial", port = "{missing}" }}
"""
    handle = await start_daemon(config, simulate=False)
    stream = await handle.events("topics=device.state&devices=scanner-9")
    event = await stream.next("device.state", where=lambda d: d["state"] == "offline")
    # The address reads as a technician would write it, not as a Python dict.
    assert event["data"]["reason"].startswith(f"cannot open serial {missing} 9600 8N1: "), event["data"]["reason"]
    device = (await handle.get("/api/v1/devices/scanner-9")).body["device"]
    assert device["retry_in_s"] is not None
    # The device appears; a reconnect request (what hot-plug does) skips the rest of the backoff.
    master, slave = os.openpty()
    tty.setraw(master)
    tty.setraw(slave)
    missing.symlink_to(os.ttyname(slave))
    reconnect = await handle.post("/api/v1/devices/scanner-9/reconnect")
    assert reconnect.status == 200
    await stream.next("device.state", where=lambda d: d["state"] == "ready")
    scans = await handle.events("topics=scanner.scan")
    os.write(master, b"]E05901234123457\r")
    assert (await scans.next("scanner.scan"))["data"]["data"] == "5901234123457"
    os.close(master)
    os.close(slave)


def test_backoff_is_exponential_and_capped() -> None:
    config = SupervisorConfig(backoff_initial_s=0.5, backoff_max_s=30.0)
    manager = DeviceManager.__new__(DeviceManager)
    manager._config = config
    delays = [manager._backoff(attempt) for attempt in range(12)]
    for attempt, delay in enumerate(delays):
        base = min(30.0, 0.5 * 2**attempt)
        assert 0.8 * base <= delay <= 1.2 * base, (attempt, delay)
    assert max(delays) <= 36.0


def test_broken_plugin_is_reported_not_fatal(caplog: pytest.LogCaptureFixture) -> None:
    broken = EntryPoint(name="broken", value="tests.no_such_module:specs", group=ENTRY_POINT_GROUP)
    good = EntryPoint(name="flaky", value="tests.plugin_driver:SPEC", group=ENTRY_POINT_GROUP)
    with caplog.at_level(logging.ERROR):
        registry = DriverRegistry.with_plugins(lambda: [broken, good])
    assert registry.find("flaky-scanner") is not None
    assert registry.find("escpos") is not None
    assert "driver plug-in broken" in caplog.text
