"""Imports point one way: api → daemon → drivers. A driver knows nothing of HTTP or the daemon."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The composition root wires the API to the daemon; it is the one allowed exception.
ALLOWED = {("daemon/cli.py", "api")}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_imports_point_one_way() -> None:
    forbidden = {"drivers": {"daemon", "api"}, "daemon": {"api"}}
    violations = []
    for package, banned in forbidden.items():
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            for name in imported_packages(path) & banned:
                if (relative, name) not in ALLOWED:
                    violations.append(f"{relative} imports {name}")
    assert not violations, violations


def test_no_import_side_effect_registration() -> None:
    """Drivers are listed in the registry table; no module registers itself when imported."""
    for path in (ROOT / "drivers").rglob("*.py"):
        text = path.read_text()
        assert ".register(" not in text, path
        assert "registry.add(" not in text or path.name == "registry.py", path
