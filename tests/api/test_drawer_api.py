"""The drawer and audit endpoints as a contract: scopes, problem codes, what is audited and what is not."""

from __future__ import annotations

import pytest

from tests.conftest import RunningDaemon, StartDaemon, wait_all_ready

pytestmark = pytest.mark.timeout(60)

DRAWER = "drawer-token-secret-0123456789ab"
DISPLAY = "display-token-secret-0123456789a"

CONFIG = f"""
[server]
max_body_bytes = 2048

[tokens.till]
secret = "{DRAWER}"
scopes = ["drawer"]

[tokens.screen]
secret = "{DISPLAY}"
scopes = ["display"]
"""


@pytest.fixture
async def daemon(start_daemon: StartDaemon) -> RunningDaemon:
    handle = await start_daemon(CONFIG)
    await wait_all_ready(handle)
    return handle


async def records(handle: RunningDaemon) -> list[dict[str, object]]:
    found: list[dict[str, object]] = (await handle.get("/api/v1/audit")).body["records"]
    return found


async def test_the_contract_is_in_the_openapi_document(daemon: RunningDaemon) -> None:
    document = (await daemon.get("/api/v1/openapi.json", token=None)).body
    open_op = document["paths"]["/api/v1/drawers/{id}/open"]["post"]
    assert open_op["x-posd-scope"] == "drawer"
    problems = " ".join(r["description"] for r in open_op["responses"].values())
    for code in ("no_sale_not_allowed", "rate_limited", "drawer_kick_expired", "insufficient_scope"):
        assert code in problems
    assert set(open_op["responses"]) >= {"200", "400", "401", "403", "429", "503"}
    reason = document["components"]["schemas"]["DrawerOpenRequest"]["properties"]["reason"]
    assert set(reason["enum"]) == {"sale", "no_sale", "refund", "float", "pickup", "other"}
    assert document["paths"]["/api/v1/drawers/{id}/wait-closed"]["post"]["x-posd-scope"] == "drawer"
    assert document["paths"]["/api/v1/audit"]["get"]["x-posd-scope"] == "admin"
    assert document["paths"]["/api/v1/audit/verify"]["get"]["x-posd-scope"] == "admin"
    assert set(document["components"]["schemas"]["AuditRecord"]["properties"]) >= {
        "id", "time", "token", "origin", "operator", "reason", "reference", "device", "result", "hash", "prev_hash",
    }  # fmt: skip


async def test_the_audit_log_is_for_admins(daemon: RunningDaemon) -> None:
    refused = await daemon.get("/api/v1/audit", token=DRAWER)
    assert (refused.status, refused.body["code"]) == (403, "insufficient_scope")
    assert (await daemon.get("/api/v1/audit/verify", token=DISPLAY)).status == 403
    bad = await daemon.get("/api/v1/audit?limit=0")
    assert (bad.status, bad.body["code"]) == (400, "invalid_request")
    empty = await daemon.get("/api/v1/audit")
    assert empty.body == {"records": [], "head": {"id": 0, "hash": "0" * 64}}


async def test_only_attempts_on_a_real_drawer_are_audited(daemon: RunningDaemon) -> None:
    missing = await daemon.post("/api/v1/drawers/no-such-drawer/open", {"reason": "sale"}, token=DRAWER)
    assert (missing.status, missing.body["code"]) == (404, "device_not_found")
    scale = await daemon.post("/api/v1/drawers/scale-1/open", {"reason": "sale"}, token=DRAWER)
    assert (scale.status, scale.body["code"]) == (409, "wrong_device_kind")
    waiting = await daemon.post("/api/v1/drawers/scale-1/wait-closed", {"timeout_ms": 10}, token=DRAWER)
    assert (waiting.status, waiting.body["code"]) == (409, "wrong_device_kind")
    assert await records(daemon) == []


async def test_an_oversized_or_non_json_open_is_refused_and_audited(daemon: RunningDaemon) -> None:
    path = "/api/v1/drawers/drawer-1/open"
    big = await daemon.post(path, {"reason": "sale", "reference": "x" * 4000}, token=DRAWER)
    assert (big.status, big.body["code"]) == (413, "body_too_large")
    form = await daemon.post(
        path, data="reason=sale", token=DRAWER, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert (form.status, form.body["code"]) == (415, "unsupported_media_type")
    found = await records(daemon)
    assert [(r["result"], str(r["detail"]).split(":")[0], r["token"]) for r in found] == [
        ("refused", "body_too_large", "till"),
        ("refused", "unsupported_media_type", "till"),
    ]
    sim = (await daemon.get("/api/v1/sim/printer-1/output")).body
    assert sim["drawer"]["kicks"] == 0


async def test_drawer_events_need_the_drawer_scope(daemon: RunningDaemon) -> None:
    with pytest.raises(AssertionError):
        await daemon.events("topics=drawer.alert", token=DISPLAY)  # closed with 4403 instead of hello
    stream = await daemon.events("topics=drawer.alert,drawer.status", token=DRAWER)
    await daemon.sim("drawer-1", action="set", opened=True)
    assert (await stream.next("drawer.alert"))["data"] == {"alert": "opened_unexpectedly"}


async def test_cors_preflight_allows_the_drawer_route_for_configured_origins_only(start_daemon: StartDaemon) -> None:
    handle = await start_daemon(CONFIG.replace("[server]", '[server]\nallowed_origins = ["https://pos.example.com"]'))
    url = handle.url + "/api/v1/drawers/drawer-1/open"
    headers = {"Origin": "https://pos.example.com", "Access-Control-Request-Method": "POST"}
    async with handle.session.options(url, headers=headers) as response:
        assert response.status == 204
        assert response.headers["Access-Control-Allow-Origin"] == "https://pos.example.com"
    async with handle.session.options(url, headers={**headers, "Origin": "https://evil.example"}) as response:
        assert response.status == 403
    # The refused preflight is a refused attempt on the drawer, and is on record.
    found = await records(handle)
    assert [(r["result"], r["origin"]) for r in found] == [("refused", "https://evil.example")]
    assert "OPTIONS" in str(found[0]["detail"])


async def test_body_values_must_have_their_json_types(daemon: RunningDaemon) -> None:
    path = "/api/v1/drawers/drawer-1/wait-closed"
    # Lax validation took true as 1 ms and "10" as 10 ms, though the document says integer.
    for timeout in (True, "10", 1.5):
        refused = await daemon.post(path, {"timeout_ms": timeout}, token=DRAWER)
        assert (refused.status, refused.body["code"]) == (400, "invalid_request"), timeout
    # 10.0 is an integer to JSON (and what a Python client that computes the timeout sends).
    assert (await daemon.post(path, {"timeout_ms": 10.0}, token=DRAWER)).body == {"closed": True}


async def test_audit_query_values_are_refused_not_failed(daemon: RunningDaemon) -> None:
    # An id past SQLite's INTEGER range was a 500 (OverflowError in the query).
    huge = await daemon.get(f"/api/v1/audit?since={2**64}")
    assert (huge.status, huge.body["code"]) == (400, "invalid_request")
    assert (await daemon.get(f"/api/v1/audit?since={2**63 - 1}")).body["records"] == []
    # A parameter given twice: which one was meant is a guess (the first was taken).
    twice = await daemon.get("/api/v1/audit?device=drawer-1&device=scale-1")
    assert (twice.status, twice.body["code"]) == (400, "invalid_request")
    assert "device" in twice.body["detail"]


async def test_a_refused_open_with_unencodable_text_is_still_audited(daemon: RunningDaemon) -> None:
    # A lone surrogate (here a JSON escape; a header byte that is not UTF-8 arrives the same way) made the audit
    # write fail, so the refused attempt was not on record.
    body = '{"reason": "sale", "operator": "\\ud800"}'
    refused = await daemon.post(
        "/api/v1/drawers/drawer-1/open", data=body, token=DRAWER, headers={"Content-Type": "application/json"}
    )
    assert (refused.status, refused.body["code"]) == (400, "invalid_json")
    [record] = await records(daemon)
    assert (record["result"], record["operator"], record["token"]) == ("refused", "\\ud800", "till")
    assert (await daemon.get("/api/v1/audit/verify")).body["ok"] is True
