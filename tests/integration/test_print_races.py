"""A client acts on a job while the print worker is preparing it (off the event loop): the journal decides.

The worker takes the head job, then awaits its CPU work on the print service's render thread before it marks
the job ``sending``. These tests park that thread on purpose (a task that waits for an event, queued on the
same single-thread pool), so the client's request lands in exactly that window every time.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from tests.conftest import EventStream, RunningDaemon, StartDaemon, stop, until, wait_all_ready
from tests.integration.test_printing import (
    job_states,
    jobs_state_after_cover,
    printed_lines,
    raw_job,
    write_interrupted_job,
)


async def catch_worker_preparing(
    handle: RunningDaemon, jobs: EventStream, text: str
) -> tuple[dict[str, Any], threading.Event, asyncio.Future[bool]]:
    """Submit a raw job and stop the worker while it prepares it: the job waits (held, cover open) while the
    render thread is parked on an event; then the cover closes and the worker takes the job and queues its
    drawer-kick scan behind the parked task. Returns the job, the event that lets the thread go, and the
    parked task."""
    await handle.sim("printer-1", action="fault", cover="open")
    await jobs_state_after_cover(handle)
    job: dict[str, Any] = (await handle.post("/api/v1/printers/printer-1/jobs", raw_job(text))).body["job"]
    await jobs.next("printer.job", where=lambda j: j["id"] == job["id"] and j["state"] == "held")
    release = threading.Event()
    printing = handle.daemon.printing
    parked = asyncio.ensure_future(printing._off_loop(release.wait, 30.0))
    await handle.sim("printer-1", action="fault", cover="closed")
    await until(lambda: printing._cpu_pool._work_queue.qsize() == 1)
    return job, release, parked


async def test_a_job_cancelled_while_being_prepared_is_not_printed_and_the_queue_goes_on(
    sim_daemon: RunningDaemon,
) -> None:
    jobs = await sim_daemon.events("topics=printer.job")
    doomed, release, parked = await catch_worker_preparing(sim_daemon, jobs, "DOOMED")
    cancelled = await sim_daemon.request("DELETE", f"/api/v1/jobs/{doomed['id']}")
    assert (cancelled.status, cancelled.body["job"]["state"]) == (200, "cancelled")
    release.set()
    assert await parked
    # The worker noticed, did not send it, and is alive: the next job prints.
    after = (await sim_daemon.post("/api/v1/printers/printer-1/jobs", raw_job("AFTER"))).body["job"]
    await job_states(jobs, after["id"], "done")
    lines = await printed_lines(sim_daemon)
    assert "AFTER" in lines
    assert "DOOMED" not in lines
    final = await sim_daemon.get(f"/api/v1/jobs/{doomed['id']}")
    assert final.body["job"]["state"] == "cancelled"
    assert not [e for e in jobs.seen if e["data"]["id"] == doomed["id"] and e["data"]["state"] == "sending"]


async def test_a_job_released_while_another_is_being_prepared_prints_once_and_so_does_the_other(
    start_daemon: StartDaemon, tmp_path: Path
) -> None:
    config = '[printing]\nuncertain_policy = "hold"\n'
    state = tmp_path / "state"
    await stop(await start_daemon(config, state_dir=state))
    write_interrupted_job(state, "maybe1", b"\x1b@MAYBE PRINTED\n\x1dV\x00")
    handle = await start_daemon(config, state_dir=state)
    await wait_all_ready(handle)
    jobs = await handle.events("topics=printer.job")
    sale, release, parked = await catch_worker_preparing(handle, jobs, "SALE 7")
    released = await handle.post("/api/v1/jobs/maybe1/release")
    assert released.status == 200, released.body
    again = await handle.post("/api/v1/jobs/maybe1/release")
    assert (again.status, again.body["code"]) == (409, "job_not_cancellable")
    release.set()
    assert await parked
    pending = {sale["id"], "maybe1"}
    while pending:  # one reader for both: either may finish first
        done = await jobs.next("printer.job", where=lambda j: j["id"] in pending and j["state"] == "done")
        pending.discard(done["data"]["id"])
    lines = [line for line in await printed_lines(handle) if line]
    assert lines.count("SALE 7") == 1, lines
    assert lines.count("MAYBE PRINTED") == 1, lines
    # The released job went first, as a release is meant to.
    assert lines.index("MAYBE PRINTED") < lines.index("SALE 7"), lines
