"""Every REST endpoint, collected from the core and the per-family modules (one line per family)."""

from __future__ import annotations

from api import audit, diagnostics, displays, drawers, metrics, printers, routes, scales
from api.endpoints import Endpoint

ENDPOINTS: tuple[Endpoint, ...] = (
    *routes.ENDPOINTS,
    *scales.ENDPOINTS,
    *displays.ENDPOINTS,
    *printers.ENDPOINTS,
    *drawers.ENDPOINTS,
    *audit.ENDPOINTS,
    *diagnostics.ENDPOINTS,
    *metrics.ENDPOINTS,
)
