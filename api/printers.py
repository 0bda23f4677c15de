"""Receipt printer endpoints: print jobs (journaled), their state, cancel, release, list."""

from __future__ import annotations

import binascii
import re
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, model_validator
from pydantic_core import PydanticCustomError

from api.drawers import requester_of
from api.endpoints import Call, Endpoint
from api.guard import principal_of
from api.problems import ApiError
from api.routes import daemon_of
from api.schemas import EmptyRequest
from daemon.journal import IdempotencyConflict, JobRecord
from daemon.printing import JobKind
from drivers.escpos.document import Document

IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
#: Standard base64 (RFC 4648 §4) with its padding, nothing else: the pattern the OpenAPI document gives.
BASE64_PATTERN = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"


def _decode_base64(value: object) -> object:
    # pydantic's Base64Bytes skips characters outside the alphabet, so {"raw": "hello world"} became garbage
    # bytes sent to the printer. Only well-formed base64 is taken.
    # Accepts exactly what BASE64_PATTERN matches (a test holds them together); matching that pattern with
    # ``re`` took 27 ms per MB, holding the GIL, where binascii's strict mode takes 3.
    if not isinstance(value, str):
        return value  # not a string: the bytes validator after this one refuses it
    if len(value) % 4 == 0 and not value.endswith("==="):
        try:
            return binascii.a2b_base64(value, strict_mode=True)
        except (binascii.Error, ValueError):
            pass
    raise PydanticCustomError("base64_decode", "Input should be standard base64 (A-Z a-z 0-9 + /, = padding)")


StrictBase64 = Annotated[
    bytes,
    BeforeValidator(_decode_base64),
    WithJsonSchema({"type": "string", "contentEncoding": "base64", "pattern": BASE64_PATTERN}),
]

_PAYLOADS = ("document", "raw", "image")


def _exactly_one_payload(schema: dict[str, Any]) -> None:
    # What ``_exactly_one`` checks, said in the schema too: without it the document claims that ``{}`` is a valid
    # job. A payload given as null counts as not given, as in the validator.
    schema["oneOf"] = [{"required": [name], "properties": {name: {"not": {"type": "null"}}}} for name in _PAYLOADS]


class PrintJobRequest(BaseModel):
    """Exactly one of ``document``, ``raw`` (base64 ESC/POS) or ``image`` (base64 PNG of the whole receipt)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_exactly_one_payload)
    document: Document | None = None
    raw: StrictBase64 | None = Field(None, description="ESC/POS bytes, base64; sent as they are")
    image: StrictBase64 | None = Field(None, description="PNG, base64; rasterized for the paper width")

    @model_validator(mode="after")
    def _exactly_one(self) -> PrintJobRequest:
        given = [name for name in _PAYLOADS if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of document, raw, image (got {', '.join(given) or 'none'})")
        return self

    def kind_and_payload(self) -> tuple[JobKind, bytes]:
        if self.document is not None:
            return "document", self.document.model_dump_json(exclude_defaults=True).encode()
        if self.raw is not None:
            return "raw", self.raw
        assert self.image is not None
        return "image", self.image


class Job(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True, validate_by_alias=True)
    id: str
    printer: str
    state: Literal["queued", "sending", "held", "done", "failed", "cancelled", "uncertain"]
    reason: str | None = None
    kind: Literal["document", "raw", "image"]
    created: str
    updated: str
    copy_: bool = Field(alias="copy", description="A reprint, marked COPY on the paper")


class JobResponse(BaseModel):
    job: Job


class JobList(BaseModel):
    jobs: list[Job]


class JobListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(50, ge=1, le=1000)


def job_model(record: JobRecord) -> Job:
    return Job.model_validate(record.public())


def _render_problem(err: ValueError) -> ApiError:
    code = getattr(err, "code", "invalid_document")
    known = ("invalid_document", "image_too_large", "unencodable_text", "not_supported")
    return ApiError(code if code in known else "invalid_document", str(err))


async def submit_job(call: Call) -> web.Response:
    body: PrintJobRequest = call.body
    key = call.request.headers.get("Idempotency-Key")
    if key is not None and not IDEMPOTENCY_KEY.match(key):
        raise ApiError("invalid_request", "Idempotency-Key must be 1-255 visible ASCII characters")
    principal = principal_of(call.request)
    assert principal is not None  # the endpoint needs the print scope
    kind, payload = body.kind_and_payload()
    daemon = daemon_of(call)
    printer_id = call.match("id")
    if kind == "raw":
        # A raw job that would fire the cash drawer is a drawer open: it needs the drawer scope and is audited.
        kicks = await daemon.printing.drawer_kicks(printer_id, payload)
        if kicks is not None and not principal.allows("drawer"):
            who = requester_of(call.request, principal.name, None)
            await daemon.drawers.record_raw_job_kick(printer_id, who, kicks, "(refused, not queued)", "refused")
            raise ApiError(
                "insufficient_scope",
                "this raw job contains a drawer kick: it needs the drawer scope",
                required_scope="drawer",
            )
    try:
        job, created = await daemon.printing.submit(
            printer_id, kind, payload, client=principal.name, idempotency_key=key
        )
    except IdempotencyConflict as err:
        raise ApiError("idempotency_key_reused", str(err), job_id=err.existing.id) from err
    except ValueError as err:
        raise _render_problem(err) from err
    headers = {"Location": f"/api/v1/jobs/{job.id}"}
    if not created:
        headers["Idempotent-Replayed"] = "true"
    return web.Response(
        status=202,
        body=JobResponse(job=job_model(job)).model_dump_json().encode(),
        content_type="application/json",
        headers=headers,
    )


async def preview_job(call: Call) -> web.Response:
    body: PrintJobRequest = call.body
    kind, payload = body.kind_and_payload()
    try:
        png = await daemon_of(call).printing.preview(call.match("id"), kind, payload)
    except ValueError as err:
        raise _render_problem(err) from err
    return web.Response(body=png, content_type="image/png")


async def get_job(call: Call) -> JobResponse:
    return JobResponse(job=job_model(await daemon_of(call).printing.get(call.match("job_id"))))


async def cancel_job(call: Call) -> JobResponse:
    return JobResponse(job=job_model(await daemon_of(call).printing.cancel(call.match("job_id"))))


async def release_job(call: Call) -> JobResponse:
    return JobResponse(job=job_model(await daemon_of(call).printing.release(call.match("job_id"))))


async def list_jobs(call: Call) -> JobList:
    query: JobListQuery = call.query
    records = await daemon_of(call).printing.list_jobs(call.match("id"), query.limit)
    return JobList(jobs=[job_model(r) for r in records])


_JOB_ERRORS: tuple[str, ...] = ("job_not_found",)

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "POST",
        "/api/v1/printers/{id}/jobs",
        submit_job,
        "print",
        "Queue a print job; answered 202 only after the job is committed to the journal",
        body=PrintJobRequest,
        response=JobResponse,
        status=202,
        errors=(
            "device_not_found",
            "not_supported",
            "invalid_document",
            "image_too_large",
            "unencodable_text",
            "idempotency_key_reused",
        ),
        tag="printers",
        description="Optional header `Idempotency-Key`: the same key (per token) returns the same job for as long as "
        "the job is kept (≥ 24 h), with `Idempotent-Replayed: true`; a different request with the same key is 422.",
    ),
    Endpoint(
        "POST",
        "/api/v1/printers/{id}/preview",
        preview_job,
        "print",
        "PNG of what the job would print: the same bytes through the same interpreter as the simulated printer",
        body=PrintJobRequest,
        response_media="image/png",
        errors=("device_not_found", "not_supported", "invalid_document", "image_too_large", "unencodable_text"),
        tag="printers",
    ),
    Endpoint(
        "GET",
        "/api/v1/printers/{id}/jobs",
        list_jobs,
        "print",
        "Recent jobs of a printer, newest first",
        query=JobListQuery,
        response=JobList,
        errors=("device_not_found", "not_supported"),
        tag="printers",
    ),
    Endpoint(
        "GET",
        "/api/v1/jobs/{job_id}",
        get_job,
        "print",
        "A print job",
        response=JobResponse,
        errors=_JOB_ERRORS,
        tag="printers",
    ),
    Endpoint(
        "DELETE",
        "/api/v1/jobs/{job_id}",
        cancel_job,
        "print",
        "Cancel a job that has not started sending",
        response=JobResponse,
        errors=(*_JOB_ERRORS, "job_not_cancellable"),
        tag="printers",
    ),
    Endpoint(
        "POST",
        "/api/v1/jobs/{job_id}/release",
        release_job,
        "admin",
        "Reprint (marked COPY) a job held as uncertain after a crash",
        body=EmptyRequest,
        response=JobResponse,
        errors=(*_JOB_ERRORS, "job_not_cancellable"),
        tag="printers",
    ),
)
