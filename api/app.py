"""The aiohttp application: middlewares, routes, WebSocket hub, OpenAPI, console."""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from api import drawers
from api.console import console_endpoints
from api.endpoint_table import ENDPOINTS, HEADERS, LINKS
from api.endpoints import Call, Endpoint, add_routes
from api.events_ws import EVENTS_PATH, FRAMES, SOCKETS, FrameCache, close_all_sockets, events_handler
from api.guard import GuardPolicy, make_guard
from api.openapi import build_openapi
from api.problems import ApiError, from_posd_error, problem_response
from api.routes import DAEMON
from daemon.events import encode_json
from daemon.service import Daemon
from drivers.errors import PosdError

_LOGGER = logging.getLogger(__name__)

GUARD = web.AppKey("guard", GuardPolicy)

ProblemHook = Callable[[web.Request, dict[str, str], ApiError], Awaitable[None]]
#: Route path → coroutine awaited with every problem answered on that route, whoever raised it (the guard
#: included): drawer opens record their refusals this way.
PROBLEM_HOOKS = web.AppKey("problem_hooks", dict[str, ProblemHook])

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}


def make_problem_middleware(policy: GuardPolicy) -> Middleware:
    @web.middleware
    async def problems(request: web.Request, handler: Handler) -> web.StreamResponse:
        headers: dict[str, str] = {}
        try:
            return await handler(request)
        except ApiError as err:
            error = err
        except PosdError as err:
            error = from_posd_error(err)
        except web.HTTPException as err:
            if err.status < 400:
                raise
            error = ApiError(_HTTP_CODES.get(err.status, "invalid_request"), err.text or err.reason)
            if "Allow" in err.headers:
                # RFC 9110: a 405 must list the methods the resource has; aiohttp's exception carries them.
                headers["Allow"] = err.headers["Allow"]
            if err.status == 413:
                error = ApiError(
                    "body_too_large", f"body larger than {request.app[DAEMON].config.server.max_body_bytes} bytes"
                )
        except Exception:
            _LOGGER.exception("unhandled error in %s %s", request.method, request.path)
            error = ApiError("internal_error")
        await _run_problem_hook(request, error)
        origin = request.headers.get("Origin")
        if origin is not None and origin in policy.origins:
            headers.update({"Access-Control-Allow-Origin": origin, "Vary": "Origin"})
        if error.code == "unauthorized":
            headers["WWW-Authenticate"] = "Bearer"
        if isinstance(retry_after := error.extra.get("retry_after_s"), int | float):
            headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
        return problem_response(error, headers)

    return problems


async def _run_problem_hook(request: web.Request, error: ApiError) -> None:
    hooks = request.app[PROBLEM_HOOKS]
    resource = request.match_info.route.resource
    if resource is not None:
        hook, params = hooks.get(resource.canonical), dict(request.match_info)
    else:  # no route for this method (e.g. a refused CORS preflight): match the path alone
        hook, params = None, {}
        for candidate in request.app.router.resources():
            pattern = candidate.get_info().get("pattern")
            if candidate.canonical in hooks and pattern is not None and (found := pattern.fullmatch(request.path)):
                hook, params = hooks[candidate.canonical], found.groupdict()
                break
    if hook is None:
        return
    try:
        await hook(request, params, error)
    except Exception:
        _LOGGER.exception("problem hook of %s failed", request.path)


def build_app(daemon: Daemon) -> web.Application:
    server = daemon.config.server
    policy = GuardPolicy(
        tokens=daemon.tokens, extra_hosts=list(server.allowed_hosts), extra_origins=list(server.allowed_origins)
    )
    app = web.Application(
        middlewares=[make_problem_middleware(policy), make_guard(policy)],
        client_max_size=server.max_body_bytes,
    )
    app[DAEMON] = daemon
    app[GUARD] = policy
    app[PROBLEM_HOOKS] = {**drawers.PROBLEM_HOOKS}
    app[SOCKETS] = set()
    app[FRAMES] = FrameCache()

    @functools.cache
    def openapi_document() -> bytes:
        # Built on first request, not at start: generating the schemas costs 0.7 MB of idle memory on a
        # till where nobody may ever ask (and the simulator controls import every built-in simulator).
        # The endpoint table cannot change afterwards, so once is enough.
        return encode_json(build_openapi(ENDPOINTS, daemon.version, headers=HEADERS, links=LINKS))

    async def get_openapi(call: Call) -> web.Response:
        return web.Response(body=openapi_document(), content_type="application/json")

    add_routes(app, ENDPOINTS)
    add_routes(
        app,
        (
            Endpoint("GET", "/api/v1/openapi.json", get_openapi, "public", "This document", tag="daemon"),
            *console_endpoints(),
        ),
    )
    app.router.add_get(EVENTS_PATH, events_handler)
    app.on_shutdown.append(close_all_sockets)
    return app
