"""Serving the API: bind, start, graceful stop."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import Callable

from aiohttp import web

from api.app import GUARD, build_app
from daemon.service import Daemon
from daemon.systemd import SystemdNotifier, device_summary

_LOGGER = logging.getLogger(__name__)


class HttpServer:
    def __init__(self, daemon: Daemon, host: str | None = None, port: int | None = None) -> None:
        server = daemon.config.server
        self.daemon = daemon
        self.host = host if host is not None else server.host
        self.port = port if port is not None else server.port
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        app = build_app(self.daemon)
        # access_log=None: every scan is a request in some front ends; log lines are not free on a till.
        shutdown_timeout = self.daemon.config.server.shutdown_timeout_s
        runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=shutdown_timeout)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except OSError:
            await runner.cleanup()
            raise
        self._runner = runner
        sockets = runner.addresses
        if sockets:
            self.port = sockets[0][1]
        app[GUARD].bind(self.port)

    def runner_server(self) -> web.Server:
        """The low-level aiohttp server (request counters, connections); for diagnostics and tests."""
        if self._runner is None or self._runner.server is None:
            raise RuntimeError("server is not running")
        return self._runner.server

    async def stop(self) -> None:
        """Stop accepting, close WebSockets with 1001, let in-flight requests finish (bounded)."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()


async def serve(daemon: Daemon, host: str | None, port: int | None, on_ready: Callable[[HttpServer], None]) -> None:
    """Run until SIGTERM or SIGINT, then shut down gracefully."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    http = HttpServer(daemon, host, port)
    systemd = SystemdNotifier.from_environment()
    try:
        await daemon.start()
        await http.start()
        # Objects alive after start-up live for the whole run: keep them out of every future GC pass
        # (full collections otherwise pause the loop for 20-30 ms under load).
        gc.collect()
        gc.freeze()
        on_ready(http)
        # READY=1 only now that the API listens; the watchdog pings run on this loop from here on.
        systemd.ready(lambda: device_summary([d.state.value for d in daemon.manager.devices()]))
        await stop.wait()
        _LOGGER.info("shutting down")
    finally:
        await systemd.stopping()
        await http.stop()
        await daemon.stop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        systemd.close()
