"""Request and response models. The handlers validate with these, and the OpenAPI document is built from them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from drivers.models import HealthResult, Weight

DeviceKindName = Literal["printer", "scanner", "scale", "drawer", "display"]
DeviceStateName = Literal["connecting", "ready", "busy", "offline", "error", "disabled"]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Device(BaseModel):
    id: str
    kind: DeviceKindName
    driver: str
    name: str
    state: DeviceStateName
    reason: str | None = None
    status: dict[str, Any]
    transport: dict[str, Any] = Field(description="type (serial, tcp, usb, hid, evdev, file, printer) and address")
    simulated: bool
    stats: dict[str, int] = Field(description="UPOS statistics (GoodScanCount, PaperCutCount, …)")
    retry_in_s: float | None = Field(None, description="While offline/error: seconds until the next attempt")


class DeviceCount(BaseModel):
    ready: int
    total: int


class HealthResponse(BaseModel):
    status: Literal["ok"]
    version: str
    uptime_s: float
    devices: DeviceCount


class DeviceList(BaseModel):
    devices: list[Device]


class DeviceResponse(BaseModel):
    device: Device


class HealthCheckRequest(Request):
    level: Literal["internal", "external"] = "internal"


HealthCheckResponse = HealthResult


class WeightResponse(BaseModel):
    weight: Weight


class DisplayTextRequest(Request):
    lines: list[str] = Field(min_length=1, max_length=2)


class EmptyRequest(Request):
    """``{}`` (or no body): an action without parameters. It is still a JSON request, as every state change is."""


class Accepted(BaseModel):
    ok: Literal[True] = True


class SimControlRequest(BaseModel):
    """Simulator control; the accepted actions depend on the device (see API docs)."""

    model_config = ConfigDict(extra="allow")
    action: str


class SimResponse(BaseModel):
    model_config = ConfigDict(extra="allow")


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    code: str
