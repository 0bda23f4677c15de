"""Typed values that drivers produce and the API serves (one definition for both, and for the OpenAPI document)."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer


class DeviceKind(StrEnum):
    PRINTER = "printer"
    SCANNER = "scanner"
    SCALE = "scale"
    DRAWER = "drawer"
    DISPLAY = "display"


class DeviceState(StrEnum):
    CONNECTING = "connecting"
    READY = "ready"
    BUSY = "busy"
    OFFLINE = "offline"
    ERROR = "error"
    DISABLED = "disabled"


# A decimal that goes out as a JSON number with the scale's own resolution (1.235 stays 1.235, never 1.2349999).
JsonDecimal = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]


class Weight(BaseModel):
    model_config = ConfigDict(frozen=True)

    value: JsonDecimal
    unit: Literal["kg", "g", "lb", "oz"]
    stable: bool
    status: Literal["stable", "motion", "zero", "under_zero", "over_capacity", "fault"]


class PrinterStatus(BaseModel):
    model_config = ConfigDict(frozen=True)

    online: bool
    paper: Literal["ok", "near_end", "end"]
    cover: Literal["open", "closed"]


class DrawerStatus(BaseModel):
    model_config = ConfigDict(frozen=True)

    opened: bool


class ScanData(BaseModel):
    model_config = ConfigDict(frozen=True)

    data: str = Field(description="The label with AIM identifier, prefix and suffix stripped.")
    symbology: str
    aim: str | None = None
    raw: str = Field(description="What the scanner sent, decoded as Latin-1 (one char per byte).")
    gs1: dict[str, str] | None = None


class DisplayState(BaseModel):
    model_config = ConfigDict(frozen=True)

    lines: list[str]


class HealthResult(BaseModel):
    ok: bool
    text: str
