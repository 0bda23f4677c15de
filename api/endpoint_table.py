"""Every REST endpoint, collected from the core and the per-family modules (one line per family), and what the
OpenAPI document says about them beyond their :class:`~api.endpoints.Endpoint`: the headers they read or answer
with, and the links between them (see :mod:`api.openapi`)."""

from __future__ import annotations

from api import audit, diagnostics, displays, drawers, metrics, printers, routes, scales
from api.endpoints import Endpoint
from api.openapi import Header, Link

ENDPOINTS: tuple[Endpoint, ...] = (
    *routes.ENDPOINTS,
    *scales.ENDPOINTS,
    *displays.ENDPOINTS,
    *printers.ENDPOINTS,
    *drawers.ENDPOINTS,
    *audit.ENDPOINTS,
    *diagnostics.ENDPOINTS,
    *metrics.ENDPOINTS,
)

HEADERS: tuple[Header, ...] = (
    Header(
        printers.submit_job,
        "Idempotency-Key",
        "request",
        "Makes retries safe: the same key (per token) with the same request returns the same job; with a different "
        "request it is `422 idempotency_key_reused`.",
        pattern=printers.IDEMPOTENCY_KEY.pattern,
    ),
    Header(printers.submit_job, "Location", "response", "Where the job is: `/api/v1/jobs/{job_id}`.", required=True),
    Header(
        printers.submit_job,
        "Idempotent-Replayed",
        "response",
        "Present on the answer to a retry: the job is the one the key already made, not a new one.",
        enum=("true",),
    ),
)

_JOB_ID = "$response.body#/job/id"
_JOB_OPERATIONS = (
    ("GetJob", printers.get_job, "The job, as it goes on"),
    ("CancelJob", printers.cancel_job, "Cancel it while it has not started sending"),
    ("ReleaseJob", printers.release_job, "Reprint it as a copy, if it is held as uncertain"),
)

LINKS: tuple[Link, ...] = (
    # A job, from whichever answer shows it, to everything that can be done with it.
    *(
        Link(name, source, target, {"job_id": _JOB_ID}, description)
        for source in (printers.submit_job, printers.get_job, printers.cancel_job, printers.release_job)
        for name, target, description in _JOB_OPERATIONS
    ),
    Link(
        "ListPrinterJobs",
        printers.submit_job,
        printers.list_jobs,
        {"id": "$request.path.id"},
        "The printer's jobs, newest first: this one among them",
    ),
    Link(
        "GetNewestJob",
        printers.list_jobs,
        printers.get_job,
        {"job_id": "$response.body#/jobs/0/id"},
        "The printer's newest job",
    ),
    Link(
        "Retry",
        printers.submit_job,
        printers.submit_job,
        {"id": "$request.path.id", "Idempotency-Key": "$request.header.Idempotency-Key"},
        "The same request again, as a client retries: with the same Idempotency-Key it answers the same job",
        request_body="$request.body",
    ),
)
