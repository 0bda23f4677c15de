"""Cash drawers as money: who may open them, how often, and a record of every attempt.

:class:`DrawerService` is the one path by which posd opens a drawer. It applies the ``[drawers]`` policy
(``no_sale`` only for the tokens allowed it, a rate limit per drawer), fires the kick once (the driver
never retries it and lets it expire), and writes the outcome to the audit log before anyone is told.
Refused attempts are recorded too, at a bounded rate per drawer so a hostile page cannot fill the disk.
It also records what the drawers report by themselves (opens nobody commanded, a drawer left open): it
listens to each drawer driver's alerts, which are also published as ``drawer.alert`` events.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from daemon.audit import AuditLog, AuditRecord, AuditResult
from daemon.config import DrawersConfig
from daemon.manager import DeviceManager
from drivers.base import CashDrawer
from drivers.drawers import KickExpired, SensedDrawer
from drivers.errors import DeviceError, PosdError
from drivers.models import DeviceKind
from drivers.transports import PeerSettings

_LOGGER = logging.getLogger(__name__)

Reason = Literal["sale", "no_sale", "refund", "float", "pickup", "other"]
REASONS: tuple[Reason, ...] = ("sale", "no_sale", "refund", "float", "pickup", "other")
ADMIN_SCOPE = "admin"


@dataclass(frozen=True)
class Requester:
    """Who asks, as far as the daemon can tell; every field goes into the audit record."""

    token: str | None
    origin: str | None = None
    remote: str | None = None
    operator: str | None = None
    reason: str | None = None
    reference: str | None = None
    is_admin: bool = False


class DrawerRefused(PosdError):
    """The policy refuses this open; ``code`` says which rule (the API's problem code)."""

    def __init__(self, code: str, detail: str, audit_id: int | None, retry_after_s: float | None = None) -> None:
        super().__init__(detail)
        self.code = code
        self.audit_id = audit_id
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class OpenOutcome:
    record: AuditRecord
    opened: bool | None
    """True sensed open, False kicked but never sensed open, None no sensor."""
    error: PosdError | None = None
    """Set when the kick expired or failed (the record says which)."""


class SlidingWindow:
    """At most ``limit`` events per ``window`` seconds."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._times: deque[float] = deque()

    def _expire(self, now: float) -> None:
        while self._times and now - self._times[0] >= self.window:
            self._times.popleft()

    def retry_after(self) -> float | None:
        """None if one more event is allowed now, else seconds until it is."""
        now = self._clock()
        self._expire(now)
        if len(self._times) < self.limit:
            return None
        return self.window - (now - self._times[0])

    def add(self) -> None:
        self._times.append(self._clock())


class DrawerService:
    def __init__(
        self,
        audit: AuditLog,
        manager: DeviceManager,
        config: DrawersConfig,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.audit = audit
        self._manager = manager
        self._config = config
        self._clock = clock
        self._opens: dict[str, SlidingWindow] = {}
        self._refusals: dict[str, SlidingWindow] = {}
        self._suppressed: dict[str, int] = {}
        self._writes: set[asyncio.Task[None]] = set()

    # -- lifecycle ----------------------------------------------------------------------------------
    def start(self) -> None:
        """Listen to the alerts of the drawers the manager has (call after the devices are added, before they run)."""
        for device in self._manager.devices():
            if isinstance(device.driver, SensedDrawer):
                device.driver.add_alert_listener(functools.partial(self._on_alert, device.device_id))

    async def stop(self) -> None:
        """Wait for the alert records still being written."""
        if self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)

    def _on_alert(self, device_id: str, data: dict[str, Any]) -> None:
        task = asyncio.create_task(self._record_alert(device_id, data), name=f"audit-alert-{device_id}")
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def _record_alert(self, device_id: str, data: dict[str, Any]) -> None:
        alert = data.get("alert")
        try:
            if alert == "opened_unexpectedly":
                await self.audit.record(
                    action="sensed",
                    result="opened_unexpectedly",
                    device=device_id,
                    detail="the drawer opened without a kick from posd (key, hand, or another program)",
                )
            elif alert == "open_too_long":
                await self.audit.record(
                    action="alert", result="open_too_long", device=device_id, detail=f"open for {data.get('open_s')} s"
                )
        except Exception:
            _LOGGER.exception("could not write drawer alert %s of %s to the audit log", alert, device_id)

    # -- opening --------------------------------------------------------------------------------------
    def drawer(self, device_id: str) -> CashDrawer:
        """The drawer's driver. DeviceNotFound / DeviceError for an unknown id or another kind of device."""
        device = self._manager.get(device_id)
        if device.kind is not DeviceKind.DRAWER or not isinstance(device.driver, CashDrawer):
            raise DeviceError(f"{device_id} is a {device.kind.value}, not a drawer")
        return device.driver

    async def open(self, device_id: str, who: Requester) -> OpenOutcome:
        """Apply the policy, kick once, record the outcome. Raises DrawerRefused (already recorded)."""
        drawer = self.drawer(device_id)
        if who.reason == "no_sale" and not (who.is_admin or who.token in self._config.no_sale_tokens):
            await self._refuse(device_id, who, "no_sale_not_allowed", f"token {who.token!r} may not open for no_sale")
        window = self._opens.setdefault(
            device_id, SlidingWindow(self._config.max_opens, self._config.rate_window_s, self._clock)
        )
        retry_after = window.retry_after()
        if retry_after is not None:
            detail = f"more than {self._config.max_opens} opens in {self._config.rate_window_s:g} s"
            await self._refuse(device_id, who, "rate_limited", detail, retry_after)
        window.add()

        was_open = drawer.opened
        result: AuditResult
        error: PosdError | None = None
        opened: bool | None = None
        try:
            opened = await drawer.open_drawer()
        except KickExpired as err:
            result, detail, error = "expired", f"{err}; not sent, never will be", err
        except PosdError as err:
            result, detail, error = "failed", f"{type(err).__name__}: {err}; the kick is not retried", err
        except Exception as err:  # a driver bug: still on record, since the kick may have gone out
            _LOGGER.exception("%s: open failed", device_id)
            result, detail = "failed", f"{type(err).__name__}: {err}; the kick is not retried"
            error = DeviceError(f"the drawer driver failed: {type(err).__name__}")
        except asyncio.CancelledError:
            # The daemon is stopping mid-kick: the kick may have gone out. Record that, then stop.
            await asyncio.shield(self._record(device_id, who, "failed", "interrupted; the kick may have been sent"))
            raise
        else:
            if opened is None:
                result, detail = "sent", "kick sent; this drawer has no sensor"
            elif opened:
                result, detail = "opened", "was already open" if was_open else "sensed open"
            else:
                result, detail = "failed", "kick sent, but the sensor never showed the drawer open"
        record = await self._record(device_id, who, result, detail)
        return OpenOutcome(record, opened, error)

    # -- raw print jobs that kick the drawer (issue 7 calls these) ---------------------------------------
    def drawers_on(self, printer_id: str) -> list[str]:
        """Ids of the drawers wired to ``printer_id``'s kick connector."""
        return [
            d.device_id
            for d in self._manager.devices()
            if isinstance(d.resolved.config.transport, PeerSettings)
            and d.resolved.config.transport.device == printer_id
        ]

    def expect_raw_kick(self, printer_id: str, within_s: float) -> None:
        """Call just before sending a raw job with a kick: the drawer's open is then not "unexpected"."""
        for device_id in self.drawers_on(printer_id):
            driver = self._manager.get(device_id).driver
            if isinstance(driver, SensedDrawer):
                driver.expect_open(within_s)

    async def record_raw_job_kick(
        self, printer_id: str, who: Requester, kicks: str, job_id: str, result: AuditResult
    ) -> AuditRecord:
        """Audit a raw print job that contains a drawer kick (``kicks``: the printer driver's description).

        ``result``: ``refused`` (no drawer scope), ``sent`` (the kick went out with the job), ``expired`` (the
        job went out late — held, reprinted — with its kick removed), ``failed``.
        """
        pulses = kicks
        return await self.audit.record(
            action="raw_job_kick",
            result=result,
            device=",".join(self.drawers_on(printer_id)) or printer_id,
            token=who.token,
            origin=who.origin,
            remote=who.remote,
            operator=who.operator,
            reason=who.reason,
            reference=who.reference,
            detail=f"raw print job {job_id} on {printer_id}: {pulses}",
        )

    async def _record(self, device_id: str, who: Requester, result: AuditResult, detail: str) -> AuditRecord:
        try:
            return await self.audit.record(
                action="open",
                result=result,
                device=device_id,
                token=who.token,
                origin=who.origin,
                remote=who.remote,
                operator=who.operator,
                reason=who.reason,
                reference=who.reference,
                detail=detail,
            )
        except Exception:
            # The kick may already be out: the journal must hold what the audit log could not.
            _LOGGER.critical("AUDIT WRITE FAILED: %s open %s for %r: %s", device_id, result, who, detail)
            raise

    async def _refuse(
        self, device_id: str, who: Requester, code: str, detail: str, retry_after_s: float | None = None
    ) -> None:
        record = await self.record_refusal(device_id, who, code, detail)
        raise DrawerRefused(code, detail, record.id if record else None, retry_after_s)

    async def record_refusal(self, device_id: str, who: Requester, code: str, detail: str) -> AuditRecord | None:
        """Record a refused open (policy here, or the API's guard: origin, token, scope, bad body).

        Returns None when this drawer's refusal budget for the minute is spent: the refusal is then only
        counted, and the count goes into the next refusal that is recorded.
        """
        budget = self._refusals.setdefault(
            device_id, SlidingWindow(self._config.refusal_records_per_minute, 60.0, self._clock)
        )
        if budget.retry_after() is not None:
            self._suppressed[device_id] = self._suppressed.get(device_id, 0) + 1
            return None
        budget.add()
        suppressed = self._suppressed.pop(device_id, 0)
        text = f"{code}: {detail}"
        if suppressed:
            text += f" (+{suppressed} similar refusals not recorded one by one)"
        return await self._record(device_id, who, "refused", text)
