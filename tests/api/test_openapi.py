"""The served OpenAPI document covers every route, and its references resolve."""

from __future__ import annotations

from typing import Any

from api.endpoint_table import ENDPOINTS
from tests.conftest import RunningDaemon, StartDaemon


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
