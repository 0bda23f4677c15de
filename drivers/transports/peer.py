"""Peer "transport": a device reached through another device (a cash drawer on a printer's kick connector).

There are no bytes of its own here; the device manager hands the driver the peer's driver object.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class PeerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["printer"] = "printer"
    device: str = Field(description="Id of the printer whose drawer-kick connector drives this device.")
