"""The security baseline: each refusal is shown, and that nothing happened because of the refused request."""

from __future__ import annotations

import os
import stat

import aiohttp
import pytest

from tests.conftest import RunningDaemon, StartDaemon

POS_TOKEN = "pos-terminal-secret-0123456789"
SCANNER_TOKEN = "scanner-only-secret-0123456789"
ALLOWED_ORIGIN = "https://pos.example.com"

TOKENS = f"""
[server]
allowed_origins = ["{ALLOWED_ORIGIN}"]
max_body_bytes = 4096
max_ws_message_bytes = 1024
ws_auth_timeout_s = 0.5

[tokens.pos]
secret = "{POS_TOKEN}"
scopes = ["display", "scale", "print"]

[tokens.scanner-app]
secret = "{SCANNER_TOKEN}"
scopes = ["scanner"]
"""


@pytest.fixture
async def secured(start_daemon: StartDaemon) -> RunningDaemon:
    handle = await start_daemon(TOKENS)
    stream = await handle.events("topics=device.state")
    for device in ("scanner-1", "scale-1", "display-1"):
        await handle.wait_state(stream, device, "ready")
    return handle


async def display_lines(handle: RunningDaemon) -> list[str]:
    lines: list[str] = (await handle.get("/api/v1/sim/display-1/output")).body["lines"]
    return lines


async def test_dns_rebinding_host_is_refused(secured: RunningDaemon) -> None:
    port = secured.http.port
    for host in (f"attacker.example:{port}", f"127.0.0.1.nip.io:{port}", "localhost", f"localhost:{port + 1}"):
        response = await secured.get("/api/v1/health", token=None, headers={"Host": host})
        assert (response.status, response.body["code"]) == (403, "forbidden_host"), host
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", f"LOCALHOST:{port}"):
        assert (await secured.get("/api/v1/health", token=None, headers={"Host": host})).status == 200, host


async def test_rebinding_host_cannot_change_state(secured: RunningDaemon) -> None:
    response = await secured.post(
        "/api/v1/displays/display-1/text", {"lines": ["pwned"]}, headers={"Host": "evil.example"}
    )
    assert response.status == 403
    assert await display_lines(secured) == ["", ""]


async def test_foreign_origin_on_websocket_upgrade_is_refused(secured: RunningDaemon) -> None:
    for origin in ("https://evil.example", f"{ALLOWED_ORIGIN}.evil.example", "null", ALLOWED_ORIGIN + "/"):
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await secured.session.ws_connect(secured.url + "/api/v1/events", headers={"Origin": origin})
        assert refused.value.status == 403, origin
    # The daemon's own origin and the configured one are accepted (exact match).
    for origin in (secured.origin, ALLOWED_ORIGIN):
        stream = await secured.events(headers={"Origin": origin})
        assert stream.hello["type"] == "hello"


async def test_foreign_origin_http_request_is_refused(secured: RunningDaemon) -> None:
    response = await secured.post(
        "/api/v1/displays/display-1/text", {"lines": ["x"]}, headers={"Origin": "https://evil.example"}
    )
    assert (response.status, response.body["code"]) == (403, "forbidden_origin")
    assert "Access-Control-Allow-Origin" not in response.headers
    assert await display_lines(secured) == ["", ""]


async def test_allowed_origin_gets_cors_and_private_network_preflight(secured: RunningDaemon) -> None:
    preflight = await secured.request(
        "OPTIONS",
        "/api/v1/displays/display-1/text",
        token=None,
        headers={
            "Origin": ALLOWED_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
            "Access-Control-Request-Private-Network": "true",
        },
    )
    assert preflight.status == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    assert preflight.headers["Access-Control-Allow-Private-Network"] == "true"
    foreign = await secured.request(
        "OPTIONS", "/api/v1/devices", token=None, headers={"Origin": "https://evil.example"}
    )
    assert foreign.status == 403
    response = await secured.post(
        "/api/v1/displays/display-1/text", {"lines": ["hi"]}, token=POS_TOKEN, headers={"Origin": ALLOWED_ORIGIN}
    )
    assert response.status == 200
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN


async def test_text_plain_and_form_posts_are_refused(secured: RunningDaemon) -> None:
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
        response = await secured.post(
            "/api/v1/displays/display-1/text",
            data='{"lines":["csrf"]}',
            headers={"Content-Type": content_type},
        )
        assert (response.status, response.body["code"]) == (415, "unsupported_media_type"), content_type
    assert await display_lines(secured) == ["", ""]


async def test_missing_and_wrong_tokens_are_refused(secured: RunningDaemon) -> None:
    missing = await secured.get("/api/v1/devices", token=None)
    assert (missing.status, missing.body["code"]) == (401, "unauthorized")
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    wrong = await secured.get("/api/v1/devices", token="not-a-token")
    assert (wrong.status, wrong.body["code"]) == (401, "unauthorized")
    basic = await secured.get("/api/v1/devices", token=None, headers={"Authorization": f"Basic {POS_TOKEN}"})
    assert basic.status == 401
    post = await secured.post("/api/v1/displays/display-1/text", {"lines": ["x"]}, token=None)
    assert post.status == 401
    assert await display_lines(secured) == ["", ""]


async def test_wrong_scope_is_refused(secured: RunningDaemon) -> None:
    response = await secured.post("/api/v1/displays/display-1/text", {"lines": ["x"]}, token=SCANNER_TOKEN)
    assert (response.status, response.body["code"]) == (403, "insufficient_scope")
    assert response.body["required_scope"] == "display"
    assert await display_lines(secured) == ["", ""]
    admin_only = await secured.post("/api/v1/devices/printer-1/health", {"level": "external"}, token=POS_TOKEN)
    assert admin_only.status == 403
    printed = (await secured.get("/api/v1/sim/printer-1/output")).body
    assert printed["lines"] == []
    # Any valid token may list devices.
    assert (await secured.get("/api/v1/devices", token=SCANNER_TOKEN)).status == 200


async def test_body_size_limit(secured: RunningDaemon) -> None:
    response = await secured.post("/api/v1/displays/display-1/text", {"lines": ["x" * 5000]})
    assert (response.status, response.body["code"]) == (413, "body_too_large")


async def test_invalid_json_and_schema_errors(secured: RunningDaemon) -> None:
    broken = await secured.post(
        "/api/v1/displays/display-1/text", data="{not json", headers={"Content-Type": "application/json"}
    )
    assert (broken.status, broken.body["code"]) == (400, "invalid_json")
    extra = await secured.post("/api/v1/displays/display-1/text", {"lines": ["a"], "colour": "red"})
    assert (extra.status, extra.body["code"]) == (400, "invalid_request")
    assert extra.body["errors"][0]["loc"] == "colour"
    assert extra.headers["Content-Type"].startswith("application/problem+json")


async def test_print_payloads_are_exactly_one_in_well_formed_base64(secured: RunningDaemon) -> None:
    path = "/api/v1/printers/printer-1/jobs"
    # Base64 that only decodes by skipping what is not base64 used to print the garbage it decoded to.
    for body in ({"raw": "hello world"}, {"raw": "G0A"}, {"raw": "G0A=\n"}, {"image": "%%%%"}, {}, {"raw": None}):
        refused = await secured.post(path, body)
        assert (refused.status, refused.body["code"]) == (400, "invalid_request"), body
    both = await secured.post(path, {"raw": "G0A=", "image": "G0A="})
    assert (both.status, both.body["code"]) == (400, "invalid_request")
    assert (await secured.get("/api/v1/printers/printer-1/jobs")).body["jobs"] == []
    accepted = await secured.post(path, {"raw": "G0A=", "image": None})  # ESC @; a null payload is not given
    assert accepted.status == 202, accepted.body


async def test_websocket_needs_auth_first_message(secured: RunningDaemon) -> None:
    silent = await secured.session.ws_connect(secured.url + "/api/v1/events")
    msg = await silent.receive(timeout=5)
    assert msg.type is aiohttp.WSMsgType.CLOSE
    assert silent.close_code == 4401
    wrong = await secured.session.ws_connect(secured.url + "/api/v1/events")
    await wrong.send_json({"type": "auth", "token": "nope"})
    msg = await wrong.receive(timeout=5)
    assert msg.type is aiohttp.WSMsgType.CLOSE
    assert wrong.close_code == 4401


async def test_websocket_topics_need_their_scope(secured: RunningDaemon) -> None:
    denied = await secured.session.ws_connect(secured.url + "/api/v1/events?topics=scale.weight")
    await denied.send_json({"type": "auth", "token": SCANNER_TOKEN})
    msg = await denied.receive(timeout=5)
    assert msg.type is aiohttp.WSMsgType.CLOSE
    assert denied.close_code == 4403

    # Without a topic filter a token gets exactly the families its scopes allow.
    scanner_only = await secured.events(token=SCANNER_TOKEN)
    await secured.sim("scale-1", action="set", value="3.000", unit="kg", stable=True)
    await secured.sim("scanner-1", action="scan", data="96385074", symbology="EAN8")
    event = await scanner_only.next("scanner.scan")
    assert event["data"]["data"] == "96385074"
    assert not any(e["topic"] == "scale.weight" for e in scanner_only.seen)


async def test_websocket_message_size_limit(secured: RunningDaemon) -> None:
    stream = await secured.events()
    await stream.ws.send_str("x" * 2048)
    msg = await stream.ws.receive(timeout=5)
    assert msg.type is aiohttp.WSMsgType.CLOSE
    assert stream.ws.close_code == aiohttp.WSCloseCode.MESSAGE_TOO_BIG


async def test_admin_token_file_is_private(secured: RunningDaemon) -> None:
    path = secured.daemon.state_dir / "admin.token"
    mode = stat.S_IMODE(os.stat(path).st_mode)
    assert mode == 0o600
    assert path.read_text().strip() == secured.token


async def test_default_bind_is_loopback(start_daemon: StartDaemon) -> None:
    handle = await start_daemon(simulate=False)
    assert handle.daemon.config.server.host == "127.0.0.1"
    assert handle.http.host == "127.0.0.1"
