"""Filizola scale driver: ENQ → ``STX ddddd ETX`` (``IIIII``/``NNNNN``/``SSSSS``), the Toledo Prix B/C frame,
so the Prix decoder reads it. The protocol has no zero or tare (409)."""

from __future__ import annotations

from drivers.toledo import prix
from drivers.toledo.driver import EnqScale


class FilizolaScale(EnqScale):
    @property
    def variant(self) -> prix.Variant:
        return "BC"
