"""Installing on a till: `posd install` / `posd uninstall` into a staging root, and the one command
(`systemd/install.sh`) end to end with DESTDIR — its own virtual environment, built from this checkout.

On a live system the same code also reloads systemd and udev and starts the service; those calls need a
booted systemd and root, and are not run here (the commands it would run are checked instead)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from daemon.cli import main
from daemon.config import load_config
from daemon.install import Installer
from drivers.known_devices import builtin_table, render_udev_rules
from drivers.registry import DriverRegistry

ROOT = Path(__file__).resolve().parent.parent


def _install(root: Path, *extra: str) -> int:
    return main(["install", "--root", str(root), "--source", str(ROOT), "--no-start", *extra])


def test_install_puts_every_file_in_place(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _install(tmp_path) == 0
    unit = (tmp_path / "etc/systemd/system/posd.service").read_text()
    assert "ExecStart=/opt/posd/.venv/bin/posd serve --config /etc/posd/posd.toml" in unit
    assert unit == (ROOT / "systemd/posd.service").read_text()
    assert (tmp_path / "etc/udev/rules.d/61-posd.rules").read_text() == render_udev_rules(builtin_table())
    assert "u posd" in (tmp_path / "etc/sysusers.d/posd.conf").read_text()
    assert "cdc_acm" in (tmp_path / "etc/modules-load.d/posd.conf").read_text().split()
    assert (tmp_path / "opt/posd/docs/technician.md").is_file()
    # systemd-sysusers really ran against the staging root: the service's user and group exist there.
    passwd = (tmp_path / "etc/passwd").read_text()
    posd_user = [line for line in passwd.splitlines() if line.startswith("posd:")]
    assert len(posd_user) == 1
    assert posd_user[0].endswith(":/var/lib/posd:/usr/sbin/nologin")
    assert any(line.startswith("posd:") for line in (tmp_path / "etc/group").read_text().splitlines())
    config = tmp_path / "etc/posd/posd.toml"
    assert config.stat().st_mode & 0o777 == 0o640  # tokens may go in here
    loaded = load_config(config, DriverRegistry.builtin(), env={})
    assert loaded.config.server.port == 7117
    assert loaded.devices == []
    out = capsys.readouterr().out
    assert "wrote /etc/systemd/system/posd.service" in out


def test_default_config_passes_check_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _install(tmp_path) == 0
    capsys.readouterr()
    config = tmp_path / "etc/posd/posd.toml"
    assert main(["serve", "--check-config", "--config", str(config)]) == 0
    assert f"{config}: OK (0 devices)" in capsys.readouterr().out
    # The commented examples are valid too, once uncommented (a technician's first edit).
    uncommented = "\n".join(
        line[2:] if (line.startswith("# ") and "=" in line) or line.startswith("# [") else line
        for line in config.read_text().splitlines()
        if not line.startswith("# allowed_origins")
    )
    edited = tmp_path / "edited.toml"
    edited.write_text(uncommented)
    loaded = load_config(edited, DriverRegistry.builtin(), env={})
    assert [d.config.id for d in loaded.devices] == ["scale-1", "printer-1"]
    assert loaded.devices[0].config.transport.model_dump()["parity"] == "E"


def test_check_config_names_the_bad_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "posd.toml"
    config.write_text("[hotplug]\ndiscovr = true\n")
    assert main(["serve", "--check-config", "--config", str(config)]) == 2
    assert "hotplug.discovr: unknown key" in capsys.readouterr().err


def test_reinstall_keeps_the_config_and_another_prefix_rewrites_the_unit(tmp_path: Path) -> None:
    assert _install(tmp_path) == 0
    config = tmp_path / "etc/posd/posd.toml"
    config.write_text("[server]\nport = 7200\n")
    assert _install(tmp_path, "--prefix", "/srv/posd") == 0
    assert config.read_text() == "[server]\nport = 7200\n"
    unit = (tmp_path / "etc/systemd/system/posd.service").read_text()
    assert "ExecStart=/srv/posd/.venv/bin/posd serve" in unit
    assert "/opt/posd" not in unit


def test_uninstall_keeps_state_unless_purged(tmp_path: Path) -> None:
    assert _install(tmp_path) == 0
    (tmp_path / "var/lib/posd").mkdir(parents=True)
    assert main(["uninstall", "--root", str(tmp_path)]) == 0
    for gone in ("etc/systemd/system/posd.service", "etc/udev/rules.d/61-posd.rules", "etc/sysusers.d/posd.conf"):
        assert not (tmp_path / gone).exists(), gone
    assert (tmp_path / "etc/posd/posd.toml").exists()
    assert (tmp_path / "var/lib/posd").exists()
    assert main(["uninstall", "--root", str(tmp_path), "--purge"]) == 0
    assert not (tmp_path / "etc/posd").exists()
    assert not (tmp_path / "var/lib/posd").exists()


def test_live_install_reloads_udev_and_systemd_and_starts_the_service(tmp_path: Path) -> None:
    """What a live install runs after writing its files, in order (recorded instead of run)."""
    ran: list[list[str]] = []
    Installer(source=ROOT, root=tmp_path, run=ran.append, live=True).install(start=True)
    commands = [" ".join(argv) for argv in ran]
    assert commands[0] == "systemd-sysusers /etc/sysusers.d/posd.conf"
    assert "udevadm control --reload" in commands
    assert any(c.startswith("udevadm trigger --action=add") for c in commands)
    assert commands.index("systemctl daemon-reload") < commands.index("systemctl enable --now posd.service")


def test_install_needs_root_on_a_live_system(capsys: pytest.CaptureFixture[str]) -> None:
    if os.geteuid() == 0:
        # As root the live install would really run: check the guard itself.
        from daemon.install import require_root

        assert require_root(Path("/tmp")) is None
        return
    assert main(["install", "--source", str(ROOT)]) == 1
    assert "run it as root" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_install_script_builds_its_own_venv_and_uninstalls(tmp_path: Path) -> None:
    """The one command, end to end into DESTDIR: venv, pip install of this checkout (from PyPI's cache or
    PyPI), files in place; the installed posd runs; uninstall removes it."""
    env = {**os.environ, "DESTDIR": str(tmp_path), "PYTHON": sys.executable}
    result = subprocess.run(
        ["sh", str(ROOT / "systemd/install.sh")], env=env, capture_output=True, text=True, timeout=280, check=False
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    posd = tmp_path / "opt/posd/.venv/bin/posd"
    assert posd.is_file()
    assert (tmp_path / "etc/systemd/system/posd.service").is_file()
    # The installed copy (not this checkout) has its data files: the known-device table, the console.
    listed = subprocess.run([str(posd), "known-devices"], capture_output=True, text=True, timeout=60, check=True)
    assert "04b8:0e15" in listed.stdout
    check = subprocess.run(
        [str(posd), "serve", "--check-config", "--config", str(tmp_path / "etc/posd/posd.toml")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert check.returncode == 0, check.stderr
    location = subprocess.run(
        [str(tmp_path / "opt/posd/.venv/bin/python"), "-c", "import daemon; print(daemon.__file__)"],
        cwd=tmp_path,  # not this checkout's directory, which python -c would import from
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert location.stdout.startswith(str(tmp_path / "opt/posd/.venv")), location.stdout
    result = subprocess.run(
        ["sh", str(ROOT / "systemd/install.sh"), "uninstall"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "opt/posd").exists()
    assert not (tmp_path / "etc/systemd/system/posd.service").exists()
    assert (tmp_path / "etc/posd/posd.toml").exists()
