"""The technician console page and the static files beside it (its script and style, the JS client posd.js).

Everything under ``api/static`` is read once when the app is built: the files are small, and they belong to the
installed version, which only changes with a restart. All are public (no token), like the console page itself.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import PurePosixPath

from aiohttp import web

from api.endpoints import Call, Endpoint
from api.problems import ApiError

CONSOLE_FILE = "console.html"
STATIC_PREFIX = "/static/"

#: Suffix → Content-Type. A module script with any other type is refused by browsers, and nosniff keeps it so.
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}

# No inline script or style anywhere ('unsafe-inline' is gone): an injected <script> or style attribute in a
# device name or a reason cannot run. connect-src 'self' covers the page's own ws:// origin (CSP Level 3).
# img-src blob: is for the simulated printer's paper, fetched with the token and shown from a blob URL.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate it: no clickjacking of drawer buttons
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@dataclass(frozen=True)
class StaticFile:
    body: bytes
    content_type: str
    etag: str

    def response(self, request: web.Request) -> web.Response:
        # no-cache = store, but ask every time: the names carry no version, and a console or posd.js cached
        # from before an upgrade would talk to the new daemon with old code. The ETag keeps the asking cheap.
        headers = {**SECURITY_HEADERS, "Cache-Control": "no-cache", "ETag": self.etag}
        if self.etag in _etags(request.headers.get("If-None-Match", "")):
            return web.Response(status=304, headers=headers)
        return web.Response(body=self.body, headers={**headers, "Content-Type": self.content_type})


def _etags(header: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}


def load_static_files() -> dict[str, StaticFile]:
    """Every servable file in api/static by name."""
    files: dict[str, StaticFile] = {}
    for entry in resources.files("api").joinpath("static").iterdir():
        content_type = CONTENT_TYPES.get(PurePosixPath(entry.name).suffix)
        if content_type is None or not entry.is_file():
            continue
        body = entry.read_bytes()
        files[entry.name] = StaticFile(body, content_type, f'"{hashlib.sha256(body).hexdigest()[:20]}"')
    return files


def console_endpoints() -> tuple[Endpoint, ...]:
    files = load_static_files()
    console = files[CONSOLE_FILE]
    # The page has one address, "/": served under /static/ too it would be a second copy to keep in mind.
    assets = {name: file for name, file in files.items() if name != CONSOLE_FILE}

    async def get_console(call: Call) -> web.Response:
        return console.response(call.request)

    async def get_static(call: Call) -> web.Response:
        file = assets.get(call.match("name"))
        if file is None:
            raise ApiError("not_found", f"no static file {call.match('name')!r}")
        return file.response(call.request)

    return (
        Endpoint("GET", "/", get_console, "public", "Technician console", response_media="text/html", tag="daemon"),
        Endpoint(
            "GET",
            STATIC_PREFIX + "{name}",
            get_static,
            "public",
            "The console's script and style, and the JS client posd.js",
            response_media="text/javascript",
            tag="daemon",
        ),
    )
