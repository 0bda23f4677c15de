"""GET /api/v1/diagnostics (admin): the support bundle as a zip download. What it holds: daemon.diagnostics."""

from __future__ import annotations

import logging

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from api.endpoints import Call, Endpoint
from api.events_ws import SOCKETS
from api.guard import principal_of
from api.routes import daemon_of
from daemon.diagnostics import DEFAULT_EVENTS, DEFAULT_JOBS, build_bundle

_LOGGER = logging.getLogger(__name__)


class DiagnosticsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    events: int = Field(DEFAULT_EVENTS, ge=0, le=100_000, description="Newest events of the replay ring to include.")
    jobs: int = Field(DEFAULT_JOBS, ge=0, le=1000, description="Newest print jobs to list (never their documents).")


async def get_diagnostics(call: Call) -> web.Response:
    query: DiagnosticsQuery = call.query
    request = call.request
    server = {"url": str(request.url.origin()), "event_sockets": len(request.app[SOCKETS])}
    bundle = await build_bundle(daemon_of(call), events=query.events, jobs=query.jobs, server=server)
    principal = principal_of(request)
    # Who took a copy of the till's logs and configuration, and when: worth a line in the journal.
    _LOGGER.info("support bundle %s (%d bytes) for %s", bundle.filename, len(bundle.data), principal and principal.name)
    return web.Response(
        body=bundle.data,
        content_type=bundle.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{bundle.filename}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "GET",
        "/api/v1/diagnostics",
        get_diagnostics,
        "admin",
        "Support bundle: a zip of versions, platform, configuration (secrets redacted), devices, drivers, recent "
        "events and logs, print-job summary, audit chain check, hot-plug state",
        query=DiagnosticsQuery,
        response_media="application/zip",
        tag="daemon",
        description="Answered as an attachment named `posd-support-<host>-<UTC time>.zip`. Every token value, "
        "token digest, credential-named key, `Bearer …` string and URL password is redacted; receipts' contents "
        "are never included. See docs/technician.md.",
    ),
)
