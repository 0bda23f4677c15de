"""Restart and shutdown: statistics persist; in-flight requests finish."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.conftest import StartDaemon, stop, until, wait_all_ready


async def test_statistics_survive_a_restart(start_daemon: StartDaemon, tmp_path: Path) -> None:
    state = tmp_path / "shared-state"
    first = await start_daemon(state_dir=state)
    await wait_all_ready(first)
    scans = await first.events("topics=scanner.scan")
    for label in ("7891000315507", "96385074"):
        await first.sim("scanner-1", action="scan", data=label, symbology="UNKNOWN")
        await scans.next("scanner.scan")
    await stop(first)

    second = await start_daemon(state_dir=state)
    device = (await second.get("/api/v1/devices/scanner-1")).body["device"]
    assert device["stats"]["GoodScanCount"] == 2
    assert (state / "admin.token").read_text().strip() == second.token == first.token


async def test_in_flight_request_finishes_during_shutdown(start_daemon: StartDaemon) -> None:
    handle = await start_daemon()
    await wait_all_ready(handle)
    weights = await handle.events("topics=scale.weight")
    await handle.sim("scale-1", action="status", status="motion")
    await weights.next("scale.weight", where=lambda w: w["status"] == "motion")
    # A stable read that waits (the scale keeps moving) is in flight when shutdown starts.
    server = handle.http.runner_server()
    handled = server.requests_count
    reading = asyncio.create_task(handle.get("/api/v1/scales/scale-1/weight?stable=true&timeout_ms=700"))
    await until(lambda: server.requests_count > handled)
    await handle.http.stop()
    response = await reading
    assert response.status == 504
    assert response.body["code"] == "weight_not_stable"
