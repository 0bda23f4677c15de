"""problem+json errors (RFC 9457) with stable machine-readable codes."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from daemon.events import encode_json
from drivers.errors import PosdError

PROBLEM_CONTENT_TYPE = "application/problem+json"

#: Every code the API can answer with, its HTTP status and title. Clients rely on the codes.
CODES: dict[str, tuple[int, str]] = {
    "invalid_json": (400, "Body is not valid JSON"),
    "invalid_request": (400, "Request does not match the schema"),
    "text_too_long": (400, "Text does not fit the device"),
    "invalid_document": (400, "The receipt document cannot be printed as given"),
    "image_too_large": (400, "The image does not fit the paper"),
    "unencodable_text": (400, "Text has characters this printer cannot print (strict encoding)"),
    "invalid_text": (400, "Text contains characters the device would take as commands"),
    "unauthorized": (401, "A valid bearer token is required"),
    "insufficient_scope": (403, "The token lacks the scope this needs"),
    "no_sale_not_allowed": (403, "This token may not open a drawer for no_sale"),
    "forbidden_host": (403, "Host header not allowed"),
    "forbidden_origin": (403, "Origin not allowed"),
    "not_found": (404, "No such resource"),
    "device_not_found": (404, "No such device"),
    "not_simulated": (404, "Not a simulated device"),
    "job_not_found": (404, "No such print job"),
    "method_not_allowed": (405, "Method not allowed"),
    "wrong_device_kind": (409, "The device is not of the kind this endpoint serves"),
    "not_supported": (409, "The device cannot do that"),
    "device_busy": (409, "The device is busy"),
    "job_not_cancellable": (409, "The job already started sending or is finished"),
    "body_too_large": (413, "Request body too large"),
    "unsupported_media_type": (415, "State changes must be sent as application/json"),
    "idempotency_key_reused": (422, "Idempotency-Key already used for a different request"),
    "rate_limited": (429, "Too many drawer opens; wait and try again"),
    "internal_error": (500, "Internal error"),
    "device_offline": (503, "Device is not connected"),
    "device_not_ready": (503, "The printer cannot print now"),
    "device_error": (503, "Device error"),
    "drawer_kick_expired": (503, "The drawer kick expired unsent (printer busy, offline or not connected)"),
    "protocol_error": (502, "Device answered something unexpected"),
    "device_timeout": (504, "Device did not answer in time"),
    "weight_not_stable": (504, "No stable weight within the timeout"),
}


#: What any operation that talks to a device can run into, besides its own refusals: the device is not connected,
#: did not answer in time, is busy, reported a fault, or answered something the codec cannot read
#: (the :class:`drivers.errors.PosdError` codes :func:`from_posd_error` passes on).
DEVICE_ERRORS: tuple[str, ...] = ("device_offline", "device_timeout", "device_busy", "device_error", "protocol_error")


class ApiError(Exception):
    def __init__(self, code: str, detail: str | None = None, **extra: Any) -> None:
        status, title = CODES[code]
        super().__init__(detail or title)
        self.code = code
        self.status = status
        self.title = title
        self.detail = detail or title
        self.extra = extra


def problem_response(error: ApiError, headers: dict[str, str] | None = None) -> web.Response:
    body = {
        "type": f"https://posd.dev/problems/{error.code}",
        "title": error.title,
        "status": error.status,
        "detail": error.detail,
        "code": error.code,
        **error.extra,
    }
    return web.Response(status=error.status, body=encode_json(body), content_type=PROBLEM_CONTENT_TYPE, headers=headers)


def from_posd_error(err: PosdError) -> ApiError:
    code = err.code if err.code in CODES else "device_error"
    return ApiError(code, str(err) or None)
