"""REST handlers and the endpoint table."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from api import schemas
from api.endpoints import Call, Endpoint, validation_problem
from api.problems import ApiError
from daemon.manager import ManagedDevice
from daemon.service import Daemon
from drivers.base import LineDisplay, Scale
from drivers.cd5220.codec import TextTooLong, UnsupportedText
from drivers.errors import DeviceTimeout
from drivers.models import DeviceKind, DeviceState, HealthResult

DAEMON = web.AppKey("daemon", Daemon)


def daemon_of(call: Call) -> Daemon:
    return call.request.app[DAEMON]


def device_model(device: ManagedDevice) -> schemas.Device:
    return schemas.Device.model_validate(device.describe())


def device_of(call: Call, kind: DeviceKind | None = None) -> ManagedDevice:
    device = daemon_of(call).manager.get(call.match("id"))
    if kind is not None and device.kind is not kind:
        raise ApiError("wrong_device_kind", f"{device.device_id} is a {device.kind.value}, not a {kind.value}")
    return device


def scale_of(call: Call) -> Scale:
    driver = device_of(call, DeviceKind.SCALE).driver
    if not isinstance(driver, Scale):
        raise ApiError("not_supported", f"driver {type(driver).__name__} is not a Scale")
    return driver


def display_of(call: Call) -> LineDisplay:
    driver = device_of(call, DeviceKind.DISPLAY).driver
    if not isinstance(driver, LineDisplay):
        raise ApiError("not_supported", f"driver {type(driver).__name__} is not a LineDisplay")
    return driver


# -- daemon and devices -----------------------------------------------------------------------------
async def get_health(call: Call) -> schemas.HealthResponse:
    daemon = daemon_of(call)
    devices = daemon.manager.devices()
    ready = sum(1 for d in devices if d.state in (DeviceState.READY, DeviceState.BUSY))
    return schemas.HealthResponse(
        status="ok",
        version=daemon.version,
        uptime_s=round(daemon.uptime_s, 3),
        devices=schemas.DeviceCount(ready=ready, total=len(devices)),
    )


async def list_devices(call: Call) -> schemas.DeviceList:
    return schemas.DeviceList(devices=[device_model(d) for d in daemon_of(call).manager.devices()])


async def get_device(call: Call) -> schemas.DeviceResponse:
    return schemas.DeviceResponse(device=device_model(device_of(call)))


async def check_device_health(call: Call) -> HealthResult:
    device = device_of(call)
    body: schemas.HealthCheckRequest = call.body
    return await device.driver.check_health(body.level)


async def reconnect_device(call: Call) -> schemas.Accepted:
    daemon_of(call).manager.reconnect(device_of(call).device_id)
    return schemas.Accepted()


# -- scales ------------------------------------------------------------------------------------------
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


# -- displays ----------------------------------------------------------------------------------------
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


# -- simulators --------------------------------------------------------------------------------------
def simulator_of(call: Call) -> Any:
    device = device_of(call)
    simulator = daemon_of(call).simulators.get(device.device_id)
    if simulator is None:
        raise ApiError("not_simulated", f"{device.device_id} is not a simulated device")
    return simulator


async def sim_control(call: Call) -> schemas.SimResponse:
    simulator = simulator_of(call)
    body: schemas.SimControlRequest = call.body
    try:
        result = await simulator.control(body.model_dump())
    except ValidationError as err:
        raise validation_problem(err, "body") from err
    return schemas.SimResponse.model_validate(result)


async def sim_output(call: Call) -> schemas.SimResponse:
    return schemas.SimResponse.model_validate(simulator_of(call).output())


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "GET",
        "/api/v1/health",
        get_health,
        "public",
        "Daemon liveness and device counts",
        response=schemas.HealthResponse,
        tag="daemon",
    ),
    Endpoint(
        "GET",
        "/api/v1/devices",
        list_devices,
        "any",
        "All devices with state, reason, status and statistics",
        response=schemas.DeviceList,
    ),
    Endpoint(
        "GET",
        "/api/v1/devices/{id}",
        get_device,
        "any",
        "One device",
        response=schemas.DeviceResponse,
        errors=("device_not_found",),
    ),
    Endpoint(
        "POST",
        "/api/v1/devices/{id}/health",
        check_device_health,
        "admin",
        "UPOS CheckHealth: internal (no physical effect) or external (test print, beep)",
        body=schemas.HealthCheckRequest,
        response=HealthResult,
        errors=("device_not_found", "device_offline"),
    ),
    Endpoint(
        "POST",
        "/api/v1/devices/{id}/reconnect",
        reconnect_device,
        "admin",
        "Retry the connection now instead of waiting out the backoff",
        response=schemas.Accepted,
        errors=("device_not_found",),
    ),
    Endpoint(
        "GET",
        "/api/v1/scales/{id}/weight",
        get_weight,
        "scale",
        "Current weight; with stable=true waits for a stable reading",
        query=WeightQuery,
        response=schemas.WeightResponse,
        errors=("device_not_found", "wrong_device_kind", "device_offline", "weight_not_stable"),
        tag="scales",
    ),
    Endpoint(
        "POST",
        "/api/v1/scales/{id}/zero",
        zero_scale,
        "scale",
        "Zero the scale",
        response=schemas.Accepted,
        errors=("not_supported", "device_offline", "device_busy"),
        tag="scales",
    ),
    Endpoint(
        "POST",
        "/api/v1/scales/{id}/tare",
        tare_scale,
        "scale",
        "Tare the scale",
        response=schemas.Accepted,
        errors=("not_supported", "device_offline", "device_busy"),
        tag="scales",
    ),
    Endpoint(
        "POST",
        "/api/v1/displays/{id}/text",
        show_display_text,
        "display",
        "Show up to two lines",
        body=schemas.DisplayTextRequest,
        response=schemas.Accepted,
        errors=("text_too_long", "invalid_text", "device_offline", "wrong_device_kind"),
        tag="displays",
    ),
    Endpoint(
        "POST",
        "/api/v1/sim/{id}",
        sim_control,
        "admin",
        "Simulate mode: drive a simulated device (scan, set weight, faults, unplug/plug)",
        body=schemas.SimControlRequest,
        response=schemas.SimResponse,
        errors=("not_simulated",),
        tag="simulate",
    ),
    Endpoint(
        "GET",
        "/api/v1/sim/{id}/output",
        sim_output,
        "admin",
        "Simulate mode: what the simulated device printed or shows",
        response=schemas.SimResponse,
        errors=("not_simulated",),
        tag="simulate",
    ),
)
