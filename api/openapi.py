"""OpenAPI 3.1, generated from the endpoint table and the same pydantic models the handlers validate with.

Besides the endpoints, the table gives the headers an operation reads or answers with (:class:`Header`) and the
links between operations (:class:`Link`: the job a submission answers with is the job the job operations take),
which clients and stateful tests follow. The body of ``POST /api/v1/sim/{id}`` is built from the control models of
every simulator in the built-in driver registry (:func:`sim_control_schemas`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from api.endpoints import Endpoint, EndpointHandler
from api.events_ws import EVENTS_PATH, EventsQuery
from api.problems import CODES
from api.schemas import Problem, SimControlRequest
from drivers.registry import DriverRegistry
from drivers.simulator import Simulator, control_actions

REF = "#/components/schemas/{model}"


@dataclass(frozen=True)
class Header:
    """A header an operation reads (``request``: a header parameter) or sends with its successful answer."""

    operation: EndpointHandler
    name: str
    where: Literal["request", "response"]
    description: str
    required: bool = False
    pattern: str | None = None
    enum: tuple[str, ...] = ()

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string"}
        if self.pattern is not None:
            schema["pattern"] = self.pattern
        if self.enum:
            schema["enum"] = list(self.enum)
        return schema


@dataclass(frozen=True)
class Link:
    """An OpenAPI link: what a successful answer of ``source`` (or its request) gives a request of ``target``.

    ``parameters`` maps a parameter of the target (path, query or header, by name) to a runtime expression:
    ``$response.body#/json/pointer``, ``$response.header.Name``, ``$request.path.name``, ``$request.query.name``
    or ``$request.header.Name``. ``request_body`` is the target's whole body, as an expression (``$request.body``:
    the source's body again). :func:`build_openapi` refuses a link whose names or pointers do not resolve.
    """

    name: str
    source: EndpointHandler
    target: EndpointHandler
    parameters: Mapping[str, str]
    description: str
    request_body: str | None = None


def _path_params(path: str) -> list[dict[str, Any]]:
    return [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"{(\w+)}", path)
    ]


def _query_params(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema()
    required = set(schema.get("required", []))
    return [
        {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": prop,
            **({"description": prop["description"]} if "description" in prop else {}),
        }
        for name, prop in schema.get("properties", {}).items()
    ]


def _header_params(headers: Iterable[Header]) -> list[dict[str, Any]]:
    return [
        {
            "name": header.name,
            "in": "header",
            "required": header.required,
            "description": header.description,
            "schema": header.schema(),
        }
        for header in headers
    ]


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def _problem_responses(codes: tuple[str, ...] | list[str]) -> dict[str, Any]:
    by_status: dict[int, list[str]] = {}
    for code in codes:
        by_status.setdefault(CODES[code][0], []).append(code)
    return {
        str(status): {
            "description": "Problem: " + ", ".join(f"`{c}`" for c in names),
            "content": {"application/problem+json": {"schema": _ref(Problem)}},
        }
        for status, names in sorted(by_status.items())
    }


# -- simulator controls ------------------------------------------------------------------------------------
def _camel(text: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^0-9A-Za-z]+", text) if part)


def _module_prefix(model: type[BaseModel]) -> str:
    """``drivers.serial_scanner.simulator`` → ``SerialScanner``, ``drivers.scale_simulator`` → ``Scale``."""
    parts = [part.removesuffix("_simulator") for part in model.__module__.split(".")]
    return _camel("_".join(part for part in parts if part not in ("drivers", "simulator")))


def _add_component(components: dict[str, Any], name: str, schema: Mapping[str, Any]) -> None:
    if name in components and components[name] != schema:
        raise ValueError(f"two different schemas are both named {name!r}")
    components[name] = dict(schema)


def sim_control_schemas(simulators: Mapping[str, type[Simulator]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The body of ``POST /api/v1/sim/{id}`` and the components it refers to, from the simulators' control models.

    ``simulators`` maps a driver name to its simulator class. The body is a ``oneOf`` with one branch per action,
    discriminated by ``action``: the model of the one control with that action, or an ``anyOf`` over the controls of
    different simulators that share it (``set`` is the load on a scale and the switch of a drawer; ``noise`` is
    hex on a scanner's line and, at most 8192 digits of it, on a scale's). Models with the same schema are one
    component (both drawer simulators have the same ``set``); different ones with the same class name are told
    apart by their module. ``x-posd-simulator-controls`` says which driver's simulator takes which: the device
    behind the id refuses another simulator's control with ``400 invalid_request``.
    """
    schemas: dict[str, tuple[type[BaseModel], dict[str, Any]]] = {}  # canonical schema → its first model, schema
    key_of: dict[type[BaseModel], str] = {}
    components: dict[str, Any] = {}
    for driver in sorted(simulators):
        for model in simulators[driver].control_models():
            if model in key_of:
                continue
            schema = model.model_json_schema(ref_template=REF)
            for name, definition in schema.pop("$defs", {}).items():
                _add_component(components, name, definition)
            if "action" not in schema.get("required", ()):
                raise ValueError(f"control {model.__name__} must require its action")
            key_of[model] = key = json.dumps(schema, sort_keys=True)
            schemas.setdefault(key, (model, schema))
    class_names = [model.__name__ for model, _ in schemas.values()]
    names: dict[str, str] = {}  # canonical schema → component name
    for key, (model, schema) in schemas.items():
        shared = class_names.count(model.__name__) > 1
        names[key] = (_module_prefix(model) if shared else "") + model.__name__
        _add_component(components, names[key], {**schema, "title": names[key]})
    # Controls whose actions overlap make one branch, so that the branches exclude each other (oneOf).
    groups: list[tuple[list[str], list[str]]] = []  # (actions, component names)
    for key, (model, _) in schemas.items():
        actions, members = list(control_actions(model)), [names[key]]
        for overlapping in [group for group in groups if set(group[0]) & set(actions)]:
            groups.remove(overlapping)
            actions = overlapping[0] + [action for action in actions if action not in overlapping[0]]
            members = overlapping[1] + members
        groups.append((actions, members))
    branches: list[dict[str, str]] = []
    mapping: dict[str, str] = {}
    for actions, members in sorted(groups):
        name = members[0]
        if len(members) > 1:
            name = "".join(_camel(action) for action in actions) + "Controls"
            listed = ", ".join(f"`{action}`" for action in actions)
            anyof: dict[str, Any] = {
                "title": name,
                "description": f"The controls with action {listed} of different simulators: the device behind the "
                "id takes its own simulator's.",
                "anyOf": [{"$ref": REF.format(model=member)} for member in sorted(members)],
            }
            _add_component(components, name, anyof)
        branches.append({"$ref": REF.format(model=name)})
        mapping.update(dict.fromkeys(actions, REF.format(model=name)))
    body = {
        "title": SimControlRequest.__name__,
        "description": "A control of a simulated device, by `action`. Each simulator takes its own controls "
        "(`x-posd-simulator-controls`: driver → the controls of its simulator) and refuses the others with "
        "`400 invalid_request`.",
        "type": "object",
        "oneOf": branches,
        "discriminator": {"propertyName": "action", "mapping": mapping},
        "x-posd-simulator-controls": {
            driver: [names[key_of[model]] for model in simulators[driver].control_models()]
            for driver in sorted(simulators)
        },
    }
    return body, components


def builtin_simulators() -> dict[str, type[Simulator]]:
    """Driver name → simulator class, for every built-in driver that has one (this imports them all)."""
    return {spec.name: spec.simulator for spec in DriverRegistry.builtin().specs() if spec.simulator is not None}


# -- links ---------------------------------------------------------------------------------------------------
_EXPRESSION = re.compile(
    r"\$(?:response\.body#(?P<pointer>(?:/[^/]*)*)"
    r"|(?P<side>request|response)\.(?P<part>path|query|header)\.(?P<name>[\w-]+)"
    r"|(?P<body>request\.body))"
)


def _resolve(schemas: Mapping[str, Any], schema: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in schema:
        schema = schemas[schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _pointer_resolves(schemas: Mapping[str, Any], schema: Mapping[str, Any], tokens: list[str]) -> bool:
    """Whether a JSON pointer (as tokens) can name a value in an instance of ``schema``."""
    schema = _resolve(schemas, schema)
    if not tokens:
        return True
    token, rest = tokens[0].replace("~1", "/").replace("~0", "~"), tokens[1:]
    for keyword in ("anyOf", "oneOf", "allOf"):
        if any(_pointer_resolves(schemas, branch, tokens) for branch in schema.get(keyword, ())):
            return True
    if token in schema.get("properties", {}):
        return _pointer_resolves(schemas, schema["properties"][token], rest)
    return token.isdigit() and "items" in schema and _pointer_resolves(schemas, schema["items"], rest)


@dataclass(frozen=True)
class _Operation:
    endpoint: Endpoint
    request_headers: list[Header]
    response_headers: list[Header]

    @property
    def parameters(self) -> dict[str, str]:
        """Parameter name → where it goes (path, query, header)."""
        names = dict.fromkeys(re.findall(r"{(\w+)}", self.endpoint.path), "path")
        if self.endpoint.query is not None:
            names.update(dict.fromkeys(self.endpoint.query.model_json_schema().get("properties", {}), "query"))
        names.update({header.name: "header" for header in self.request_headers})
        return names


def _operations(endpoints: Iterable[Endpoint], headers: Sequence[Header]) -> dict[EndpointHandler, _Operation]:
    operations = {
        endpoint.handler: _Operation(
            endpoint,
            [h for h in headers if h.operation is endpoint.handler and h.where == "request"],
            [h for h in headers if h.operation is endpoint.handler and h.where == "response"],
        )
        for endpoint in endpoints
    }
    if unknown := [header.name for header in headers if header.operation not in operations]:
        raise ValueError(f"headers of operations that are not in the endpoint table: {unknown}")
    return operations


def _check_expression(expression: str, operation: _Operation, schemas: Mapping[str, Any], what: str) -> None:
    match = _EXPRESSION.fullmatch(expression)
    endpoint = operation.endpoint
    if match is None:
        raise ValueError(f"{what}: {expression!r} is not a runtime expression this document uses")
    if match["pointer"] is not None:
        response = endpoint.response
        tokens = match["pointer"].split("/")[1:]
        if response is None or not _pointer_resolves(schemas, _ref(response), tokens):
            raise ValueError(f"{what}: {expression!r} names nothing in the answer of {endpoint.handler.__name__}")
    elif match["body"] is not None:
        if endpoint.body is None:
            raise ValueError(f"{what}: {endpoint.handler.__name__} takes no body")
    elif match["side"] == "response":
        if match["part"] != "header" or match["name"] not in {h.name for h in operation.response_headers}:
            raise ValueError(f"{what}: {endpoint.handler.__name__} answers with no header {match['name']!r}")
    elif operation.parameters.get(match["name"]) != match["part"]:
        raise ValueError(f"{what}: {endpoint.handler.__name__} has no {match['part']} parameter {match['name']!r}")


def _links(
    links: Iterable[Link], operations: Mapping[EndpointHandler, _Operation], schemas: Mapping[str, Any]
) -> dict[EndpointHandler, dict[str, Any]]:
    """Each source's links, as its success response lists them; a link that does not resolve is an error."""
    by_source: dict[EndpointHandler, dict[str, Any]] = {}
    for link in links:
        what = f"link {link.name!r}"
        source, target = operations.get(link.source), operations.get(link.target)
        if source is None or target is None:
            raise ValueError(f"{what}: its source or target is not in the endpoint table")
        for name, expression in link.parameters.items():
            if name not in target.parameters:
                raise ValueError(f"{what}: {link.target.__name__} has no parameter {name!r}")
            _check_expression(expression, source, schemas, what)
        definition: dict[str, Any] = {
            "operationId": link.target.__name__,
            "description": link.description,
            "parameters": dict(link.parameters),
        }
        if link.request_body is not None:
            if target.endpoint.body is None:
                raise ValueError(f"{what}: {link.target.__name__} takes no body")
            _check_expression(link.request_body, source, schemas, what)
            definition["requestBody"] = link.request_body
        named = by_source.setdefault(link.source, {})
        if link.name in named:
            raise ValueError(f"{what}: {link.source.__name__} has two links of that name")
        named[link.name] = definition
    return by_source


def _operation(operation: _Operation, links: Mapping[str, Any] | None) -> dict[str, Any]:
    endpoint = operation.endpoint
    errors = list(endpoint.errors)
    if endpoint.access != "public":
        errors += ["unauthorized", "forbidden_origin", "forbidden_host"]
        if endpoint.access != "any":
            errors.append("insufficient_scope")
    if endpoint.body is not None:
        errors += ["invalid_json", "invalid_request", "unsupported_media_type", "body_too_large"]
    if endpoint.query is not None or operation.request_headers:
        errors.append("invalid_request")  # the query and headers are validated too (bad values, unknown names)
    success: dict[str, Any] = {
        "description": "OK",
        "content": {endpoint.response_media: {"schema": _ref(endpoint.response)}}
        if endpoint.response is not None
        else {endpoint.response_media: {}},
    }
    if operation.response_headers:
        success["headers"] = {
            header.name: {"description": header.description, "required": header.required, "schema": header.schema()}
            for header in operation.response_headers
        }
    if links:
        success["links"] = dict(links)
    document: dict[str, Any] = {
        "operationId": endpoint.handler.__name__,
        "summary": endpoint.summary,
        "tags": [endpoint.tag],
        "parameters": _path_params(endpoint.path)
        + (_query_params(endpoint.query) if endpoint.query else [])
        + _header_params(operation.request_headers),
        "responses": {str(endpoint.status): success, **_problem_responses(sorted(set(errors)))},
        "security": []
        if endpoint.access == "public"
        else [{"bearer": [] if endpoint.access == "any" else [endpoint.access]}],
        "x-posd-scope": endpoint.access,
    }
    if endpoint.local_without_token:
        # OpenAPI's empty requirement: no credentials at all is the other way in (from a local tool).
        document["security"].append({})
        document["x-posd-local-without-token"] = True
    if endpoint.description:
        document["description"] = endpoint.description
    if endpoint.body is not None:
        document["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(endpoint.body)}},
        }
    return document


def build_openapi(
    endpoints: Sequence[Endpoint],
    version: str,
    *,
    headers: Sequence[Header],
    links: Sequence[Link],
    simulators: Mapping[str, type[Simulator]] | None = None,
) -> dict[str, Any]:
    """The document; ``simulators`` (driver name → class, for the simulator controls) defaults to the built-in ones."""
    models: set[type[BaseModel]] = {Problem}
    for endpoint in endpoints:
        models.update(m for m in (endpoint.body, endpoint.response) if m is not None)
    _, generated = models_json_schema(
        [(m, "validation") for m in sorted(models, key=lambda m: m.__name__)], ref_template=REF
    )
    schemas: dict[str, Any] = generated.get("$defs", generated)
    if SimControlRequest in models:
        body, components = sim_control_schemas(builtin_simulators() if simulators is None else simulators)
        for name, schema in components.items():
            _add_component(schemas, name, schema)
        schemas[SimControlRequest.__name__] = body
    operations = _operations(endpoints, headers)
    links_of = _links(links, operations, schemas)
    paths: dict[str, dict[str, Any]] = {}
    for handler, operation in operations.items():
        endpoint = operation.endpoint
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = _operation(operation, links_of.get(handler))
    paths[EVENTS_PATH] = {
        "get": {
            "operationId": "events",
            "summary": 'WebSocket event stream (upgrade). First message {"type":"auth","token":…}; see docs/api.md',
            "tags": ["events"],
            "parameters": _query_params(EventsQuery),
            "responses": {
                "101": {"description": "Switching protocols"},
                **_problem_responses(["forbidden_origin", "forbidden_host", "invalid_request"]),
            },
            "security": [],
        }
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "posd",
            "version": version,
            "description": "Local HTTP/WebSocket API of the posd point-of-sale hardware daemon.",
        },
        "servers": [{"url": "http://127.0.0.1:7117"}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
