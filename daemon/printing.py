"""Print service: accepts jobs into the journal and runs one strictly FIFO worker per printer.

Guarantees (receipts are at-least-once, never silently doubled):
- a job is in the journal (committed) before the API answers 202;
- a job is marked ``sending`` (committed) before its first byte goes out, so a crash leaves a trace;
- while the printer cannot print (paper end, cover open, offline) the head job is ``held`` with the
  reason, and later jobs wait behind it; it resumes by itself when the printer recovers;
- a send that fails part-way may have printed part of the receipt: it is resent marked as a copy;
- after a crash, jobs found ``sending`` become ``uncertain``: reprinted marked as a copy (policy
  ``reprint``, the default) or held for the operator (``hold``; released or cancelled through the API).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal, ParamSpec, TypeVar

from daemon.config import PrintingConfig
from daemon.drawers import DrawerService, Requester
from daemon.events import EventBus
from daemon.journal import IdempotencyConflict, JobRecord, JobState, Journal
from daemon.manager import DeviceManager, ManagedDevice
from drivers.base import ReceiptPrinter, StateWatch
from drivers.errors import DeviceError, NotSupported, PosdError, PrinterNotReady, TransportError
from drivers.models import DeviceKind, DeviceState

_LOGGER = logging.getLogger(__name__)

JobKind = Literal["document", "raw", "image"]
_P = ParamSpec("_P")
_T = TypeVar("_T")
PURGE_INTERVAL_S = 3600.0

__all__ = ["IdempotencyConflict", "JobKind", "PrintService"]

#: The states the print worker holds a job from (queued, held, or sending when a send failed).
_WORKING = (JobState.QUEUED, JobState.HELD, JobState.SENDING)


def _replace(queue: deque[JobRecord], old: JobRecord, new: JobRecord) -> JobRecord:
    """Put ``new`` where ``old`` is in ``queue`` (by identity); ``new`` either way."""
    for index, queued in enumerate(queue):
        if queued is old:
            queue[index] = new
            break
    return new


class JobNotCancellable(PosdError):
    code = "job_not_cancellable"


class JobNotFound(PosdError):
    code = "job_not_found"


class PrintService:
    def __init__(
        self,
        journal_path: Path,
        manager: DeviceManager,
        bus: EventBus,
        config: PrintingConfig,
        drawers: DrawerService | None = None,
    ) -> None:
        self.journal = Journal(journal_path, config.retention_h)
        self._drawers = drawers
        self._delayed: set[str] = set()
        """Jobs that were held at least once: a drawer kick inside them may no longer fire."""
        self._manager = manager
        self._bus = bus
        self._config = config
        self._queues: dict[str, deque[JobRecord]] = {}
        self._watches: dict[str, StateWatch] = {}
        self._rendered: dict[str, bytes] = {}
        self._tasks: list[asyncio.Task[None]] = []
        # One thread for the jobs' CPU work (rendering, kick scans, previews): never the event loop, which
        # delivers scans meanwhile, and never several threads at once taking turns at the GIL with it.
        self._cpu_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="posd-render")

    # -- lifecycle ---------------------------------------------------------------------------------------
    async def start(self) -> None:
        await self.journal.open()
        policy = self._config.uncertain_policy
        for interrupted in await self.journal.recover_after_crash():
            _LOGGER.warning(
                "job %s on %s was interrupted while sending; policy %s", interrupted.id, interrupted.printer, policy
            )
            if policy == "reprint":
                requeued = await self.journal.set_state(
                    interrupted, JobState.QUEUED, "reprint after interruption", copy=True
                )
                self._publish(requeued)
            else:
                self._publish(interrupted)
        for job in await self.journal.open_jobs():
            if job.state is not JobState.UNCERTAIN:
                self._queue(job.printer).append(job)
        for device in self._manager.devices():
            if device.kind is DeviceKind.PRINTER:
                self._start_worker(device)
        self._tasks.append(asyncio.create_task(self._purge_loop(), name="journal-purge"))

    def _start_worker(self, device: ManagedDevice) -> None:
        watch = self._watch(device.device_id)
        device.add_state_listener(watch.notify)
        self._tasks.append(asyncio.create_task(self._worker(device), name=f"print-queue-{device.device_id}"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        self._cpu_pool.shutdown(wait=False, cancel_futures=True)
        await self.journal.close()

    async def _off_loop(self, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        """Run a job's CPU work on the render thread."""
        return await asyncio.get_running_loop().run_in_executor(self._cpu_pool, functools.partial(fn, *args, **kwargs))

    # -- API side ----------------------------------------------------------------------------------------
    def printer(self, device_id: str) -> tuple[ManagedDevice, ReceiptPrinter]:
        device = self._manager.get(device_id)
        if not isinstance(device.driver, ReceiptPrinter):
            raise NotSupported(f"{device_id} is not a receipt printer")
        return device, device.driver

    async def submit(
        self, printer_id: str, kind: JobKind, payload: bytes, *, client: str, idempotency_key: str | None
    ) -> tuple[JobRecord, bool]:
        """Validate (render), journal (commit), queue. Returns (job, created); raises RenderError on bad input."""
        _, driver = self.printer(printer_id)
        rendered = await self._off_loop(
            driver.render_job,
            kind,
            payload,
            copy=False,
            strict=self._config.strict_encoding,
            replacement=self._config.replacement,
        )
        job, created = await self.journal.add(
            printer=printer_id, kind=kind, payload=payload, client=client, idempotency_key=idempotency_key
        )
        if created:
            self._rendered[job.id] = rendered
            self._queue(printer_id).append(job)
            self._publish(job)
            self._watch(printer_id).notify()
        return job, created

    async def preview(self, printer_id: str, kind: JobKind, payload: bytes) -> bytes:
        """PNG of what the job would print; rendering and drawing run off the event loop."""
        _, driver = self.printer(printer_id)

        def draw() -> bytes:
            data = driver.render_job(
                kind, payload, copy=False, strict=self._config.strict_encoding, replacement=self._config.replacement
            )
            return driver.preview_png(data)

        return await self._off_loop(draw)

    async def drawer_kicks(self, printer_id: str, payload: bytes) -> str | None:
        """The drawer kicks a raw job would fire (None: none), for the scope check and the audit record."""
        _, driver = self.printer(printer_id)
        return await self._off_loop(driver.drawer_kicks, payload)

    async def get(self, job_id: str) -> JobRecord:
        job = await self.journal.get(job_id)
        if job is None:
            raise JobNotFound(f"no job {job_id!r}")
        return job

    async def cancel(self, job_id: str) -> JobRecord:
        job = await self.get(job_id)
        if job.state not in (JobState.QUEUED, JobState.HELD, JobState.UNCERTAIN):
            raise JobNotCancellable(f"job {job_id} is {job.state.value}")
        cancelled = await self.journal.cancel(job_id)
        if cancelled is None or cancelled.state is not JobState.CANCELLED:
            raise JobNotCancellable(f"job {job_id} started sending")
        queue = self._queue(job.printer)
        for queued in list(queue):
            if queued.id == job_id:
                queue.remove(queued)
        self._rendered.pop(job_id, None)
        self._delayed.discard(job_id)
        self._publish(cancelled)
        self._watch(job.printer).notify()
        return cancelled

    async def release(self, job_id: str) -> JobRecord:
        """An uncertain job held for the operator: print it again, marked as a copy."""
        job = await self.get(job_id)
        if job.state is not JobState.UNCERTAIN:
            raise JobNotCancellable(f"job {job_id} is {job.state.value}, not uncertain")
        released = await self.journal.set_state_if(
            job, JobState.QUEUED, "released by operator", copy=True, only_from=(JobState.UNCERTAIN,)
        )
        if released is None:  # released or cancelled by another request meanwhile
            raise JobNotCancellable(f"job {job_id} is no longer uncertain")
        job = released
        self._queue(job.printer).appendleft(job)
        self._publish(job)
        self._watch(job.printer).notify()
        return job

    async def list_jobs(self, printer_id: str, limit: int) -> list[JobRecord]:
        self.printer(printer_id)
        return await self.journal.list_jobs(printer_id, limit)

    # -- worker ------------------------------------------------------------------------------------------
    def _queue(self, printer_id: str) -> deque[JobRecord]:
        return self._queues.setdefault(printer_id, deque())

    def _watch(self, printer_id: str) -> StateWatch:
        return self._watches.setdefault(printer_id, StateWatch())

    def _publish(self, job: JobRecord) -> None:
        self._bus.publish("printer.job", job.printer, job.public())

    @staticmethod
    def _hold_reason(device: ManagedDevice) -> str | None:
        if device.state in (DeviceState.READY, DeviceState.BUSY):
            return None
        if device.state is DeviceState.ERROR and device.reason in ("paper_end", "cover_open"):
            return device.reason
        return "offline"

    async def _hold(
        self, queue: deque[JobRecord], job: JobRecord, reason: str, *, copy: bool | None = None
    ) -> JobRecord | None:
        """Hold ``job`` (in the journal and in ``queue``); None if it was cancelled meanwhile."""
        self._delayed.add(job.id)
        if job.state is JobState.HELD and job.reason == reason and (copy is None or copy == job.copy):
            return job
        held = await self.journal.set_state_if(job, JobState.HELD, reason, copy=copy, only_from=_WORKING)
        if held is None:
            return None
        _replace(queue, job, held)
        self._publish(held)
        return held

    async def _worker(self, device: ManagedDevice) -> None:
        queue = self._queue(device.device_id)
        watch = self._watch(device.device_id)
        driver = device.driver
        assert isinstance(driver, ReceiptPrinter)
        while True:
            if not queue:
                await watch.wait_for(lambda: bool(queue), 3600.0)
                continue
            job = queue[0]
            reason = self._hold_reason(device)
            if reason is not None:
                held = await self._hold(queue, job, reason)

                def can_go_on(held: JobRecord | None = held) -> bool:
                    # The printer recovered, or the held job was cancelled from under us.
                    return self._hold_reason(device) is None or not queue or queue[0] is not held

                await watch.wait_for(can_go_on, 3600.0)
                continue
            data = self._rendered.get(job.id)
            if data is None or job.copy:
                data = await self._off_loop(
                    driver.render_job,
                    job.kind,
                    job.payload,
                    copy=job.copy,
                    strict=False,
                    replacement=self._config.replacement,
                )
            kicks = await self._off_loop(driver.drawer_kicks, job.payload) if job.kind == "raw" else None
            fire_kicks = kicks is not None and self._kick_in_time(job)
            if kicks is not None and not fire_kicks:
                data = await self._off_loop(driver.without_drawer_kicks, data)
            if not queue or queue[0] is not job:
                continue  # cancelled, or a released job went first, while this one was being prepared
            sending = await self.journal.set_state_if(
                job, JobState.SENDING, copy=job.copy, only_from=(JobState.QUEUED, JobState.HELD)
            )
            if sending is None:
                continue  # cancelled just now (the cancel took it out of the queue)
            job = _replace(queue, job, sending)
            self._publish(job)
            if fire_kicks and self._drawers is not None:
                self._drawers.expect_raw_kick(device.device_id, within_s=self._config.raw_kick_expiry_s)
            try:
                await driver.print_bytes(data, check_ready=True)
            except PrinterNotReady as err:
                # Nothing was sent: the printer said no before the first byte.
                await self._hold(queue, job, err.reason)
                continue
            except (TransportError, DeviceError) as err:
                _LOGGER.warning("job %s on %s interrupted: %s; will resend marked COPY", job.id, job.printer, err)
                await self._hold(queue, job, "offline", copy=True)
                continue
            queue.remove(job)  # not popleft: a released job may have gone to the head meanwhile
            self._rendered.pop(job.id, None)
            self._delayed.discard(job.id)
            self._publish(await self.journal.set_state(job, JobState.DONE))
            if kicks is not None:
                await self._audit_raw_kick(device, job, kicks, "sent" if fire_kicks else "expired")

    def _kick_in_time(self, job: JobRecord) -> bool:
        """Kicks are at-most-once and prompt: a raw job's kick fires only on its first, timely attempt."""
        late = time.time() - job.created > self._config.raw_kick_expiry_s
        return not (job.copy or late or job.id in self._delayed)

    async def _audit_raw_kick(
        self, device: ManagedDevice, job: JobRecord, kicks: str, result: Literal["sent", "expired"]
    ) -> None:
        if self._drawers is None:
            return
        if result == "expired":
            kicks += " (removed: the job went out late, after a hold or as a reprint)"
        try:
            await self._drawers.record_raw_job_kick(
                device.device_id, Requester(token=job.client), kicks, job.id, result
            )
        except Exception:
            _LOGGER.critical("could not audit the drawer kick of raw job %s on %s (%s)", job.id, job.printer, result)

    async def _purge_loop(self) -> None:
        while True:
            purged = await self.journal.purge()
            if purged:
                _LOGGER.info("journal: forgot %d finished jobs", purged)
            await asyncio.sleep(PURGE_INTERVAL_S)
