"""Adam Equipment MDW scales in ECR mode: the NCI message shape (one codec serves both) plus a tare command."""

from __future__ import annotations

from typing import Any, ClassVar

from drivers.nci.codec import REQUEST_TARE
from drivers.nci.driver import NciScale
from drivers.toledo.driver import LINE_8N1


class AdamMdwScale(NciScale):
    """Polls ``W``; zero ``Z`` and tare ``T`` answer with the status (refused while the scale moves)."""

    serial_defaults: ClassVar[dict[str, Any]] = LINE_8N1

    async def tare(self) -> None:
        await self.command_status(REQUEST_TARE)
