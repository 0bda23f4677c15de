"""Customer display endpoints."""

from __future__ import annotations

from api import schemas
from api.endpoints import Call, Endpoint
from api.problems import DEVICE_ERRORS, ApiError
from api.routes import device_of
from drivers.base import LineDisplay
from drivers.cd5220.codec import TextTooLong, UnsupportedText
from drivers.models import DeviceKind


def display_of(call: Call) -> LineDisplay:
    driver = device_of(call, DeviceKind.DISPLAY).driver
    if not isinstance(driver, LineDisplay):
        raise ApiError("not_supported", f"driver {type(driver).__name__} is not a LineDisplay")
    return driver


async def show_display_text(call: Call) -> schemas.Accepted:
    display = display_of(call)
    body: schemas.DisplayTextRequest = call.body
    try:
        await display.show_text(body.lines)
    except TextTooLong as err:
        raise ApiError("text_too_long", str(err)) from err
    except UnsupportedText as err:
        raise ApiError("invalid_text", str(err)) from err
    return schemas.Accepted()


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "POST",
        "/api/v1/displays/{id}/text",
        show_display_text,
        "display",
        "Show up to two lines",
        body=schemas.DisplayTextRequest,
        response=schemas.Accepted,
        errors=(
            "device_not_found",
            "wrong_device_kind",
            "not_supported",
            "text_too_long",
            "invalid_text",
            *DEVICE_ERRORS,
        ),
        tag="displays",
    ),
)
