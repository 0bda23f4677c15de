"""Simulated serial scanner: writes labels (with AIM identifier and suffix) to a real pty."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from drivers.models import DeviceKind
from drivers.serial_scanner.codec import SUFFIX_BYTES, Suffix
from drivers.serial_scanner.driver import SerialScannerOptions
from drivers.simulator import PtyEndpoint, SimEnvironment, Simulator
from drivers.symbology import AIM_FOR_SYMBOLOGY

SymbologyName = Literal[
    "EAN13",
    "EAN8",
    "UPCA",
    "UPCE",
    "CODE39",
    "CODE93",
    "CODE128",
    "GS1_128",
    "ITF",
    "CODABAR",
    "QR",
    "GS1_QR",
    "DATAMATRIX",
    "GS1_DATAMATRIX",
    "PDF417",
    "AZTEC",
    "GS1_DATABAR",
    "UNKNOWN",
]


class ScanControl(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["scan"]
    data: str = Field(min_length=1, max_length=4096)
    symbology: SymbologyName = "UNKNOWN"


class NoiseControl(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["noise"]
    hex: str = Field(description="Raw bytes (hex) to put on the line, e.g. garbage without a terminator.")


class SerialScannerSimulator(Simulator):
    kind = DeviceKind.SCANNER
    Control = ScanControl | NoiseControl

    def __init__(
        self, device_id: str, endpoint: PtyEndpoint, suffix: Suffix = "CR", send_aim: bool = True, prefix: str = ""
    ) -> None:
        super().__init__(device_id, endpoint)
        self.suffix = SUFFIX_BYTES[suffix]
        self.prefix = prefix.encode("latin-1")
        self.send_aim = send_aim
        self.scans = 0

    @classmethod
    def create(cls, device_id: str, env: SimEnvironment) -> SerialScannerSimulator:
        endpoint = PtyEndpoint(env.sim_dir / device_id, serial={"baudrate": 115200})
        options = env.driver_options(device_id, SerialScannerOptions)
        if options is None:
            return cls(device_id, endpoint)
        # Set up as its driver expects: the same suffix and prefix around each label.
        return cls(device_id, endpoint, suffix=options.suffix, prefix=options.prefix)

    def frame(self, data: str, symbology: str) -> bytes:
        aim = AIM_FOR_SYMBOLOGY.get(symbology, "") if self.send_aim else ""
        if symbology == "UPCA" and aim:
            data = "0" + data  # UPC-A goes out as 13 digits under ]E0, as real scanners send it
        return self.prefix + (aim + data).encode("utf-8") + self.suffix

    async def apply(self, control: BaseModel) -> dict[str, Any]:
        if isinstance(control, ScanControl):
            self.send(self.frame(control.data, control.symbology))
            self.scans += 1
            return {"sent": True}
        assert isinstance(control, NoiseControl)
        self.send(bytes.fromhex(control.hex))
        return {"sent": True}

    def output(self) -> dict[str, Any]:
        return {"scans": self.scans}
