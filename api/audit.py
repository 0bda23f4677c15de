"""Audit log endpoints (admin): the records, and a check of their hash chain."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from api.endpoints import Call, Endpoint
from api.routes import daemon_of
from daemon.audit import AuditRecord

#: The largest SQLite INTEGER: no record id is larger, and SQLite cannot even compare a larger Python int.
MAX_RECORD_ID = 2**63 - 1


class AuditQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    since: int = Field(
        0, ge=0, le=MAX_RECORD_ID, description="Records with id > since (page with the last id you got)."
    )
    limit: int = Field(100, ge=1, le=1000)
    device: str | None = Field(None, description="Only this device's records.")


class AuditHead(BaseModel):
    id: int = Field(description="The newest record (0: none yet).")
    hash: str = Field(description="Its hash. Keep it elsewhere to check later with `posd audit verify --expect-head`.")


class AuditList(BaseModel):
    records: list[AuditRecord]
    head: AuditHead


class AuditVerifyResponse(BaseModel):
    ok: bool
    records: int = Field(description="Records that verified (all, when ok).")
    head: AuditHead
    broken_id: int | None = Field(None, description="The first record that does not verify.")
    problem: str | None = None


async def list_audit(call: Call) -> AuditList:
    query: AuditQuery = call.query
    audit = daemon_of(call).audit
    records = await audit.records(since=query.since, limit=query.limit, device=query.device)
    head_id, head_hash = await audit.head()
    return AuditList(records=records, head=AuditHead(id=head_id, hash=head_hash))


async def verify_audit(call: Call) -> AuditVerifyResponse:
    report = await daemon_of(call).audit.verify()
    return AuditVerifyResponse(
        ok=report.ok,
        records=report.records,
        head=AuditHead(id=report.head_id, hash=report.head_hash),
        broken_id=report.broken_id,
        problem=report.problem,
    )


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "GET",
        "/api/v1/audit",
        list_audit,
        "admin",
        "Audit records of drawer opens (allowed, refused, failed, expired) and drawer alerts, oldest first",
        query=AuditQuery,
        response=AuditList,
        tag="audit",
    ),
    Endpoint(
        "GET",
        "/api/v1/audit/verify",
        verify_audit,
        "admin",
        "Walk the hash chain and report the first record that does not verify",
        response=AuditVerifyResponse,
        tag="audit",
    ),
)
