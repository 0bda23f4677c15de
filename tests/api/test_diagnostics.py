"""GET /api/v1/diagnostics: the support bundle's contents, its redaction, and who may fetch it."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
import zipfile
from datetime import UTC, datetime
from importlib.metadata import EntryPoint
from typing import Any

import pytest

from daemon.diagnostics import REDACTED, _pack, redact
from drivers.registry import ENTRY_POINT_GROUP, DriverRegistry
from tests.conftest import RunningDaemon, StartDaemon, wait_all_ready

POS_TOKEN = "pos-terminal-secret-0123456789abcdef"
SCANNER_TOKEN = "scanner-only-secret-0123456789abcdef"
TOKENS = f"""
[tokens.pos]
secret = "{POS_TOKEN}"
scopes = ["print", "scale", "display", "drawer"]

[tokens.scanner-app]
secret = "{SCANNER_TOKEN}"
scopes = ["scanner"]
"""
RECEIPT_TEXT = "RECEIPT-BODY-Xyzzy-4711"
BUNDLE_NAME = re.compile(r'attachment; filename="(posd-support-[A-Za-z0-9.-]+-\d{8}T\d{6}Z)\.zip"')
FILES = {
    "summary.json",
    "config.json",
    "devices.json",
    "drivers.json",
    "events.jsonl",
    "logs.jsonl",
    "jobs.json",
    "audit.json",
    "hotplug.json",
}


def plugin_registry() -> DriverRegistry:
    """Built-in drivers, one working plug-in and one that fails to load."""
    good = EntryPoint(name="flaky", value="tests.plugin_driver:SPEC", group=ENTRY_POINT_GROUP)
    broken = EntryPoint(name="broken", value="tests.no_such_module:specs", group=ENTRY_POINT_GROUP)
    return DriverRegistry.with_plugins(lambda: [good, broken])


async def fetch_bundle(handle: RunningDaemon, query: str = "") -> tuple[str, bytes, dict[str, bytes]]:
    """(archive name, raw archive bytes, {file name: decompressed bytes})."""
    response = await handle.get("/api/v1/diagnostics" + query)
    assert response.status == 200, response.body
    assert response.headers["Content-Type"] == "application/zip"
    match = BUNDLE_NAME.fullmatch(response.headers["Content-Disposition"])
    assert match, response.headers["Content-Disposition"]
    name = match.group(1)
    raw: bytes = response.body
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        assert archive.testzip() is None
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    assert all(path.startswith(f"{name}/") for path in members), list(members)
    return name, raw, {path.removeprefix(f"{name}/"): data for path, data in members.items()}


def document(files: dict[str, bytes], name: str) -> Any:
    return json.loads(files[name])


def lines(files: dict[str, bytes], name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in files[name].splitlines()]


async def make_history(handle: RunningDaemon) -> str:
    """A scan, a printed receipt, a drawer open and a warning: something in every part of the bundle."""
    jobs = await handle.events("topics=printer.job,scanner.scan")
    await handle.sim("scanner-1", action="scan", data="7891000315507", symbology="EAN13")
    await jobs.next("scanner.scan", "scanner-1")
    receipt = {"blocks": [{"type": "text", "text": RECEIPT_TEXT}, {"type": "cut"}]}
    submitted = await handle.post("/api/v1/printers/printer-1/jobs", {"document": receipt})
    assert submitted.status == 202, submitted.body
    job_id: str = submitted.body["job"]["id"]
    await jobs.next("printer.job", where=lambda j: j["id"] == job_id and j["state"] == "done")
    opened = await handle.post("/api/v1/drawers/drawer-1/open", {"reason": "sale", "operator": "ana"})
    assert opened.status == 200, opened.body
    logging.getLogger("tests.diagnostics").warning("a warning for the support bundle")
    return job_id


async def test_bundle_holds_every_part(start_daemon: StartDaemon) -> None:
    handle = await start_daemon(TOKENS, registry=plugin_registry())
    await wait_all_ready(handle)
    job_id = await make_history(handle)

    name, raw, files = await fetch_bundle(handle)
    assert set(files) == FILES

    summary = document(files, "summary.json")
    assert summary["bundle"]["name"] == name
    assert set(summary["bundle"]["files"]) == FILES
    posd = summary["posd"]
    assert posd["version"] == handle.daemon.version
    assert posd["state_dir"] == str(handle.daemon.state_dir)
    assert posd["config_file"] == handle.daemon.loaded.source
    assert posd["uptime_s"] > 0
    assert posd["simulate"] is True
    assert posd["server"]["url"] == handle.url
    assert posd["devices"]["ready"] == posd["devices"]["total"] == 5
    assert summary["python"]["version"].split()[0].count(".") == 2
    system = summary["system"]
    assert system["hostname"]
    assert system["kernel"].startswith("Linux")
    assert system["platform"]

    config = document(files, "config.json")
    assert config["source"] == handle.daemon.loaded.source
    assert config["effective"]["tokens"]["pos"]["scopes"] == ["print", "scale", "display", "drawer"]
    assert config["effective"]["tokens"]["pos"]["secret"] == REDACTED
    assert config["effective"]["server"]["port"] == 0

    devices = {d["id"]: d for d in document(files, "devices.json")["devices"]}
    assert set(devices) == {"printer-1", "drawer-1", "scanner-1", "scale-1", "display-1"}
    printer = devices["printer-1"]
    assert (printer["state"], printer["driver"], printer["kind"]) == ("ready", "escpos", "printer")
    assert printer["transport"]["type"] == "tcp"
    assert printer["configured_transport"]["type"] == "tcp"
    assert printer["driver_class"].endswith("EscposPrinter")
    assert isinstance(printer["stats"], dict)
    assert "paper" in printer["status"]
    assert devices["scanner-1"]["stats"]["GoodScanCount"] >= 1
    assert devices["drawer-1"]["transport"] == {"type": "printer", "device": "printer-1"}

    drivers = document(files, "drivers.json")
    by_name = {d["name"]: d for d in drivers["drivers"]}
    assert by_name["escpos"]["origin"] == "builtin"
    assert by_name["flaky-scanner"]["origin"] == "plugin flaky (tests.plugin_driver:SPEC)"
    [failed] = drivers["failed_plugins"]
    assert (failed["name"], failed["value"]) == ("broken", "tests.no_such_module:specs")
    assert "ModuleNotFoundError" in failed["error"]

    events = lines(files, "events.jsonl")
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)
    assert events[-1]["seq"] <= handle.daemon.bus.latest_seq
    scans = [e for e in events if e["topic"] == "scanner.scan"]
    assert scans
    assert scans[-1]["data"]["data"] == "7891000315507"
    assert any(e["topic"] == "printer.job" and e["data"]["id"] == job_id for e in events)

    logs = lines(files, "logs.jsonl")
    warning = [r for r in logs if r["message"] == "a warning for the support bundle"]
    assert warning
    assert warning[0]["level"] == "WARNING"
    assert warning[0]["logger"] == "tests.diagnostics"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", warning[0]["time"])

    jobs = document(files, "jobs.json")
    assert jobs["counts"]["printer-1"]["done"] == 1
    [job] = [j for j in jobs["recent"] if j["id"] == job_id]
    assert (job["state"], job["printer"], job["kind"], job["client"]) == ("done", "printer-1", "document", "admin")
    assert job["bytes"] > len(RECEIPT_TEXT)
    # The receipt itself (customer data) is nowhere in the bundle.
    for content in (raw, *files.values()):
        assert RECEIPT_TEXT.encode() not in content

    audit = document(files, "audit.json")
    head_id, head_hash = await handle.daemon.audit.head()
    assert audit["head"] == {"id": head_id, "hash": head_hash}
    assert head_id >= 1
    assert audit["verify"]["ok"] is True
    assert audit["verify"]["records"] == head_id

    hotplug = document(files, "hotplug.json")
    assert hotplug["enabled"] is True
    assert "running" in hotplug


async def test_bundle_event_count_follows_the_query(sim_daemon: RunningDaemon) -> None:
    for code in ("111", "222", "333"):
        await sim_daemon.sim("scanner-1", action="scan", data=code, symbology="UNKNOWN")
    stream = await sim_daemon.events("topics=scanner.scan&since=0")
    await stream.next("scanner.scan", where=lambda d: d["data"] == "333")
    _, _, files = await fetch_bundle(sim_daemon, "?events=2&jobs=0")
    events = lines(files, "events.jsonl")
    assert len(events) == 2
    assert events[-1]["seq"] == sim_daemon.daemon.bus.latest_seq
    assert document(files, "jobs.json")["recent"] == []


async def test_no_token_value_is_anywhere_in_the_bundle(
    start_daemon: StartDaemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    handle = await start_daemon(TOKENS)
    await wait_all_ready(handle)
    admin = handle.token
    secrets = [admin, POS_TOKEN, SCANNER_TOKEN]
    # Put the secrets where a careless path would carry them into the bundle: the log (as a header and bare),
    # an event (a "scan" of a token), the environment, and a URL with a password.
    log = logging.getLogger("tests.diagnostics")
    log.warning("client sent Authorization: Bearer %s", admin)
    log.warning("pos token is %s, scanner token %s", POS_TOKEN, SCANNER_TOKEN)
    log.warning("digest %s", hashlib.sha256(admin.encode()).hexdigest())
    log.warning("fetching https://user:hunter2-password@example.com/x")
    monkeypatch.setenv("POSD_EXTRA__API_KEY", "not-a-known-token-but-a-key")
    monkeypatch.setenv("POSD_EXTRA__NOTE", f"see {POS_TOKEN}")
    stream = await handle.events("topics=scanner.scan")
    await handle.sim("scanner-1", action="scan", data=SCANNER_TOKEN, symbology="UNKNOWN")
    await stream.next("scanner.scan")

    _, raw, files = await fetch_bundle(handle)

    needles = [s.encode() for s in secrets]
    needles += [hashlib.sha256(s.encode()).hexdigest().encode() for s in secrets]
    needles += [b"hunter2-password", b"not-a-known-token-but-a-key"]
    for where, content in {"(archive)": raw, **files}.items():
        for needle in needles:
            assert needle not in content, (where, needle)
    # Redacted, not dropped: the places still say that something was there.
    logs = files["logs.jsonl"].decode()
    assert f"Bearer {REDACTED}" in logs
    assert f"pos token is {REDACTED}, scanner token {REDACTED}" in logs
    assert f"https://{REDACTED}@example.com/x" in logs
    environment = document(files, "summary.json")["environment"]
    assert environment["POSD_EXTRA__API_KEY"] == REDACTED
    assert environment["POSD_EXTRA__NOTE"] == f"see {REDACTED}"
    scans = [e for e in lines(files, "events.jsonl") if e["topic"] == "scanner.scan"]
    assert scans[-1]["data"]["data"] == REDACTED


async def test_bundle_is_admin_only(start_daemon: StartDaemon) -> None:
    handle = await start_daemon(TOKENS, simulate=False)
    anonymous = await handle.get("/api/v1/diagnostics", token=None)
    assert (anonymous.status, anonymous.body["code"]) == (401, "unauthorized")
    for token in (POS_TOKEN, SCANNER_TOKEN):
        refused = await handle.get("/api/v1/diagnostics", token=token)
        assert (refused.status, refused.body["code"]) == (403, "insufficient_scope")
        assert refused.body["required_scope"] == "admin"
    foreign = await handle.get("/api/v1/diagnostics", headers={"Origin": "https://evil.example"})
    assert (foreign.status, foreign.body["code"]) == (403, "forbidden_origin")
    bad_query = await handle.get("/api/v1/diagnostics?events=-1")
    assert (bad_query.status, bad_query.body["code"]) == (400, "invalid_request")
    await fetch_bundle(handle)

    operation = (await handle.get("/api/v1/openapi.json", token=None)).body["paths"]["/api/v1/diagnostics"]["get"]
    assert operation["x-posd-scope"] == "admin"
    assert "application/zip" in operation["responses"]["200"]["content"]
    assert {p["name"] for p in operation["parameters"]} == {"events", "jobs"}


def test_redact_by_key_by_value_and_by_shape() -> None:
    secret = "s3cr3t-value-0123456789"
    data: dict[str, Any] = {
        "tokens": {"front": {"secret": secret, "scopes": ["print", "drawer"]}},
        "drawers": {"no_sale_tokens": ["front"]},
        "options": {"password": 1234, "admin_token": "abc", "auth": {"user": "u", "nested": ["x"]}, "enabled": True},
        "audit": {"head": {"id": 3, "hash": "ab" * 32}},
        "reason": f"offline: sent {secret} to https://bob:pw@printer.local:9100/",
        "header": "Authorization: Bearer abc.def.ghi",
        "title": "A valid bearer token is required",
        "tuple": ("a", secret),
        secret: "a secret used as a key",
        "object": ValueError(secret),
        "none": None,
    }
    out = redact(data, [secret])
    assert out["tokens"] == {"front": {"secret": REDACTED, "scopes": ["print", "drawer"]}}
    assert out["drawers"] == {"no_sale_tokens": ["front"]}
    assert out["options"] == {
        "password": REDACTED,
        "admin_token": REDACTED,
        "auth": {"user": REDACTED, "nested": [REDACTED]},
        "enabled": True,
    }
    assert out["audit"] == data["audit"]
    assert out["reason"] == f"offline: sent {REDACTED} to https://{REDACTED}@printer.local:9100/"
    assert out["header"] == f"Authorization: Bearer {REDACTED}"
    assert out["title"] == "A valid bearer token is required"
    assert out["tuple"] == ["a", REDACTED]
    assert out[REDACTED] == "a secret used as a key"
    assert out["object"] == REDACTED
    assert out["none"] is None
    assert secret not in json.dumps(out)
    assert data["tokens"]["front"]["secret"] == secret  # a copy: the input is untouched


def test_a_secret_that_slipped_through_stops_the_bundle() -> None:
    """The last guard: a part that was not redacted (a future bug) fails the bundle instead of leaking."""
    secret = "s3cr3t-value-0123456789"
    with pytest.raises(RuntimeError, match=r"x\.json still holds a secret"):
        _pack(
            name="posd-support-test",
            generated=datetime.now(UTC),
            hostname="test",
            summary={},
            documents={"x.json": {"note": secret}},
            frames=[],
            logs=[],
            secrets=[secret],
        )
