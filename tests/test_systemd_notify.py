"""sd_notify over a real AF_UNIX datagram socket: READY, STATUS, WATCHDOG pings from the event loop, STOPPING.

The socket is bound by the test and read by a thread, which keeps receiving while the event loop is blocked:
that is what shows a blocked loop stops the pings (and systemd, seeing no ping within WatchdogSec, restarts
the service).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from daemon.systemd import SystemdNotifier, device_summary
from tests.conftest import until


class NotifySocket:
    """What systemd's end of NOTIFY_SOCKET sees: (arrival time, message) pairs, received on a thread."""

    def __init__(self, address: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind("\0" + address[1:] if address.startswith("@") else address)
        self.sock.settimeout(0.05)
        self.messages: list[tuple[float, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._receive, name="notify-socket", daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            self.messages.append((time.monotonic(), data.decode()))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()

    def pings(self) -> list[float]:
        return [at for at, message in list(self.messages) if "WATCHDOG=1" in message.split("\n")]

    def with_line(self, line: str) -> list[str]:
        return [message for _, message in list(self.messages) if line in message.split("\n")]


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[NotifySocket]:
    receiver = NotifySocket(str(tmp_path / "notify.sock"))
    yield receiver
    receiver.close()


def _env(path: str, watchdog_usec: int | None = None, pid: int | None = None) -> dict[str, str]:
    env = {"NOTIFY_SOCKET": path}
    if watchdog_usec is not None:
        env["WATCHDOG_USEC"] = str(watchdog_usec)
    if pid is not None:
        env["WATCHDOG_PID"] = str(pid)
    return env


async def test_ready_status_watchdog_and_stopping(notify_socket: NotifySocket, tmp_path: Path) -> None:
    states = ["ready", "connecting"]
    notifier = SystemdNotifier.from_environment(_env(str(tmp_path / "notify.sock"), watchdog_usec=100_000))
    assert notifier.watchdog_interval_s == 0.1
    notifier.ready(lambda: device_summary(states))
    await until(lambda: len(notify_socket.pings()) >= 3)
    first = notify_socket.messages[0][1].split("\n")
    assert first == ["READY=1", "STATUS=1 of 2 devices ready"]
    # A changed status rides on the next ping; an unchanged one is not repeated.
    states[1] = "ready"
    await until(lambda: bool(notify_socket.with_line("STATUS=2 of 2 devices ready")))
    assert len(notify_socket.with_line("STATUS=2 of 2 devices ready")) == 1
    assert _watchdog_tasks() == 1
    await notifier.stopping()
    await until(lambda: bool(notify_socket.with_line("STOPPING=1")))
    assert _watchdog_tasks() == 0  # no task left to ping
    notifier.close()


def _watchdog_tasks() -> int:
    return sum(1 for task in asyncio.all_tasks() if task.get_name() == "sd-watchdog" and not task.done())


async def test_blocked_event_loop_stops_the_watchdog_pings(notify_socket: NotifySocket, tmp_path: Path) -> None:
    interval_s = 0.2  # WatchdogSec; pings every 0.1 s
    notifier = SystemdNotifier.from_environment(_env(str(tmp_path / "notify.sock"), watchdog_usec=200_000))
    notifier.ready()
    await until(lambda: len(notify_socket.pings()) >= 4)

    # Block the event loop (a stuck callback) for five watchdog intervals.
    blocked_from = time.monotonic()
    time.sleep(5 * interval_s)  # noqa: ASYNC251 - blocking the loop is the point of this test
    blocked_until = time.monotonic()

    resumed = len(notify_socket.pings()) + 2
    await until(lambda: len(notify_socket.pings()) >= resumed)
    pings = notify_socket.pings()
    # A ping sent just before the block may be stamped a little after it started; allow half a period.
    during = [at for at in pings if blocked_from + interval_s / 2 < at < blocked_until]
    assert during == [], f"{len(during)} pings while the loop was blocked"
    # So systemd saw a silence longer than WatchdogSec, and would have restarted the service …
    gaps = [later - earlier for earlier, later in itertools.pairwise(pings)]
    assert max(gaps) > interval_s
    # … while before the block, the pings kept well inside it.
    before = [at for at in pings if at < blocked_from]
    assert max(b - a for a, b in itertools.pairwise(before)) < interval_s
    await notifier.stopping()
    notifier.close()


async def test_watchdog_meant_for_another_process_is_not_pinged(notify_socket: NotifySocket, tmp_path: Path) -> None:
    address = str(tmp_path / "notify.sock")
    other = SystemdNotifier.from_environment(_env(address, watchdog_usec=100_000, pid=os.getpid() + 1))
    assert other.watchdog_interval_s is None
    mine = SystemdNotifier.from_environment(_env(address, watchdog_usec=100_000, pid=os.getpid()))
    assert mine.watchdog_interval_s == 0.1
    other.ready()
    await until(lambda: bool(notify_socket.with_line("READY=1")))
    assert _watchdog_tasks() == 0
    assert notify_socket.pings() == []
    await other.stopping()
    other.close()


async def test_abstract_socket_address(tmp_path: Path) -> None:
    address = f"@posd-test-{os.getpid()}-{time.monotonic_ns()}"
    receiver = NotifySocket(address)
    try:
        notifier = SystemdNotifier.from_environment({"NOTIFY_SOCKET": address})
        notifier.ready()
        await until(lambda: bool(receiver.with_line("READY=1")))
        notifier.close()
    finally:
        receiver.close()


def test_outside_systemd_every_call_is_a_no_op() -> None:
    notifier = SystemdNotifier.from_environment({})
    assert not notifier.enabled
    assert notifier.notify("READY=1") is False


def test_unreachable_socket_is_reported_not_raised(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    notifier = SystemdNotifier.from_environment({"NOTIFY_SOCKET": str(tmp_path / "nobody-listens")})
    assert notifier.notify("READY=1") is False
    assert notifier.notify("WATCHDOG=1") is False
    assert caplog.text.count("cannot notify systemd") == 1
    notifier.close()


@pytest.mark.timeout(60)
async def test_posd_serve_notifies_ready_after_listening_and_stopping_on_sigterm(
    notify_socket: NotifySocket, tmp_path: Path
) -> None:
    """The real command under a notify socket: READY once the API answers, pings, STATUS, STOPPING."""
    config = tmp_path / "posd.toml"
    config.write_text("[hotplug]\nenabled = false\n")
    env = {**os.environ, **_env(str(tmp_path / "notify.sock"), watchdog_usec=400_000)}
    env.pop("WATCHDOG_PID", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "daemon", "serve", "--simulate", "--port", "0", "--state-dir", str(tmp_path / "state")),
        *("--config", str(config)),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        match = re.search(r"ready on (http://127\.0\.0\.1:\d+)", line)
        assert match, line
        await until(lambda: bool(notify_socket.with_line("READY=1")), timeout=10)
        async with aiohttp.ClientSession() as session, session.get(match.group(1) + "/api/v1/health") as response:
            assert response.status == 200
        await until(lambda: len(notify_socket.pings()) >= 2, timeout=10)
        await until(lambda: bool(notify_socket.with_line("STATUS=5 of 5 devices ready")), timeout=15)
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 20) == 0
        assert notify_socket.with_line("STOPPING=1")
        ready_at = next(at for at, message in notify_socket.messages if "READY=1" in message.split("\n"))
        first_ping = notify_socket.pings()[0]
        assert ready_at <= first_ping
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
