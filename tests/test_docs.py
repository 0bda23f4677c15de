"""Living docs: the configuration reference is generated from the models and must match them."""

from __future__ import annotations

from pathlib import Path

from daemon.reference import config_reference
from drivers.registry import DriverRegistry

ROOT = Path(__file__).resolve().parent.parent


def test_configuration_reference_is_current() -> None:
    expected = config_reference(DriverRegistry.builtin())
    current = (ROOT / "docs" / "configuration.md").read_text()
    assert current == expected, "docs/configuration.md is stale: run `posd config-reference > docs/configuration.md`"
