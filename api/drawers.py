"""Cash drawer endpoints: open (authorized, rate limited, audited) and wait-closed.

Every attempt to open a drawer is in the audit log, including those refused before the handler runs
(wrong Host or Origin, no or bad token, missing scope, a body that does not validate): the problem
middleware calls :func:`audit_refused_open` for this route (see ``PROBLEM_HOOKS`` and ``api/app.py``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, Field

from api.endpoints import Call, Endpoint
from api.guard import principal_of
from api.problems import DEVICE_ERRORS, ApiError, from_posd_error
from api.routes import DAEMON, daemon_of, device_of
from api.schemas import Request
from daemon.drawers import DrawerRefused, Reason, Requester
from daemon.security import bearer_token
from drivers.base import CashDrawer
from drivers.models import DeviceKind

_LOGGER = logging.getLogger(__name__)

OPEN_PATH = "/api/v1/drawers/{id}/open"
#: Set on a request whose outcome the handler already recorded, so the refusal hook does not record it twice.
AUDITED = web.RequestKey("drawer_open_audited", bool)


class DrawerOpenRequest(Request):
    reason: Reason = Field(description="no_sale needs a token listed in drawers.no_sale_tokens (or admin).")
    operator: str | None = Field(None, max_length=100, description="Who is at the till (cashier id or name).")
    reference: str | None = Field(None, max_length=100, description="Sale, refund or shift reference.")


class DrawerOpenResponse(BaseModel):
    audit_id: int = Field(description="The audit record of this open.")
    opened: bool | None = Field(description="Sensed open (true), kicked but not sensed open (false), no sensor (null).")
    result: Literal["opened", "sent", "failed"]
    detail: str


class WaitClosedRequest(Request):
    timeout_ms: int = Field(30000, ge=0, le=600000, description="How long to wait for the drawer to be closed.")


class WaitClosedResponse(BaseModel):
    closed: bool = Field(description="False if the drawer was still open when the timeout passed.")


def drawer_of(call: Call) -> CashDrawer:
    driver = device_of(call, DeviceKind.DRAWER).driver
    if not isinstance(driver, CashDrawer):
        raise ApiError("not_supported", f"driver {type(driver).__name__} is not a CashDrawer")
    return driver


def requester_of(request: web.Request, token: str | None, body: dict[str, object] | None) -> Requester:
    def text(name: str) -> str | None:
        value = (body or {}).get(name)
        return value if isinstance(value, str) else None

    principal = principal_of(request)
    return Requester(
        token=token,
        origin=request.headers.get("Origin") or "none",
        remote=request.remote,
        operator=text("operator"),
        reason=text("reason"),
        reference=text("reference"),
        is_admin=principal is not None and principal.allows("admin"),
    )


async def open_drawer(call: Call) -> DrawerOpenResponse:
    drawer = drawer_of(call)
    body: DrawerOpenRequest = call.body
    principal = principal_of(call.request)
    who = requester_of(call.request, principal.name if principal else None, body.model_dump())
    # From here on the drawer service records the outcome itself, whatever it is (a failed audit write included:
    # that must not turn into a "refused" record).
    call.request[AUDITED] = True
    try:
        outcome = await daemon_of(call).drawers.open(drawer.ctx.device_id, who)
    except DrawerRefused as err:
        extra: dict[str, object] = {"audit_id": err.audit_id}
        if err.retry_after_s is not None:
            extra["retry_after_s"] = round(err.retry_after_s, 1)
        raise ApiError(err.code, str(err), **extra) from err
    record = outcome.record
    if outcome.error is not None:
        problem = from_posd_error(outcome.error)
        raise ApiError(problem.code, record.detail, audit_id=record.id, result=record.result)
    assert record.result in ("opened", "sent", "failed")
    return DrawerOpenResponse(
        audit_id=record.id, opened=outcome.opened, result=record.result, detail=record.detail or ""
    )


async def wait_closed(call: Call) -> WaitClosedResponse:
    body: WaitClosedRequest = call.body
    return WaitClosedResponse(closed=await drawer_of(call).wait_closed(body.timeout_ms / 1000))


async def audit_refused_open(request: web.Request, params: dict[str, str], error: ApiError) -> None:
    """Problem hook of the open route: record the refusal, unless the handler already recorded the outcome.

    Refused CORS preflights on the route count too: a browser page from another origin never gets further.
    """
    if request.get(AUDITED):
        return
    daemon = request.app[DAEMON]
    device_id = params.get("id", "")
    # Only real drawers: refusals for made-up ids would let anyone write arbitrary rows.
    if not any(d.device_id == device_id and d.kind is DeviceKind.DRAWER for d in daemon.manager.devices()):
        return
    principal = daemon.tokens.authenticate(bearer_token(request.headers.get("Authorization")))
    body: dict[str, object] | None = None
    if error.code != "body_too_large" and request.body_exists:
        try:
            parsed = json.loads(await request.read())
            body = parsed if isinstance(parsed, dict) else None
        except (ValueError, UnicodeDecodeError, web.HTTPException):
            body = None
    who = requester_of(request, principal.name if principal else None, body)
    detail = error.detail if request.method == "POST" else f"{error.detail} ({request.method} request)"
    await daemon.drawers.record_refusal(device_id, who, error.code, detail)


#: Route path → hook the problem middleware awaits with each problem answered on that route.
PROBLEM_HOOKS: dict[str, Callable[[web.Request, dict[str, str], ApiError], Awaitable[None]]] = {
    OPEN_PATH: audit_refused_open
}

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "POST",
        OPEN_PATH,
        open_drawer,
        "drawer",
        "Open the drawer once (never retried; expires if the printer cannot take it); every attempt is audited",
        body=DrawerOpenRequest,
        response=DrawerOpenResponse,
        errors=(
            "device_not_found",
            "wrong_device_kind",
            "no_sale_not_allowed",
            "not_supported",
            "rate_limited",
            "drawer_kick_expired",
            *DEVICE_ERRORS,
        ),
        tag="drawers",
        description="The answer comes after the audit record is committed. `opened` is what the drawer's "
        "sensor showed within its confirmation time.",
    ),
    Endpoint(
        "POST",
        "/api/v1/drawers/{id}/wait-closed",
        wait_closed,
        "drawer",
        "Wait until the drawer is closed, or the timeout passes",
        body=WaitClosedRequest,
        response=WaitClosedResponse,
        errors=("device_not_found", "wrong_device_kind", "not_supported", *DEVICE_ERRORS),
        tag="drawers",
    ),
)
