"""The request guard: Host and exact-match Origin allowlists, CORS preflight, bearer token, JSON state changes.

It runs on every request and every WebSocket upgrade, before any handler. Why each check exists:
- Host: DNS rebinding makes a hostile page same-origin with us; only the Host header gives it away.
- Origin: browsers do not apply CORS to WebSocket upgrades or to "simple" requests; we compare exactly.
- JSON + token on state changes: a form post, text/plain or no-cors fetch can never change state.
- Local tools (:func:`is_local_tool`): a few read-only endpoints also answer a loopback client that is not a
  browser without a token, decided per endpoint after these checks.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.typedefs import Middleware

from api.problems import ApiError
from daemon.security import Principal, TokenStore, bearer_token

PRINCIPAL_KEY = web.RequestKey("principal", Principal)
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CORS_ALLOW_HEADERS = "Authorization, Content-Type, Idempotency-Key"
CORS_ALLOW_METHODS = "GET, POST, DELETE, OPTIONS"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class GuardPolicy:
    tokens: TokenStore
    extra_hosts: list[str] = field(default_factory=list)
    extra_origins: list[str] = field(default_factory=list)
    port: int = 0
    hosts: frozenset[str] = frozenset()
    origins: frozenset[str] = frozenset()

    def bind(self, port: int) -> None:
        """Set the bound port: the daemon's own hosts and origins follow from it."""
        self.port = port
        own = ("127.0.0.1", "localhost", "[::1]")
        hosts = {f"{h}:{port}" for h in own}
        if port == 80:
            hosts.update(own)
        self.hosts = frozenset(hosts | {h.lower() for h in self.extra_hosts})
        self.origins = frozenset({f"http://{h}:{port}" for h in own} | set(self.extra_origins))


def principal_of(request: web.Request) -> Principal | None:
    return request.get(PRINCIPAL_KEY)


def is_local_tool(request: web.Request) -> bool:
    """A non-browser client on this machine (a Prometheus scraper, curl on the till): loopback peer, no browser marks.

    Browsers send Origin on every cross-origin fetch, but not on "no-cors" GETs (``<img>``, ``<script>``) that any
    web page may aim at 127.0.0.1; current browsers mark those with ``Sec-Fetch-Site`` instead ("none" is only a
    URL typed by the user). The Host check has run before this, so a DNS-rebound page — same-origin to its
    browser, hence no Origin on a GET — never gets here.
    """
    if "Origin" in request.headers or request.headers.get("Sec-Fetch-Site", "none") != "none":
        return False
    # The TCP peer itself, not request.remote, which forwarded-header handling may rewrite.
    peer = request.transport.get_extra_info("peername") if request.transport is not None else None
    if not isinstance(peer, tuple) or not peer or not isinstance(peer[0], str):
        return False  # a Unix socket or a closed transport: no address to judge
    try:
        address = ipaddress.ip_address(peer[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # a dual-stack socket shows 127.0.0.1 as ::ffff:127.0.0.1
    return address.is_loopback


def _cors_headers(origin: str) -> dict[str, str]:
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}


def make_guard(policy: GuardPolicy) -> Middleware:
    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        host = request.headers.get("Host", "").lower()
        if host not in policy.hosts:
            raise ApiError("forbidden_host", f"Host {host!r} is not allowed")
        origin = request.headers.get("Origin")
        if origin is not None and origin not in policy.origins:
            raise ApiError("forbidden_origin", f"Origin {origin!r} is not allowed")

        if request.method == "OPTIONS" and origin is not None:
            headers = {
                **_cors_headers(origin),
                "Access-Control-Allow-Methods": CORS_ALLOW_METHODS,
                "Access-Control-Allow-Headers": CORS_ALLOW_HEADERS,
                "Access-Control-Max-Age": "600",
            }
            if request.headers.get("Access-Control-Request-Private-Network") == "true":
                # Chrome's Local Network Access preflight: allowed origins may reach this loopback service.
                headers["Access-Control-Allow-Private-Network"] = "true"
            return web.Response(status=204, headers=headers)

        principal = policy.tokens.authenticate(bearer_token(request.headers.get("Authorization")))
        if principal is not None:
            request[PRINCIPAL_KEY] = principal
        # A method or path with no route is answered 404/405 (with Allow) by the router: no token or Content-Type
        # would make it acceptable, so a 401 or 415 would send the client after the wrong fix. Nothing runs.
        if request.method in STATE_CHANGING and request.match_info.http_exception is None:
            if principal is None:
                raise ApiError("unauthorized")
            has_body = request.method != "DELETE" or request.can_read_body
            if has_body and request.content_type != "application/json":
                raise ApiError(
                    "unsupported_media_type", f"Content-Type {request.content_type!r}; send application/json"
                )
        response = await handler(request)
        if origin is not None and not response.prepared:
            response.headers.update(_cors_headers(origin))
        return response

    return guard
