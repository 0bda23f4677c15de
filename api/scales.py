"""Scale endpoints."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from api import schemas
from api.endpoints import Call, Endpoint
from api.problems import DEVICE_ERRORS, ApiError
from api.routes import device_of
from drivers.base import Scale
from drivers.errors import DeviceTimeout
from drivers.models import DeviceKind


def scale_of(call: Call) -> Scale:
    driver = device_of(call, DeviceKind.SCALE).driver
    if not isinstance(driver, Scale):
        raise ApiError("not_supported", f"driver {type(driver).__name__} is not a Scale")
    return driver


class WeightQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    stable: bool = Field(True, description="Wait for a stable reading (never returns a moving one).")
    timeout_ms: int = Field(2000, ge=0, le=60000)


async def get_weight(call: Call) -> schemas.WeightResponse:
    scale = scale_of(call)
    query: WeightQuery = call.query
    try:
        weight = await scale.read_weight(stable=query.stable, timeout=query.timeout_ms / 1000)
    except DeviceTimeout as err:
        raise ApiError("weight_not_stable" if query.stable else "device_timeout", str(err)) from err
    return schemas.WeightResponse(weight=weight)


async def zero_scale(call: Call) -> schemas.Accepted:
    await scale_of(call).zero()
    return schemas.Accepted()


async def tare_scale(call: Call) -> schemas.Accepted:
    await scale_of(call).tare()
    return schemas.Accepted()


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "GET",
        "/api/v1/scales/{id}/weight",
        get_weight,
        "scale",
        "Current weight; with stable=true waits for a stable reading",
        query=WeightQuery,
        response=schemas.WeightResponse,
        errors=("device_not_found", "wrong_device_kind", "not_supported", "weight_not_stable", *DEVICE_ERRORS),
        tag="scales",
        description="With stable=true only a stable reading measured after the request is returned (never one "
        "in motion, even if it equals the final value); none within timeout_ms: 504 weight_not_stable. "
        "With stable=false, the latest reading while it is fresh (else 504 device_timeout).",
    ),
    Endpoint(
        "POST",
        "/api/v1/scales/{id}/zero",
        zero_scale,
        "scale",
        "Zero the scale",
        body=schemas.EmptyRequest,
        response=schemas.Accepted,
        errors=("device_not_found", "wrong_device_kind", "not_supported", *DEVICE_ERRORS),
        tag="scales",
    ),
    Endpoint(
        "POST",
        "/api/v1/scales/{id}/tare",
        tare_scale,
        "scale",
        "Tare the scale",
        body=schemas.EmptyRequest,
        response=schemas.Accepted,
        errors=("device_not_found", "wrong_device_kind", "not_supported", *DEVICE_ERRORS),
        tag="scales",
    ),
)
