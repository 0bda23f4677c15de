"""Print jobs through the real API, journal and simulated printer (TCP): states, idempotency, holds."""

from __future__ import annotations

import base64
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tests.conftest import EventStream, RunningDaemon, StartDaemon, stop, wait_all_ready

CUT = b"\x1dV\x00"


def raw_job(text: str, *, cut: bool = True) -> dict[str, Any]:
    return {"raw": base64.b64encode(b"\x1b@" + text.encode() + b"\n" + (CUT if cut else b"")).decode()}


async def job_states(stream: EventStream, job_id: str, final: str) -> list[str]:
    states: list[str] = []
    while not states or states[-1] != final:
        event = await stream.next("printer.job", where=lambda j: j["id"] == job_id)
        states.append(event["data"]["state"])
    return states


def write_interrupted_job(state: Path, job_id: str, payload: bytes) -> None:
    """What a crash between "sending" and "done" leaves in the journal, written the way the journal writes it."""
    with sqlite3.connect(state / "jobs.db") as db:
        db.execute(
            "INSERT INTO jobs (id, printer, state, kind, payload, client, request_hash, created, updated)"
            " VALUES (?, 'printer-1', 'sending', 'raw', ?, 'admin', 'x', 0, 0)",
            (job_id, payload),
        )


async def printed_lines(handle: RunningDaemon) -> list[str]:
    lines: list[str] = (await handle.get("/api/v1/sim/printer-1/output")).body["lines"]
    return lines


async def test_raw_job_is_journaled_printed_and_reported(sim_daemon: RunningDaemon) -> None:
    jobs = await sim_daemon.events("topics=printer.job")
    response = await sim_daemon.post("/api/v1/printers/printer-1/jobs", raw_job("ORDER 1"))
    assert response.status == 202, response.body
    job = response.body["job"]
    assert (job["printer"], job["state"], job["copy"], job["kind"]) == ("printer-1", "queued", False, "raw")
    assert response.headers["Location"] == f"/api/v1/jobs/{job['id']}"
    assert await job_states(jobs, job["id"], "done") == ["queued", "sending", "done"]
    assert "ORDER 1" in await printed_lines(sim_daemon)
    fetched = await sim_daemon.get(f"/api/v1/jobs/{job['id']}")
    assert fetched.body["job"]["state"] == "done"
    listed = await sim_daemon.get("/api/v1/printers/printer-1/jobs")
    assert [j["id"] for j in listed.body["jobs"]] == [job["id"]]
    # The 202 came after a commit: the row is in the SQLite file.
    with sqlite3.connect(sim_daemon.daemon.state_dir / "jobs.db") as db:
        assert db.execute("SELECT state FROM jobs WHERE id = ?", (job["id"],)).fetchone() == ("done",)


async def test_printed_jobs_count_in_the_printers_upos_statistics(sim_daemon: RunningDaemon) -> None:
    jobs = await sim_daemon.events("topics=printer.job")
    document = {
        "blocks": [
            {"type": "text", "text": "Pão de queijo"},
            {"type": "text", "text": "Total R$ 12,50"},
            {"type": "barcode", "data": "7891000315507", "symbology": "EAN13"},
            {"type": "cut"},
            {"type": "text", "text": "Via do cliente"},
            {"type": "cut"},
        ]
    }
    before = (await sim_daemon.get("/api/v1/devices/printer-1")).body["device"]["stats"]
    response = await sim_daemon.post("/api/v1/printers/printer-1/jobs", {"document": document})
    await job_states(jobs, response.body["job"]["id"], "done")
    raw = await sim_daemon.post("/api/v1/printers/printer-1/jobs", raw_job("ORDER 7"))
    await job_states(jobs, raw.body["job"]["id"], "done")
    after = (await sim_daemon.get("/api/v1/devices/printer-1")).body["device"]["stats"]

    def grew(name: str) -> int:
        return int(after.get(name, 0)) - int(before.get(name, 0))

    assert grew("PaperCutCount") == 3  # two in the document, one in the raw job
    assert grew("BarCodePrintedCount") == 1
    assert grew("ReceiptLinePrintedCount") == 4  # three text blocks and ORDER 7; the barcode's digits are not text


async def test_idempotency_key_returns_the_same_job_and_prints_once(sim_daemon: RunningDaemon) -> None:
    jobs = await sim_daemon.events("topics=printer.job")
    headers = {"Idempotency-Key": "sale-0042"}
    first = await sim_daemon.post("/api/v1/printers/printer-1/jobs", raw_job("SALE 42"), headers=headers)
    await job_states(jobs, first.body["job"]["id"], "done")
    again = await sim_daemon.post("/api/v1/printers/printer-1/jobs", raw_job("SALE 42"), headers=headers)
    assert again.status == 202
    assert again.body["job"]["id"] == first.body["job"]["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    other = await sim_daemon.post("/api/v1/printers/printer-1/jobs", raw_job("SALE 43"), headers=headers)
    assert (other.status, other.body["code"]) == (422, "idempotency_key_reused")
    assert (await printed_lines(sim_daemon)).count("SALE 42") == 1
    bad_key = await sim_daemon.post("/api/v1/printers/printer-1/jobs", raw_job("x"), headers={"Idempotency-Key": ""})
    assert (bad_key.status, bad_key.body["code"]) == (400, "invalid_request")


async def test_paper_end_mid_queue_holds_then_resumes_without_loss_or_repeat(sim_daemon: RunningDaemon) -> None:
    events = await sim_daemon.events("topics=printer.job,printer.status")
    await sim_daemon.sim("printer-1", action="fault", paper_end_after_cuts=3)
    ids = []
    for number in range(1, 9):
        response = await sim_daemon.post("/api/v1/printers/printer-1/jobs", raw_job(f"ORDER {number}"))
        assert response.status == 202
        ids.append(response.body["job"]["id"])
    held = await events.next("printer.job", where=lambda j: j["state"] == "held")
    assert held["data"]["reason"] == "paper_end"
    assert held["data"]["id"] == ids[3]
    assert any(e["topic"] == "printer.status" and e["data"]["paper"] == "end" for e in events.seen)
    assert await printed_lines(sim_daemon) == ["ORDER 1", "ORDER 2", "ORDER 3"]
    later = await sim_daemon.get(f"/api/v1/jobs/{ids[5]}")
    assert later.body["job"]["state"] == "queued"  # strictly FIFO: waits behind the held job

    await sim_daemon.sim("printer-1", action="fault", paper="ok")
    await events.next("printer.job", where=lambda j: j["id"] == ids[-1] and j["state"] == "done")
    assert await printed_lines(sim_daemon) == [f"ORDER {n}" for n in range(1, 9)]
    resumed = await sim_daemon.get(f"/api/v1/jobs/{ids[3]}")
    assert (resumed.body["job"]["state"], resumed.body["job"]["copy"]) == ("done", False)


async def test_cancel_only_before_sending(sim_daemon: RunningDaemon) -> None:
    jobs = await sim_daemon.events("topics=printer.job")
    await sim_daemon.sim("printer-1", action="fault", cover="open")
    await jobs_state_after_cover(sim_daemon)
    first = (await sim_daemon.post("/api/v1/printers/printer-1/jobs", raw_job("KEEP"))).body["job"]
    second = (await sim_daemon.post("/api/v1/printers/printer-1/jobs", raw_job("DROP"))).body["job"]
    await jobs.next("printer.job", where=lambda j: j["id"] == first["id"] and j["state"] == "held")
    cancelled = await sim_daemon.request("DELETE", f"/api/v1/jobs/{second['id']}")
    assert cancelled.status == 200
    assert cancelled.body["job"]["state"] == "cancelled"
    await sim_daemon.sim("printer-1", action="fault", cover="closed")
    await job_states(jobs, first["id"], "done")
    assert "KEEP" in await printed_lines(sim_daemon)
    assert "DROP" not in await printed_lines(sim_daemon)
    too_late = await sim_daemon.request("DELETE", f"/api/v1/jobs/{first['id']}")
    assert (too_late.status, too_late.body["code"]) == (409, "job_not_cancellable")
    unknown = await sim_daemon.get("/api/v1/jobs/0000")
    assert (unknown.status, unknown.body["code"]) == (404, "job_not_found")


async def jobs_state_after_cover(handle: RunningDaemon) -> None:
    states = await handle.events("topics=device.state&devices=printer-1")
    await handle.wait_state(states, "printer-1", "error")


async def test_unplugged_printer_holds_jobs_and_prints_them_once_back(sim_daemon: RunningDaemon) -> None:
    jobs = await sim_daemon.events("topics=printer.job")
    states = await sim_daemon.events("topics=device.state&devices=printer-1")
    await sim_daemon.sim("printer-1", action="unplug")
    await states.next("device.state", where=lambda d: d["state"] == "offline")
    job = (await sim_daemon.post("/api/v1/printers/printer-1/jobs", raw_job("WHILE AWAY"))).body["job"]
    held = await jobs.next("printer.job", where=lambda j: j["id"] == job["id"] and j["state"] == "held")
    assert held["data"]["reason"] == "offline"
    await sim_daemon.sim("printer-1", action="plug")
    await job_states(jobs, job["id"], "done")
    assert (await printed_lines(sim_daemon)).count("WHILE AWAY") == 1


async def test_bad_job_requests_queue_nothing(sim_daemon: RunningDaemon) -> None:
    body: Mapping[str, object]
    for body in ({}, {"raw": "not base64!"}, {"raw": "AA==", "image": "AA=="}, {"document": {"blocks": []}}):
        response = await sim_daemon.post("/api/v1/printers/printer-1/jobs", body)
        assert (response.status, response.body["code"]) == (400, "invalid_request"), body
    unknown = await sim_daemon.post("/api/v1/printers/nope/jobs", raw_job("x"))
    assert (unknown.status, unknown.body["code"]) == (404, "device_not_found")
    not_printer = await sim_daemon.post("/api/v1/printers/scale-1/jobs", raw_job("x"))
    assert (not_printer.status, not_printer.body["code"]) == (409, "not_supported")
    listed = await sim_daemon.get("/api/v1/printers/printer-1/jobs")
    assert listed.body["jobs"] == []


async def test_interrupted_job_is_reprinted_marked_copy_after_restart(start_daemon: StartDaemon, tmp_path: Any) -> None:
    state = tmp_path / "state"
    first = await start_daemon(state_dir=state)
    await wait_all_ready(first)
    await stop(first)
    write_interrupted_job(state, "abc", b"\x1b@INTERRUPTED\n" + CUT)
    second = await start_daemon(state_dir=state)
    jobs = await second.events("since=0&topics=printer.job")
    done = await jobs.next("printer.job", where=lambda j: j["id"] == "abc" and j["state"] == "done")
    assert done["data"]["copy"] is True
    assert next(e["data"]["state"] for e in jobs.seen if e["data"]["id"] == "abc") == "queued"
    lines = [line for line in await printed_lines(second) if line]
    assert lines == ["*** COPY ***", "INTERRUPTED"]


async def test_hold_policy_keeps_uncertain_jobs_for_the_operator(start_daemon: StartDaemon, tmp_path: Any) -> None:
    state = tmp_path / "state"
    first = await start_daemon('[printing]\nuncertain_policy = "hold"\n', state_dir=state)
    await stop(first)
    write_interrupted_job(state, "held1", b"\x1b@MAYBE PRINTED\n" + CUT)
    second = await start_daemon('[printing]\nuncertain_policy = "hold"\n', state_dir=state)
    await wait_all_ready(second)
    job = (await second.get("/api/v1/jobs/held1")).body["job"]
    assert (job["state"], job["reason"]) == ("uncertain", "interrupted")
    replayed = await second.events("since=0&topics=printer.job")
    announced = await replayed.next("printer.job", where=lambda j: j["id"] == "held1")
    assert (announced["data"]["state"], announced["data"]["reason"]) == ("uncertain", "interrupted")
    # Later jobs are not blocked by it.
    jobs = await second.events("topics=printer.job")
    other = (await second.post("/api/v1/printers/printer-1/jobs", raw_job("NEXT SALE"))).body["job"]
    await job_states(jobs, other["id"], "done")
    assert "MAYBE PRINTED" not in await printed_lines(second)
    released = await second.post("/api/v1/jobs/held1/release")
    assert released.status == 200
    await job_states(jobs, "held1", "done")
    assert [line for line in await printed_lines(second) if line][-2:] == ["*** COPY ***", "MAYBE PRINTED"]
