"""Core REST handlers (daemon, devices, simulators) and the helpers every family module uses."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError

from api import schemas
from api.endpoints import Call, Endpoint, _validate_json, validation_problem
from api.problems import DEVICE_ERRORS, ApiError
from daemon.manager import ManagedDevice
from daemon.service import Daemon
from drivers.models import DeviceKind, DeviceState, HealthResult
from drivers.simulator import Simulator, control_actions

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


# -- simulators --------------------------------------------------------------------------------------
def simulator_of(call: Call) -> Any:
    device = device_of(call)
    simulator = daemon_of(call).simulators.get(device.device_id)
    if simulator is None:
        raise ApiError("not_simulated", f"{device.device_id} is not a simulated device")
    return simulator


def _has_action(model: type[BaseModel], action: str) -> bool:
    try:
        return action in control_actions(model)
    except TypeError:  # a control without a Literal action (a plug-in's): the simulator judges it
        return True


def check_own_control(simulator: Simulator, action: str, raw: bytes) -> None:
    """Refuse a body that is not one of this simulator's controls, validated as strictly as every other body (the
    JSON types the document gives; a simulator validates leniently, and would take 1 for true or "5" for 5)."""
    own = type(simulator).control_models()
    models = [model for model in own if _has_action(model, action)]
    if not models:
        takes = sorted({name for model in own for name in control_actions(model)})
        why = f"{simulator.device_id} has no control {action!r}; it takes {', '.join(takes)}"
        raise ApiError(
            "invalid_request", f"body action: {why}", errors=[{"loc": "action", "msg": why, "type": "literal_error"}]
        )
    first: ValidationError | None = None
    for model in models:
        try:
            _validate_json(model, raw)  # what the endpoint table does with every body: strict, 30.0 an integer
        except ValidationError as err:
            first = first or err
        else:
            return
    assert first is not None
    raise validation_problem(first, "body")


async def sim_control(call: Call) -> schemas.SimResponse:
    simulator = simulator_of(call)
    body: schemas.SimControlRequest = call.body
    check_own_control(simulator, body.action, await call.request.read())
    try:
        result = await simulator.control(body.model_dump())
    except ValidationError as err:  # what the simulator judges beyond its models (units this scale weighs in)
        raise validation_problem(err, "body") from err
    except ValueError as err:  # a value the model let through but the simulator cannot use (hex that is not hex)
        why = f"{simulator.device_id} cannot take this control: {err}"
        raise ApiError(
            "invalid_request", f"body: {why}", errors=[{"loc": "body", "msg": why, "type": "value_error"}]
        ) from err
    return schemas.SimResponse.model_validate(result)


async def sim_output_png(call: Call) -> web.Response:
    simulator = simulator_of(call)
    paper_png = getattr(simulator, "paper_png", None)
    if paper_png is None:
        raise ApiError("not_supported", "this simulated device has no paper to show")
    return web.Response(body=await asyncio.to_thread(paper_png), content_type="image/png")


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
        errors=("device_not_found", *DEVICE_ERRORS),
    ),
    Endpoint(
        "POST",
        "/api/v1/devices/{id}/reconnect",
        reconnect_device,
        "admin",
        "Retry the connection now instead of waiting out the backoff",
        body=schemas.EmptyRequest,
        response=schemas.Accepted,
        errors=("device_not_found",),
    ),
    Endpoint(
        "POST",
        "/api/v1/sim/{id}",
        sim_control,
        "admin",
        "Simulate mode: drive a simulated device (scan, set weight, faults, unplug/plug)",
        body=schemas.SimControlRequest,
        response=schemas.SimResponse,
        errors=("device_not_found", "not_simulated", "device_error"),
        tag="simulate",
    ),
    Endpoint(
        "GET",
        "/api/v1/sim/{id}/output",
        sim_output,
        "admin",
        "Simulate mode: what the simulated device printed or shows",
        response=schemas.SimResponse,
        errors=("device_not_found", "not_simulated"),
        tag="simulate",
    ),
    Endpoint(
        "GET",
        "/api/v1/sim/{id}/output.png",
        sim_output_png,
        "admin",
        "Simulate mode: the simulated printer's paper as a picture",
        response_media="image/png",
        errors=("device_not_found", "not_simulated", "not_supported"),
        tag="simulate",
    ),
)
