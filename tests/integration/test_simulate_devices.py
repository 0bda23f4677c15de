"""Simulate mode end to end: real drivers talk to simulators over real ptys and TCP sockets."""

from __future__ import annotations

import pytest

from tests.conftest import RunningDaemon, until

pytestmark = pytest.mark.timeout(60)


async def test_all_five_kinds_are_ready_with_real_transports(sim_daemon: RunningDaemon) -> None:
    response = await sim_daemon.get("/api/v1/devices")
    assert response.status == 200
    devices = {d["id"]: d for d in response.body["devices"]}
    assert {d["kind"] for d in devices.values()} == {"printer", "scanner", "scale", "drawer", "display"}
    assert all(d["state"] == "ready" and d["simulated"] for d in devices.values()), devices
    assert devices["printer-1"]["transport"]["type"] == "tcp"
    assert devices["scanner-1"]["transport"]["type"] == "serial"
    assert devices["drawer-1"]["transport"] == {"type": "printer", "device": "printer-1"}
    health = await sim_daemon.get("/api/v1/health", token=None)
    assert health.body["devices"] == {"ready": 5, "total": 5}


async def test_scan_becomes_one_event_with_symbology(sim_daemon: RunningDaemon) -> None:
    stream = await sim_daemon.events("topics=scanner.scan")
    await sim_daemon.sim("scanner-1", action="scan", data="7891000315507", symbology="EAN13")
    event = await stream.next("scanner.scan")
    assert event["device"] == "scanner-1"
    assert event["data"] == {
        "data": "7891000315507",
        "symbology": "EAN13",
        "aim": "]E0",
        "raw": "]E07891000315507",
        "gs1": None,
    }
    # Two scans back to back stay two events, in order.
    await sim_daemon.sim("scanner-1", action="scan", data="ABC-123", symbology="CODE128")
    await sim_daemon.sim("scanner-1", action="scan", data="96385074", symbology="EAN8")
    second = await stream.next("scanner.scan")
    third = await stream.next("scanner.scan")
    assert (second["data"]["data"], second["data"]["symbology"]) == ("ABC-123", "CODE128")
    assert (third["data"]["data"], third["data"]["symbology"]) == ("96385074", "EAN8")
    assert second["seq"] < third["seq"]
    device = await sim_daemon.get("/api/v1/devices/scanner-1")
    assert device.body["device"]["stats"]["GoodScanCount"] == 3


async def test_garbage_without_terminator_is_dropped_and_next_scan_decodes(sim_daemon: RunningDaemon) -> None:
    stream = await sim_daemon.events("topics=scanner.scan")
    await sim_daemon.sim("scanner-1", action="noise", hex="ff00fe")
    # The driver drops the fragment after its incomplete timeout (1 s) and counts it.
    await sim_daemon.sim("scanner-1", action="scan", data="5901234123457", symbology="EAN13")
    event = await stream.next("scanner.scan")
    # The noise arrived before the label on the same line, so it is part of that frame's raw bytes,
    # but the label itself is intact after the AIM id.
    assert event["data"]["raw"].endswith("5901234123457")


async def test_scale_weight_stable_read_and_motion(sim_daemon: RunningDaemon) -> None:
    stream = await sim_daemon.events("topics=scale.weight")
    await sim_daemon.sim("scale-1", action="set", value="1.235", unit="kg", stable=True)
    event = await stream.next("scale.weight", where=lambda w: w["value"] == 1.235)
    assert event["data"] == {"value": 1.235, "unit": "kg", "stable": True, "status": "stable"}
    reading = await sim_daemon.get("/api/v1/scales/scale-1/weight?stable=true&timeout_ms=2000")
    assert reading.status == 200
    assert reading.body["weight"]["value"] == 1.235

    await sim_daemon.sim("scale-1", action="status", status="motion")
    await stream.next("scale.weight", where=lambda w: w["status"] == "motion")
    moving = await sim_daemon.get("/api/v1/scales/scale-1/weight?stable=true&timeout_ms=300")
    assert moving.status == 504
    assert moving.body["code"] == "weight_not_stable"
    unstable = await sim_daemon.get("/api/v1/scales/scale-1/weight?stable=false")
    assert unstable.body["weight"]["stable"] is False


async def test_stable_read_waits_for_a_reading_after_the_request(sim_daemon: RunningDaemon) -> None:
    stream = await sim_daemon.events("topics=scale.weight")
    await sim_daemon.sim("scale-1", action="set", value="0.500", unit="kg", stable=True)
    await stream.next("scale.weight", where=lambda w: w["value"] == 0.5)
    await sim_daemon.sim("scale-1", action="set", value="2.750", unit="kg", stable=True)
    # Without waiting for the event: the read must still return the new weight, not the cached 0.5.
    reading = await sim_daemon.get("/api/v1/scales/scale-1/weight?stable=true&timeout_ms=2000")
    assert reading.body["weight"]["value"] == 2.75


async def test_display_shows_two_lines_and_rejects_long_text(sim_daemon: RunningDaemon) -> None:
    shown = await sim_daemon.post("/api/v1/displays/display-1/text", {"lines": ["Total", "R$ 12,50"]})
    assert shown.status == 200
    simulator = sim_daemon.daemon.simulators["display-1"]
    await until(lambda: simulator.output()["lines"] == ["Total", "R$ 12,50"])  # the bytes may still be in the pty
    output = await sim_daemon.get("/api/v1/sim/display-1/output")
    assert output.body["lines"] == ["Total", "R$ 12,50"]

    too_long = await sim_daemon.post("/api/v1/displays/display-1/text", {"lines": ["x" * 21]})
    assert too_long.status == 400
    assert too_long.body["code"] == "text_too_long"
    assert (await sim_daemon.get("/api/v1/sim/display-1/output")).body["lines"] == ["Total", "R$ 12,50"]

    control = await sim_daemon.post("/api/v1/displays/display-1/text", {"lines": ["a\x0cb"]})
    assert (control.status, control.body["code"]) == (400, "invalid_text")
    assert (await sim_daemon.get("/api/v1/sim/display-1/output")).body["lines"] == ["Total", "R$ 12,50"]

    wrong_kind = await sim_daemon.post("/api/v1/displays/scale-1/text", {"lines": ["hi"]})
    assert (wrong_kind.status, wrong_kind.body["code"]) == (409, "wrong_device_kind")


async def test_printer_prints_and_reports_paper_end(sim_daemon: RunningDaemon) -> None:
    check = await sim_daemon.post("/api/v1/devices/printer-1/health", {"level": "external"})
    assert check.status == 200
    assert check.body["ok"] is True
    output = (await sim_daemon.get("/api/v1/sim/printer-1/output")).body
    assert "posd test print" in output["lines"]
    assert output["cuts"] == 1

    stream = await sim_daemon.events("topics=printer.status,device.state&devices=printer-1")
    await sim_daemon.sim("printer-1", action="fault", paper="end")
    status = await stream.next("printer.status")
    # A real ESC/POS printer goes offline at paper end (DLE EOT 1 bit 3), and so does the simulator.
    assert status["data"] == {"online": False, "paper": "end", "cover": "closed"}
    await stream.next("device.state", where=lambda d: d == {"state": "error", "reason": "paper_end"})
    internal = await sim_daemon.post("/api/v1/devices/printer-1/health", {"level": "internal"})
    assert internal.body["ok"] is False
    await sim_daemon.sim("printer-1", action="fault", paper="ok")
    await stream.next("device.state", where=lambda d: d["state"] == "ready")


async def test_drawer_senses_open_and_close(sim_daemon: RunningDaemon) -> None:
    stream = await sim_daemon.events("topics=drawer.status")
    await sim_daemon.sim("drawer-1", action="set", opened=True)
    assert (await stream.next("drawer.status"))["data"] == {"opened": True}
    await sim_daemon.sim("drawer-1", action="set", opened=False)
    assert (await stream.next("drawer.status"))["data"] == {"opened": False}
    device = await sim_daemon.get("/api/v1/devices/drawer-1")
    assert device.body["device"]["status"] == {"opened": False}


async def test_unplug_and_plug_serial_device(sim_daemon: RunningDaemon) -> None:
    stream = await sim_daemon.events("topics=device.state&devices=scanner-1")
    await sim_daemon.sim("scanner-1", action="unplug")
    offline = await stream.next("device.state", where=lambda d: d["state"] == "offline")
    assert "retry in" in offline["data"]["reason"]
    await sim_daemon.sim("scanner-1", action="plug")
    await stream.next("device.state", where=lambda d: d["state"] == "ready")
    # Same id, working again.
    scans = await sim_daemon.events("topics=scanner.scan")
    await sim_daemon.sim("scanner-1", action="scan", data="4006381333931", symbology="EAN13")
    assert (await scans.next("scanner.scan"))["data"]["data"] == "4006381333931"


async def test_unplugged_printer_takes_its_drawer_offline_only(sim_daemon: RunningDaemon) -> None:
    stream = await sim_daemon.events("topics=device.state")
    await sim_daemon.sim("printer-1", action="unplug")
    await stream.next("device.state", "printer-1", lambda d: d["state"] == "offline")
    await stream.next("device.state", "drawer-1", lambda d: d["state"] == "offline")
    devices = {d["id"]: d["state"] for d in (await sim_daemon.get("/api/v1/devices")).body["devices"]}
    assert devices["scanner-1"] == devices["scale-1"] == devices["display-1"] == "ready"
    await sim_daemon.sim("printer-1", action="plug")
    await stream.next("device.state", "printer-1", lambda d: d["state"] == "ready")
    await stream.next("device.state", "drawer-1", lambda d: d["state"] == "ready")


async def test_scale_that_stops_answering_goes_offline(sim_daemon: RunningDaemon) -> None:
    stream = await sim_daemon.events("topics=device.state&devices=scale-1")
    await sim_daemon.sim("scale-1", action="unplug")
    await stream.next("device.state", where=lambda d: d["state"] == "offline")
    reading = await sim_daemon.get("/api/v1/scales/scale-1/weight?stable=false")
    assert (reading.status, reading.body["code"]) == (503, "device_offline")
    await sim_daemon.sim("scale-1", action="plug")
    await stream.next("device.state", where=lambda d: d["state"] == "ready")


async def test_sim_controls_validate_and_need_simulated_devices(sim_daemon: RunningDaemon) -> None:
    bad = await sim_daemon.post("/api/v1/sim/scale-1", {"action": "set", "value": "heavy"})
    assert (bad.status, bad.body["code"]) == (400, "invalid_request")
    unknown = await sim_daemon.post("/api/v1/sim/nope", {"action": "plug"})
    assert (unknown.status, unknown.body["code"]) == (404, "device_not_found")


async def test_sim_controls_take_the_json_types_the_document_gives(sim_daemon: RunningDaemon) -> None:
    # The simulators validate leniently (1 is true to them); the API holds their controls to the document's types,
    # as it does every other body. 1.0 is still an integer, as JSON Schema says.
    for device, control in (
        ("drawer-1", {"action": "set", "opened": 1}),
        ("scale-1", {"action": "set", "value": 1, "stable": "true"}),
        ("printer-1", {"action": "fault", "paper_end_after_cuts": "3"}),
    ):
        refused = await sim_daemon.post(f"/api/v1/sim/{device}", control)
        assert (refused.status, refused.body["code"]) == (400, "invalid_request"), (control, refused.body)
    assert (await sim_daemon.sim("drawer-1", action="set", opened=False)).body["opened"] is False
    # 3.0 is an integer to JSON (one number type); the roll ends 3 cuts on. Call it off again.
    await sim_daemon.sim("printer-1", action="fault", paper_end_after_cuts=3.0)
    await sim_daemon.sim("printer-1", action="fault", paper_end_after_cuts=10**9)


async def test_another_simulators_control_is_refused_by_name(sim_daemon: RunningDaemon) -> None:
    refused = await sim_daemon.post("/api/v1/sim/scanner-1", {"action": "fault", "paper": "end"})
    assert (refused.status, refused.body["code"]) == (400, "invalid_request")
    assert "scanner-1 has no control 'fault'; it takes noise, plug, scan, unplug" in refused.body["detail"]
    assert [error["loc"] for error in refused.body["errors"]] == ["action"]


async def test_a_control_value_the_simulator_cannot_use_is_refused_not_a_500(sim_daemon: RunningDaemon) -> None:
    # The serial scanner's noise is any string to its model (and the document); bytes.fromhex refused "zz".
    refused = await sim_daemon.post("/api/v1/sim/scanner-1", {"action": "noise", "hex": "zz"})
    assert (refused.status, refused.body["code"]) == (400, "invalid_request"), refused.body
    assert refused.body["errors"][0]["type"] == "value_error"
    assert (await sim_daemon.sim("scanner-1", action="noise", hex="0d0a")).body == {"sent": True}
