"""The daemon object: config → state dir, tokens, statistics, simulators, device manager, event bus.

The HTTP front end (``api``) is attached by the entry point; this module knows nothing of HTTP.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from daemon import __version__
from daemon.audit import AUDIT_DB, AuditLog
from daemon.config import LoadedConfig, check_peers, default_state_dir
from daemon.database import Database
from daemon.drawers import DrawerService
from daemon.events import EventBus
from daemon.hotplug import Hotplug, HotplugSource, start_hotplug
from daemon.logring import LogRing
from daemon.manager import DeviceManager
from daemon.printing import PrintService
from daemon.security import ADMIN_NAME, Principal, TokenStore, ensure_admin_token
from daemon.simulate import start_simulators, stop_simulators
from daemon.statistics import SCHEMA as STATISTICS_SCHEMA
from daemon.statistics import StatisticsStore
from drivers.errors import ConfigError
from drivers.registry import DriverRegistry
from drivers.simulator import Simulator

_LOGGER = logging.getLogger(__name__)


class Daemon:
    def __init__(
        self,
        loaded: LoadedConfig,
        registry: DriverRegistry,
        *,
        simulate: bool = False,
        hotplug_source: HotplugSource | None = None,
    ) -> None:
        self.loaded = loaded
        self.config = loaded.config
        self.registry = registry
        self.simulate = simulate
        self.version = __version__
        self.state_dir: Path = self.config.state_dir or default_state_dir()
        events = self.config.events
        self.bus = EventBus(
            ring_size=events.ring_size,
            soft_limit=events.subscriber_soft_limit,
            hard_limit=events.subscriber_hard_limit,
            slow_grace=events.slow_grace_s,
        )
        self.tokens = TokenStore()
        self.admin_token = ""
        self.simulators: dict[str, Simulator] = {}
        self._db = Database(self.state_dir / "state.db", STATISTICS_SCHEMA)
        self.statistics = StatisticsStore(self._db)
        self.manager = DeviceManager(self.bus, self.statistics, self.config.supervisor)
        self.audit = AuditLog(self.state_dir / AUDIT_DB)
        self.drawers = DrawerService(self.audit, self.manager, self.config.drawers)
        self.printing = PrintService(
            self.state_dir / "jobs.db", self.manager, self.bus, self.config.printing, drawers=self.drawers
        )
        self.hotplug: Hotplug | None = None
        self._hotplug_source = hotplug_source  # None: udev's netlink monitor
        self.log_ring = LogRing()
        """Recent log records for the support bundle; on the root logger from start to stop."""
        self.started_monotonic = time.monotonic()
        self._stopped = False

    @property
    def uptime_s(self) -> float:
        return time.monotonic() - self.started_monotonic

    async def start(self) -> None:
        """Start everything; if any part fails, stop what already started (threads, files, simulators)."""
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> None:
        self.log_ring.install()
        self.admin_token = ensure_admin_token(self.state_dir)
        self.tokens.add(self.admin_token, Principal(ADMIN_NAME, frozenset({"admin"})))
        self.tokens.add_configured(self.config.tokens)
        await self._db.open()
        await self.statistics.start()
        await self.audit.open()
        devices = list(self.loaded.devices)
        if self.simulate:
            self.simulators, simulated = await start_simulators(
                self.registry, self.state_dir / "sim", self.loaded.simulated
            )
            taken = {d.config.id for d in devices}
            clash = taken.intersection(d.config.id for d in simulated)
            if clash:
                raise ConfigError(f"{self.loaded.source}: device ids {sorted(clash)} clash with simulated devices")
            devices.extend(simulated)
            check_peers(devices, self.loaded.source)
        for device in devices:
            self.manager.add(device)
        self.drawers.start()  # before any device runs: no drawer alert goes unrecorded
        self.manager.start()
        self.hotplug = await start_hotplug(self.manager, self.registry, self.config.hotplug, self._hotplug_source)
        await self.printing.start()
        _LOGGER.info("posd %s started: %d devices, state in %s", self.version, len(devices), self.state_dir)

    async def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self.bus.close_all("server shutting down")
        await self.printing.stop()
        if self.hotplug is not None:
            await self.hotplug.stop()
        await self.manager.stop()
        await stop_simulators(self.simulators)
        await self.drawers.stop()
        await self.statistics.stop()
        await self._db.close()
        await self.audit.close()
        self.log_ring.uninstall()
