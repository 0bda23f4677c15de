"""The served OpenAPI document covers every route, and its references resolve."""

from __future__ import annotations

from typing import Any

from api.endpoint_table import ENDPOINTS
from tests.conftest import Response, RunningDaemon, StartDaemon


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if "$ref" in node else []
        for value in node.values():
            found.extend(_refs(value))
        return found
    if isinstance(node, list):
        return [ref for item in node for ref in _refs(item)]
    return []


async def test_openapi_document_is_complete(start_daemon: StartDaemon) -> None:
    handle: RunningDaemon = await start_daemon(simulate=False)
    response = await handle.get("/api/v1/openapi.json", token=None)
    assert response.status == 200
    document = response.body
    assert document["openapi"].startswith("3.1")
    for endpoint in ENDPOINTS:
        operation = document["paths"][endpoint.path][endpoint.method.lower()]
        assert operation["x-posd-scope"] == endpoint.access
        if endpoint.body is not None:
            assert operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
                endpoint.body.__name__
            )
    assert "get" in document["paths"]["/api/v1/events"]
    schemas = document["components"]["schemas"]
    for ref in _refs(document):
        assert ref.startswith("#/components/schemas/")
        assert ref.rsplit("/", 1)[1] in schemas, ref
    weight = schemas["Weight"]
    assert set(weight["properties"]) == {"value", "unit", "stable", "status"}
    device = schemas["Device"]
    assert set(device["properties"]["state"]["enum"]) == {"connecting", "ready", "busy", "offline", "error", "disabled"}


async def test_console_page_is_served_without_token(start_daemon: StartDaemon) -> None:
    handle = await start_daemon(simulate=False)
    response = await handle.get("/", token=None)
    assert response.status == 200
    assert b"posd console" in response.body
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


async def test_unknown_route_and_method_are_problems(start_daemon: StartDaemon) -> None:
    handle = await start_daemon(simulate=False)
    missing = await handle.get("/api/v1/nothing")
    assert (missing.status, missing.body["code"]) == (404, "not_found")
    wrong = await handle.request("DELETE", "/api/v1/health")
    assert (wrong.status, wrong.body["code"]) == (405, "method_not_allowed")
    unknown_device = await handle.get("/api/v1/devices/nope")
    assert (unknown_device.status, unknown_device.body["code"]) == (404, "device_not_found")


def allowed(response: Response) -> set[str]:
    return {method.strip() for method in response.headers["Allow"].split(",")}


async def test_head_is_get_without_the_body(start_daemon: StartDaemon) -> None:
    handle = await start_daemon(simulate=False)
    for path, token in (("/api/v1/health", None), ("/", None), ("/api/v1/devices", "admin")):
        got = await handle.request("GET", path, token=token)
        head = await handle.request("HEAD", path, token=token)
        assert (head.status, head.body) == (200, None), path
        assert head.headers["Content-Type"] == got.headers["Content-Type"], path
    # The same access rules: no token, no device list.
    assert (await handle.request("HEAD", "/api/v1/devices", token=None)).status == 401


async def test_a_method_the_path_lacks_is_405_with_allow_whatever_else_is_missing(start_daemon: StartDaemon) -> None:
    handle = await start_daemon(simulate=False)
    # RFC 9110: a 405 lists the methods the resource has.
    traced = await handle.request("TRACE", "/api/v1/devices")
    assert (traced.status, traced.body["code"]) == (405, "method_not_allowed")
    assert allowed(traced) == {"GET", "HEAD"}
    # No token, no Content-Type: neither would make a PUT on a GET-only path acceptable, so neither is the answer.
    for token in (None, "admin"):
        put = await handle.request("PUT", "/api/v1/health", token=token)
        assert (put.status, put.body["code"], allowed(put)) == (405, "method_not_allowed", {"GET", "HEAD"})
    # A path that exists for the method still wants both.
    assert (await handle.request("POST", "/api/v1/devices/x/reconnect", token=None)).status == 401


async def test_every_answer_an_operation_can_give_is_documented(start_daemon: StartDaemon) -> None:
    handle = await start_daemon(simulate=False)
    document = (await handle.get("/api/v1/openapi.json", token=None)).body
    for endpoint in ENDPOINTS:
        operation = document["paths"][endpoint.path][endpoint.method.lower()]
        where = f"{endpoint.method} {endpoint.path}"
        if endpoint.query is not None:  # the query is validated: bad values and unknown names are 400
            assert "400" in operation["responses"], where
        if "{id}" in endpoint.path:  # every {id} is looked up: device_not_found
            assert "404" in operation["responses"], where
        if endpoint.method == "POST":  # the guard takes only JSON state changes, so each says what JSON
            assert set(operation["requestBody"]["content"]) == {"application/json"}, where
            assert {"400", "415"} <= set(operation["responses"]), where
    # A print job has exactly one payload: {} is not a valid job by the document either.
    job = document["components"]["schemas"]["PrintJobRequest"]
    assert [branch["required"] for branch in job["oneOf"]] == [["document"], ["raw"], ["image"]]
    assert job["properties"]["raw"]["anyOf"][0]["contentEncoding"] == "base64"


async def test_an_action_without_parameters_takes_an_empty_json_object(sim_daemon: RunningDaemon) -> None:
    path = "/api/v1/devices/scanner-1/reconnect"
    assert (await sim_daemon.post(path, {})).body == {"ok": True}
    empty = await sim_daemon.post(path, data=b"", headers={"Content-Type": "application/json"})
    assert (empty.status, empty.body) == (200, {"ok": True})
    extra = await sim_daemon.post(path, {"now": True})
    assert (extra.status, extra.body["code"]) == (400, "invalid_request")
    blank = await sim_daemon.post(path, data=b"\r\n", headers={"Content-Type": "application/json"})
    assert (blank.status, blank.body["code"]) == (400, "invalid_json")
