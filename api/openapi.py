"""OpenAPI 3.1, generated from the endpoint table and the same pydantic models the handlers validate with."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from api.endpoints import Endpoint
from api.events_ws import EVENTS_PATH, EventsQuery
from api.problems import CODES
from api.schemas import Problem

REF = "#/components/schemas/{model}"


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


def build_openapi(endpoints: tuple[Endpoint, ...], version: str) -> dict[str, Any]:
    models: set[type[BaseModel]] = {Problem}
    for endpoint in endpoints:
        models.update(m for m in (endpoint.body, endpoint.response) if m is not None)
    _, schemas = models_json_schema(
        [(m, "validation") for m in sorted(models, key=lambda m: m.__name__)], ref_template=REF
    )
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        errors = list(endpoint.errors)
        if endpoint.access != "public":
            errors += ["unauthorized", "forbidden_origin", "forbidden_host"]
            if endpoint.access != "any":
                errors.append("insufficient_scope")
        if endpoint.body is not None:
            errors += ["invalid_json", "invalid_request", "unsupported_media_type", "body_too_large"]
        if endpoint.query is not None:
            errors.append("invalid_request")  # the query model is validated too (bad values, unknown names)
        operation: dict[str, Any] = {
            "operationId": endpoint.handler.__name__,
            "summary": endpoint.summary,
            "tags": [endpoint.tag],
            "parameters": _path_params(endpoint.path) + (_query_params(endpoint.query) if endpoint.query else []),
            "responses": {
                str(endpoint.status): {
                    "description": "OK",
                    "content": {endpoint.response_media: {"schema": _ref(endpoint.response)}}
                    if endpoint.response is not None
                    else {endpoint.response_media: {}},
                },
                **_problem_responses(sorted(set(errors))),
            },
            "security": []
            if endpoint.access == "public"
            else [{"bearer": [] if endpoint.access == "any" else [endpoint.access]}],
            "x-posd-scope": endpoint.access,
        }
        if endpoint.local_without_token:
            # OpenAPI's empty requirement: no credentials at all is the other way in (from a local tool).
            operation["security"].append({})
            operation["x-posd-local-without-token"] = True
        if endpoint.description:
            operation["description"] = endpoint.description
        if endpoint.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": _ref(endpoint.body)}},
            }
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = operation
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
            "schemas": schemas.get("$defs", schemas),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
