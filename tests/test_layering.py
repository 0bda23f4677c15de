"""Imports point one way: api → daemon → drivers. A driver knows nothing of HTTP or the daemon."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
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
    """Drivers are listed in the registry table; no module registers a driver when imported."""
    registration = re.compile(r"\b(registry|DriverRegistry|BUILTIN_DRIVERS)\b[\w.]*\.(add|register|append)\(")
    for path in (ROOT / "drivers").rglob("*.py"):
        if path.name == "registry.py":
            continue
        assert not registration.search(path.read_text()), path


def test_a_daemon_loads_only_the_drivers_it_runs() -> None:
    """Idle memory: the registry imports a driver's modules when a device first uses it (1.3 MB for all 21)."""
    code = (
        "import sys, daemon.cli, api.server, api.app\n"
        "from drivers.registry import DriverRegistry\n"
        "registry = DriverRegistry.with_plugins()\n"
        "assert registry.find('filizola') is not None and registry.find('filizola').has_simulator\n"
        "assert 'drivers.filizola.driver' not in sys.modules and 'drivers.filizola.simulator' not in sys.modules\n"
        "assert registry.find('filizola').driver.__name__ == 'FilizolaScale'\n"
        "assert 'drivers.filizola.driver' in sys.modules and 'drivers.filizola.simulator' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
