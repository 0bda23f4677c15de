"""The console page and its static files (script, style, the JS client): public, typed, revalidated, no inline code."""

from __future__ import annotations

import re

import pytest

from api.console import CONTENT_SECURITY_POLICY
from tests.conftest import StartDaemon

STATIC = (
    ("posd.js", "text/javascript"),
    ("console.js", "text/javascript"),
    ("console.css", "text/css"),
    ("favicon.svg", "image/svg+xml"),
)


def test_the_console_policy_allows_no_inline_code() -> None:
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY
    assert "'unsafe-eval'" not in CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY


async def test_static_files_are_public_typed_and_revalidated(start_daemon: StartDaemon) -> None:
    handle = await start_daemon(simulate=False)
    for name, media_type in STATIC:
        response = await handle.get(f"/static/{name}", token=None)
        assert response.status == 200, name
        assert response.headers["Content-Type"].startswith(media_type), name
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "no-cache"
        headers = {name.lower(): value for name, value in response.headers.items()}
        etag = headers["etag"]
        again = await handle.get(f"/static/{name}", token=None, headers={"If-None-Match": etag})
        assert (again.status, again.body) == (304, None), name
        assert {name.lower(): value for name, value in again.headers.items()}["etag"] == etag


@pytest.mark.parametrize("name", ["nope.js", "console.html", "__init__.py"])
async def test_only_known_static_files_are_served(start_daemon: StartDaemon, name: str) -> None:
    handle = await start_daemon(simulate=False)
    response = await handle.get(f"/static/{name}", token=None)
    assert (response.status, response.body["code"]) == (404, "not_found")


async def test_the_console_page_loads_only_files_the_daemon_serves(start_daemon: StartDaemon) -> None:
    handle = await start_daemon(simulate=False)
    page = await handle.get("/", token=None)
    assert page.status == 200
    assert page.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert page.headers["X-Frame-Options"] == "DENY"
    html = page.body.decode()
    assert "<script>" not in html
    assert " style=" not in html
    assert not re.search(r"\son[a-z]+\s*=", html), "no onclick= and friends"
    referenced = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    assert referenced
    for path in referenced:
        assert (await handle.get(path, token=None)).status == 200, path


async def test_a_foreign_origin_cannot_load_the_client(start_daemon: StartDaemon) -> None:
    handle = await start_daemon(simulate=False)
    response = await handle.get("/static/posd.js", token=None, headers={"Origin": "https://evil.example"})
    assert (response.status, response.body["code"]) == (403, "forbidden_origin")
