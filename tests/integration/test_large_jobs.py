"""Large jobs take the off-loop path (body parsed on a worker thread, rendered, scanned for kicks and counted
on the print service's render thread) and must behave exactly like small ones: accepted, printed, counted,
refused with the same codes, kicks scoped and audited."""

from __future__ import annotations

import json

from api.endpoints import OFF_LOOP_BODY_BYTES
from tests.conftest import RunningDaemon
from tests.integration.test_drawer import audit_until
from tests.integration.test_printing import job_states, printed_lines
from tests.integration.test_raw_kicks import CASHIER, PRINT_ONLY, printer_output, raw, till

__all__ = ["till"]  # the fixture, shared with test_raw_kicks

LINES = 4000  # 4,000 lines of 40 bytes: a 160 kB job, a 213 kB body


def receipt_lines(tag: str) -> list[bytes]:
    return [f"{tag} {i:05d} PAO DE QUEIJO 100G   12,50".encode() for i in range(LINES)]


async def test_a_large_raw_job_is_accepted_printed_and_counted(till: RunningDaemon) -> None:
    lines = receipt_lines("BIG")
    body = raw(b"\x1b@" + b"\n".join(lines) + b"\n\x1dV\x00")
    assert len(json.dumps(body)) > OFF_LOOP_BODY_BYTES
    jobs = await till.events("topics=printer.job")
    before = (await till.get("/api/v1/devices/printer-1")).body["device"]["stats"]
    response = await till.post("/api/v1/printers/printer-1/jobs", body, token=PRINT_ONLY)
    assert response.status == 202, response.body
    await job_states(jobs, response.body["job"]["id"], "done")
    after = (await till.get("/api/v1/devices/printer-1")).body["device"]["stats"]
    assert int(after["ReceiptLinePrintedCount"]) - int(before.get("ReceiptLinePrintedCount", 0)) == LINES
    assert int(after["PaperCutCount"]) - int(before.get("PaperCutCount", 0)) == 1
    printed = await printed_lines(till)
    assert printed[-LINES:] == [line.decode() for line in lines]


async def test_a_large_bad_body_is_refused_like_a_small_one(till: RunningDaemon) -> None:
    path = "/api/v1/printers/printer-1/jobs"
    padding = "A" * OFF_LOOP_BODY_BYTES
    not_base64 = await till.post(path, {"raw": padding + "!"}, token=PRINT_ONLY)
    assert (not_base64.status, not_base64.body["code"]) == (400, "invalid_request")
    broken = await till.post(
        path,
        data='{"raw": "' + padding,
        headers={"Content-Type": "application/json"},
        token=PRINT_ONLY,
    )
    assert (broken.status, broken.body["code"]) == (400, "invalid_json")
    assert (await till.get("/api/v1/printers/printer-1/jobs")).body["jobs"] == []


async def test_a_kick_at_the_end_of_a_large_raw_job_is_scoped_and_audited(till: RunningDaemon) -> None:
    job = b"\x1b@" + b"\n".join(receipt_lines("PAID")) + b"\n\x1dV\x00\x1bp\x00\x32\x64"
    refused = await till.post("/api/v1/printers/printer-1/jobs", raw(job), token=PRINT_ONLY)
    assert (refused.status, refused.body["code"]) == (403, "insufficient_scope")
    jobs = await till.events("topics=printer.job")
    accepted = await till.post("/api/v1/printers/printer-1/jobs", raw(job), token=CASHIER)
    assert accepted.status == 202, accepted.body
    await job_states(jobs, accepted.body["job"]["id"], "done")
    records = await audit_until(
        till, lambda rs: [r["result"] for r in rs if r["action"] == "raw_job_kick"] == ["refused", "sent"]
    )
    sent = next(r for r in records if r["action"] == "raw_job_kick" and r["result"] == "sent")
    assert "pin 2 100 ms" in sent["detail"], sent
    assert accepted.body["job"]["id"] in sent["detail"], sent
    assert (await printer_output(till))["drawer"]["kicks"] == 1
