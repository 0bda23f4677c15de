"""Simulated HID POS scanner: writes scanned-data reports where the driver reads its hidraw node."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from drivers.hidpos.codec import encode_reports
from drivers.models import DeviceKind
from drivers.serial_scanner.simulator import ScanControl
from drivers.simulator import PtyEndpoint, SimEnvironment, Simulator
from drivers.symbology import AIM_FOR_SYMBOLOGY
from drivers.transports import HidrawSettings


class ReportControl(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["report"]
    hex: str = Field(description="One raw input report (hex), padded with zeros to the report size.")


class HidPosScannerSimulator(Simulator):
    kind = DeviceKind.SCANNER
    Control = ScanControl | ReportControl

    def __init__(self, device_id: str, endpoint: PtyEndpoint, report_size: int = 64) -> None:
        super().__init__(device_id, endpoint)
        self.report_size = report_size
        self.scans = 0

    @classmethod
    def create(cls, device_id: str, env: SimEnvironment) -> HidPosScannerSimulator:
        return cls(device_id, PtyEndpoint(env.sim_dir / f"{device_id}-hidraw"))

    def transport_settings(self) -> HidrawSettings:
        assert isinstance(self.endpoint, PtyEndpoint)
        return HidrawSettings(path=str(self.endpoint.link), report_size=self.report_size)

    def reports(self, data: str, symbology: str) -> list[bytes]:
        aim = AIM_FOR_SYMBOLOGY.get(symbology, "")
        if symbology == "UPCA":
            data = "0" + data  # UPC-A travels as EAN-13 under ]E0
        return encode_reports(aim.encode("ascii"), data.encode("utf-8"), self.report_size)

    async def apply(self, control: BaseModel) -> dict[str, Any]:
        if isinstance(control, ScanControl):
            reports = self.reports(control.data, control.symbology)
            self.send(b"".join(reports))
            self.scans += 1
            return {"sent": True, "reports": len(reports)}
        assert isinstance(control, ReportControl)
        raw = bytes.fromhex(control.hex)[: self.report_size]
        self.send(raw + bytes(self.report_size - len(raw)))
        return {"sent": True, "reports": 1}

    def output(self) -> dict[str, Any]:
        return {"scans": self.scans}
