"""The served OpenAPI document covers every route, is valid OpenAPI 3.1, and its references and links resolve."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any, ClassVar, Literal

import jsonschema_rs
import pytest
from pydantic import BaseModel, ConfigDict, Field

# The OpenAPI 3.1 schema (OAI's schemas/v3.1/schema.json) as schemathesis ships it to validate the documents it loads.
from schemathesis.specs.openapi.definitions import OPENAPI_31

from api import printers
from api.endpoint_table import ENDPOINTS, HEADERS, LINKS
from api.openapi import Link, build_openapi, builtin_simulators, sim_control_schemas
from drivers.models import DeviceKind
from drivers.simulator import SimEnvironment, Simulator, control_actions
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


def _document() -> dict[str, Any]:
    return build_openapi(ENDPOINTS, "0", headers=HEADERS, links=LINKS)


def _openapi_errors(document: dict[str, Any]) -> list[str]:
    validator = jsonschema_rs.validator_for(OPENAPI_31)
    return [f"/{'/'.join(map(str, e.instance_path))}: {e.message}" for e in validator.iter_errors(document)]


async def test_served_document_is_valid_openapi_3_1(start_daemon: StartDaemon) -> None:
    handle = await start_daemon(simulate=False)
    document = (await handle.get("/api/v1/openapi.json", token=None)).body
    assert _openapi_errors(document) == []
    invalid = [
        name for name, schema in document["components"]["schemas"].items() if not jsonschema_rs.meta.is_valid(schema)
    ]
    assert invalid == []
    # The check has teeth: a link must name its target operation.
    broken = copy.deepcopy(document)
    del broken["paths"]["/api/v1/printers/{id}/jobs"]["post"]["responses"]["202"]["links"]["GetJob"]["operationId"]
    assert any("/links/GetJob" in error for error in _openapi_errors(broken))


def test_the_job_a_submission_answers_with_feeds_the_job_operations() -> None:
    paths = _document()["paths"]
    submitted = paths["/api/v1/printers/{id}/jobs"]["post"]["responses"]["202"]
    job_id = {"job_id": "$response.body#/job/id"}
    assert {name: (link["operationId"], link["parameters"]) for name, link in submitted["links"].items()} == {
        "GetJob": ("get_job", job_id),
        "CancelJob": ("cancel_job", job_id),
        "ReleaseJob": ("release_job", job_id),
        "ListPrinterJobs": ("list_jobs", {"id": "$request.path.id"}),
        "Retry": ("submit_job", {"id": "$request.path.id", "Idempotency-Key": "$request.header.Idempotency-Key"}),
    }
    assert submitted["links"]["Retry"]["requestBody"] == "$request.body"
    # Whatever answers with a job hands it on; the list hands on its newest.
    for path, method, status in (
        ("/api/v1/jobs/{job_id}", "get", "200"),
        ("/api/v1/jobs/{job_id}", "delete", "200"),
        ("/api/v1/jobs/{job_id}/release", "post", "200"),
    ):
        links = paths[path][method]["responses"][status]["links"]
        assert {link["operationId"] for link in links.values()} == {"get_job", "cancel_job", "release_job"}, path
        assert all(link["parameters"] == job_id for link in links.values())
    newest = paths["/api/v1/printers/{id}/jobs"]["get"]["responses"]["200"]["links"]["GetNewestJob"]
    assert (newest["operationId"], newest["parameters"]) == ("get_job", {"job_id": "$response.body#/jobs/0/id"})
    # The retry's header and what the answer says of it are documented.
    key = next(p for p in paths["/api/v1/printers/{id}/jobs"]["post"]["parameters"] if p["in"] == "header")
    assert (key["name"], key["required"], key["schema"]["pattern"]) == (
        "Idempotency-Key",
        False,
        printers.IDEMPOTENCY_KEY.pattern,
    )
    assert submitted["headers"]["Location"]["required"] is True
    assert submitted["headers"]["Idempotent-Replayed"]["schema"] == {"type": "string", "enum": ["true"]}


@pytest.mark.parametrize(
    ("link", "refusal"),
    [
        (Link("L", printers.submit_job, printers.get_job, {"jobid": "$response.body#/job/id"}, ""), "no parameter"),
        (Link("L", printers.submit_job, printers.get_job, {"job_id": "$response.body#/job/uuid"}, ""), "nothing"),
        (Link("L", printers.list_jobs, printers.get_job, {"job_id": "$response.body#/jobs/x/id"}, ""), "nothing"),
        (Link("L", printers.get_job, printers.cancel_job, {"job_id": "$request.path.id"}, ""), "no path parameter"),
        (Link("L", printers.submit_job, printers.get_job, {"job_id": "$response.header.Etag"}, ""), "no header"),
        (Link("L", printers.submit_job, printers.get_job, {"job_id": "$url"}, ""), "not a runtime expression"),
        (Link("L", printers.submit_job, printers.get_job, {}, "", request_body="$request.body"), "takes no body"),
        (Link("L", printers.get_job, printers.submit_job, {}, "", request_body="$request.body"), "takes no body"),
        (Link("L", printers.preview_job, printers.get_job, {}, ""), "not in the endpoint table"),
    ],
)
def test_a_link_that_does_not_resolve_is_refused(link: Link, refusal: str) -> None:
    endpoints = tuple(e for e in ENDPOINTS if e.handler is not printers.preview_job)
    with pytest.raises(ValueError, match=refusal):
        build_openapi(endpoints, "0", headers=HEADERS, links=[link])


def _without_title(schema: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in schema.items() if key != "title"}


def test_sim_control_body_is_the_controls_of_every_builtin_simulator() -> None:
    schemas = _document()["components"]["schemas"]
    body = schemas["SimControlRequest"]
    simulators = builtin_simulators()
    controls = body["x-posd-simulator-controls"]
    assert set(controls) == set(simulators)
    for driver, names in controls.items():
        models = simulators[driver].control_models()
        # The components are the models' own schemas: nothing written by hand, nothing to drift.
        assert [_without_title(schemas[name]) for name in names] == [
            _without_title(model.model_json_schema()) for model in models
        ], driver
    # Both drawer simulators' `set` is one component; the scanner's and the scales' `noise` are two.
    assert controls["escpos-drawer"][0] == controls["serial-drawer"][0] == "DrawerSetControl"
    assert "SerialScannerNoiseControl" in controls["serial-scanner"]
    assert "ScaleNoiseControl" in controls["toledo-8217"]
    # One branch per action, so the branches exclude each other (oneOf); the discriminator names each action's.
    mapping = body["discriminator"]["mapping"]
    assert sorted(set(mapping.values())) == sorted(branch["$ref"] for branch in body["oneOf"])
    for names in controls.values():
        for name in names:
            for action in _actions(schemas[name]):
                branch = schemas[mapping[action].rsplit("/", 1)[1]]
                members = [ref["$ref"].rsplit("/", 1)[1] for ref in branch.get("anyOf", [])]
                assert name in members or mapping[action].endswith("/" + name), (action, name)
    assert body["discriminator"]["propertyName"] == "action"


def _actions(schema: dict[str, Any]) -> list[str]:
    action = schema["properties"]["action"]
    return [action["const"]] if "const" in action else list(action["enum"])


@pytest.mark.parametrize(
    ("control", "valid"),
    [
        ({"action": "set", "opened": True}, True),  # a drawer's
        ({"action": "set", "value": 1.25, "unit": "kg"}, True),  # a scale's
        ({"action": "noise", "hex": "ff00"}, True),  # a scanner's and a scale's at once: anyOf, not oneOf
        ({"action": "unplug"}, True),
        ({"action": "scan", "data": "7891000315507", "symbology": "EAN13"}, True),
        ({"action": "set", "opened": True, "value": 1}, False),  # neither set
        ({"action": "set"}, False),
        ({"action": "noise", "hex": "ff" * 4097}, True),  # too long for a scale, but a scanner's
        ({"action": "bogus"}, False),
        ({"action": "clear", "paper": "ok"}, False),
        ({}, False),
    ],
)
def test_sim_control_body_takes_a_control_of_some_simulator(control: dict[str, Any], valid: bool) -> None:
    document = _document()
    validator = jsonschema_rs.validator_for(
        {"$ref": "#/components/schemas/SimControlRequest", "components": document["components"]}
    )
    assert validator.is_valid(control) is valid


class _Knob(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["turn"]
    degrees: int = Field(ge=0, le=360)


class _TurnSimulator(Simulator):
    kind = DeviceKind.DISPLAY
    Control: ClassVar[Any] = _Knob

    @classmethod
    def create(cls, device_id: str, env: SimEnvironment) -> Simulator:
        raise NotImplementedError


def test_sim_control_schemas_name_apart_what_differs_and_merge_what_does_not() -> None:
    builtin = builtin_simulators()
    simulators: dict[str, type[Simulator]] = {"turner": _TurnSimulator, "scanner": builtin["serial-scanner"]}
    simulators |= {
        "scale": builtin["nci"],
        "drawer": builtin["escpos-drawer"],
        "other-drawer": builtin["serial-drawer"],
    }
    body, components = sim_control_schemas(simulators)
    assert body["x-posd-simulator-controls"] == {
        "drawer": ["DrawerSetControl", "PlugControl"],
        "other-drawer": ["DrawerSetControl", "SilenceControl", "PlugControl"],
        "scale": ["SetControl", "StatusControl", "ScaleNoiseControl", "PlugControl"],
        "scanner": ["ScanControl", "SerialScannerNoiseControl", "PlugControl"],
        "turner": ["_Knob", "PlugControl"],
    }
    assert components["SetControls"]["anyOf"] == [
        {"$ref": "#/components/schemas/DrawerSetControl"},
        {"$ref": "#/components/schemas/SetControl"},
    ]
    assert body["discriminator"]["mapping"]["turn"] == "#/components/schemas/_Knob"
    assert body["discriminator"]["mapping"]["plug"] == body["discriminator"]["mapping"]["unplug"]
    assert control_actions(_Knob) == ("turn",)


def test_api_docs_show_every_simulator_control() -> None:
    """docs/api.md's table of simulator controls has every action and field of the models the document is built from."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text()
    section = text[text.index("## Simulate mode") :]
    models = {model for simulator in builtin_simulators().values() for model in simulator.control_models()}
    actions = {action for model in models for action in control_actions(model)}
    assert set(re.findall(r'"action":"(\w+)"', section)) == actions
    fields = {field.alias or name for model in models for name, field in model.model_fields.items()}
    assert [field for field in sorted(fields) if f'"{field}":' not in section] == []
