"""systemd supervision: sd_notify READY / WATCHDOG / STATUS / STOPPING over ``$NOTIFY_SOCKET``.

The protocol is a datagram of ``KEY=value`` lines to an AF_UNIX socket (sd_notify(3)); a few lines with
:mod:`socket` need no dependency. Outside systemd (no ``NOTIFY_SOCKET``) every call is a no-op.

The watchdog pings come from a task on the event loop at half of ``WATCHDOG_USEC``: a loop that is blocked
(a stuck callback, a blocking call) or hung stops the pings, and systemd kills and restarts the service
(``WatchdogSec=`` with ``Restart=on-failure``). That is the point: a ping from another thread would keep a
dead loop looking alive.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Callable, Mapping

_LOGGER = logging.getLogger(__name__)

StatusLine = Callable[[], str]


class SystemdNotifier:
    """Sends sd_notify messages; built from the environment systemd gives a ``Type=notify`` service."""

    def __init__(self, address: str | None, watchdog_usec: int | None = None) -> None:
        self.address = address
        self.watchdog_interval_s = watchdog_usec / 1_000_000 if watchdog_usec else None
        self._socket: socket.socket | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self._last_status: str | None = None
        self._warned = False

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None) -> SystemdNotifier:
        env = os.environ if env is None else env
        address = env.get("NOTIFY_SOCKET") or None
        watchdog_usec: int | None = None
        raw_usec = env.get("WATCHDOG_USEC", "")
        watchdog_pid = env.get("WATCHDOG_PID", "")
        # WATCHDOG_PID names the process the watchdog is meant for; a child that inherited it must not ping.
        if raw_usec.isdigit() and int(raw_usec) > 0 and (not watchdog_pid or watchdog_pid == str(os.getpid())):
            watchdog_usec = int(raw_usec)
        return cls(address, watchdog_usec)

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def notify(self, message: str) -> bool:
        """Send one message (``READY=1``, ``STATUS=…``); True if it was handed to the socket. Never raises."""
        if self.address is None:
            return False
        try:
            if self._socket is None:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                sock.setblocking(False)  # on the event loop: a full socket drops this ping, never waits
                self._socket = sock
            # A leading '@' is the abstract namespace (sd_notify(3)).
            target = "\0" + self.address[1:] if self.address.startswith("@") else self.address
            self._socket.sendto(message.encode(), target)
        except OSError as err:
            if not self._warned:
                self._warned = True
                _LOGGER.warning("cannot notify systemd at %s: %s", self.address, err)
            return False
        return True

    def ready(self, status: StatusLine | None = None) -> None:
        """Tell systemd start-up is complete and start the watchdog pings (call with the loop running)."""
        lines = ["READY=1"]
        if status is not None:
            self._last_status = status()
            lines.append(f"STATUS={self._last_status}")
        self.notify("\n".join(lines))
        if self.enabled and self.watchdog_interval_s is not None and self._watchdog is None:
            self._watchdog = asyncio.create_task(self._ping(self.watchdog_interval_s / 2, status), name="sd-watchdog")

    async def _ping(self, every_s: float, status: StatusLine | None) -> None:
        while True:
            message = "WATCHDOG=1"
            if status is not None and (line := status()) != self._last_status:
                self._last_status = line
                message += f"\nSTATUS={line}"
            self.notify(message)
            await asyncio.sleep(every_s)

    async def stopping(self) -> None:
        """Tell systemd the service is shutting down; stop the watchdog pings."""
        self.notify("STOPPING=1\nSTATUS=shutting down")
        task, self._watchdog = self._watchdog, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None


def device_summary(states: list[str]) -> str:
    """The STATUS line (``systemctl status posd``): how many devices are ready."""
    ready = sum(1 for state in states if state in ("ready", "busy"))
    return f"{ready} of {len(states)} devices ready"
