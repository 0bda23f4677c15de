"""Endpoint table: one declaration per route drives the aiohttp router, scope checks, body and query
validation, and the OpenAPI document — so the served contract and the handlers cannot drift apart."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from api.guard import is_local_tool, principal_of
from api.problems import ApiError
from daemon.config import Scope

_LOGGER = logging.getLogger(__name__)

#: Bodies larger than this are parsed and validated on a worker thread (1 kB of JSON takes ~20 µs).
OFF_LOOP_BODY_BYTES = 64 * 1024

Access = Scope | Literal["any", "public"]
QueryModel = TypeVar("QueryModel", bound=BaseModel)


@dataclass(frozen=True)
class Call:
    """What a handler gets: the request plus its validated body and query."""

    request: web.Request
    body: Any
    query: Any

    def match(self, name: str) -> str:
        return self.request.match_info[name]


HandlerResult = BaseModel | web.StreamResponse
EndpointHandler = Callable[[Call], Awaitable[HandlerResult]]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: EndpointHandler
    access: Access
    summary: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    response_media: str = "application/json"
    status: int = 200
    errors: Sequence[str] = ()
    tag: str = "devices"
    description: str = ""
    local_without_token: bool = False
    """Also answer a local non-browser client that sends no token (see :func:`api.guard.is_local_tool`)."""


def validation_problem(err: ValidationError, where: str) -> ApiError:
    errors = [
        {"loc": ".".join(str(p) for p in e["loc"]) or where, "msg": e["msg"], "type": e["type"]}
        for e in err.errors(include_url=False)
    ]
    first = errors[0]
    return ApiError("invalid_request", f"{where} {first['loc']}: {first['msg']}", errors=errors)


def _check_access(request: web.Request, endpoint: Endpoint) -> None:
    access = endpoint.access
    if access == "public":
        return
    principal = principal_of(request)
    if principal is None:
        # A request that brings credentials is judged by them: a wrong token gets its 401, not a silent pass.
        no_credentials = "Authorization" not in request.headers
        if endpoint.local_without_token and no_credentials and is_local_tool(request):
            return
        raise ApiError("unauthorized")
    if access != "any" and not principal.allows(access):
        raise ApiError("insufficient_scope", f"this needs the {access!r} scope", required_scope=access)


def _integral_number(text: str) -> int | float:
    number = float(text)
    return int(number) if number.is_integer() else number


def _validate_json(model: type[BaseModel], raw: bytes) -> BaseModel:
    try:
        # Strict: a value must have the JSON type the schema gives it. Lax mode would take true or "5" for an
        # integer and 1 for a boolean, which the OpenAPI document calls invalid.
        return model.model_validate_json(raw, strict=True)
    except ValidationError as err:
        if not any(
            e["type"] == "int_type" and isinstance(e["input"], float) and e["input"].is_integer() for e in err.errors()
        ):
            raise
    # JSON has one number type: 30000.0 is an integer to JSON Schema (and what a Python client that computes
    # a timeout sends), but not to strict pydantic. Read such numbers as integers and validate again.
    return model.model_validate_json(json.dumps(json.loads(raw, parse_float=_integral_number)), strict=True)


async def _parse_body(request: web.Request, model: type[BaseModel]) -> BaseModel:
    # No body at all reads as {} (an action without parameters, or all defaults); whitespace is not JSON.
    raw = await request.read() or b"{}"
    try:
        if len(raw) > OFF_LOOP_BODY_BYTES:
            # A 1 MB raw job takes ~30 ms to parse and decode: not on the event loop, which delivers scans.
            return await asyncio.to_thread(_validate_json, model, raw)
        return _validate_json(model, raw)
    except ValidationError as err:
        first = err.errors(include_url=False)[0]
        if first["type"] == "json_invalid":
            why = first.get("ctx", {}).get("error", first["msg"])
            raise ApiError("invalid_json", f"body is not JSON: {why}") from err
        raise validation_problem(err, "body") from err


def parse_query(request: web.Request, model: type[QueryModel]) -> QueryModel:
    """The query as ``model``; a parameter given twice is refused (which one was meant is a guess)."""
    repeated = sorted({name for name in request.query if len(request.query.getall(name)) > 1})
    if repeated:
        raise ApiError("invalid_request", f"query parameter {repeated[0]!r} given more than once")
    try:
        return model.model_validate(dict(request.query))
    except ValidationError as err:
        raise validation_problem(err, "query") from err


def json_response(model: BaseModel, status: int = 200) -> web.Response:
    return web.Response(
        body=model.model_dump_json(exclude_none=False).encode(), status=status, content_type="application/json"
    )


def wrap(endpoint: Endpoint) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        _check_access(request, endpoint)
        body = await _parse_body(request, endpoint.body) if endpoint.body is not None else None
        query = parse_query(request, endpoint.query) if endpoint.query is not None else None
        result = await endpoint.handler(Call(request, body, query))
        if isinstance(result, web.StreamResponse):
            return result
        return json_response(result, endpoint.status)

    handle.__name__ = endpoint.handler.__name__
    return handle


def add_routes(app: web.Application, endpoints: Sequence[Endpoint]) -> None:
    for endpoint in endpoints:
        handler = wrap(endpoint)
        app.router.add_route(endpoint.method, endpoint.path, handler)
        if endpoint.method == "GET":
            # HEAD is GET without the body (aiohttp leaves it out): curl -I, uptime checks, link checkers.
            app.router.add_route("HEAD", endpoint.path, handler)
