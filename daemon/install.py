"""``posd install`` / ``posd uninstall``: put the unit, udev rules, sysusers and modules-load files and a default
config in place on a till, and reload systemd and udev.

Run from posd's own virtual environment (``systemd/install.sh`` creates it and calls this). ``--root`` installs
into a staging directory instead of ``/`` (packaging, tests): files only, nothing is reloaded or started.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from drivers.known_devices import UDEV_RULES_NAME, builtin_table, render_udev_rules

_LOGGER = logging.getLogger(__name__)

DEFAULT_PREFIX = Path("/opt/posd")
SOURCE_PREFIX = "/opt/posd"
"""The prefix the unit file in the source tree names; rewritten when installing elsewhere."""

UNIT_PATH = Path("etc/systemd/system/posd.service")
UDEV_PATH = Path("etc/udev/rules.d") / UDEV_RULES_NAME
SYSUSERS_PATH = Path("etc/sysusers.d/posd.conf")
MODULES_PATH = Path("etc/modules-load.d/posd.conf")
CONFIG_PATH = Path("etc/posd/posd.toml")
COMMAND_TIMEOUT_S = 60.0

DEFAULT_CONFIG = """\
# posd configuration. Every key: {prefix}/docs/configuration.md (or `posd config-reference`).
# Check a change before restarting:  {prefix}/.venv/bin/posd serve --check-config
# Then:                              systemctl restart posd; journalctl -u posd -f
#
# Known USB devices (`posd known-devices`) are added by themselves when plugged in, as
# <kind>-<vendor>-<product>-<serial> (the same name as their /dev/posd/ link). List here the others
# (RS-232 scales, network printers) by a stable path: /dev/posd/…, /dev/serial/by-id/… — never /dev/ttyUSB0.

[server]
port = 7117
# allowed_origins = ["https://pos.example.com"]   # browser apps allowed to call posd (exact match)

# [[devices]]
# id = "scale-1"
# driver = "toledo-8217"
# [devices.transport]
# type = "serial"
# port = "/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A1B2C3-if00-port0"
# baudrate = 9600
# bytesize = 7
# parity = "E"

# [[devices]]
# id = "printer-1"   # a network printer: also allow its address, `systemctl edit posd`: IPAddressAllow=192.168.1.50
# driver = "escpos"
# transport = {{ type = "tcp", host = "192.168.1.50", port = 9100 }}
"""

Runner = Callable[[list[str]], None]


def run_command(argv: list[str]) -> None:
    """Run a system tool; its failure is reported, not fatal (a till without udevd still gets its files)."""
    try:
        subprocess.run(argv, check=True, timeout=COMMAND_TIMEOUT_S, capture_output=True, text=True)
    except FileNotFoundError:
        _LOGGER.warning("%s: not found", argv[0])
    except subprocess.CalledProcessError as err:
        _LOGGER.warning("%s failed (%s): %s", " ".join(argv), err.returncode, (err.stderr or "").strip())
    except subprocess.TimeoutExpired:
        _LOGGER.warning("%s did not finish within %ss", " ".join(argv), COMMAND_TIMEOUT_S)


@dataclass
class Installer:
    source: Path
    """A posd source checkout (systemd/, docs/)."""
    root: Path = Path("/")
    prefix: Path = DEFAULT_PREFIX
    run: Runner = run_command
    live: bool = False
    """Installing onto this running machine (reload and start), not into a staging root."""
    log: list[str] = field(default_factory=list)

    def _target(self, relative: Path) -> Path:
        return self.root / relative

    def _write(self, relative: Path, text: str, mode: int = 0o644) -> None:
        path = self._target(relative)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".posd-new")
        tmp.write_text(text, encoding="utf-8")
        tmp.chmod(mode)
        tmp.replace(path)
        self.log.append(f"wrote /{relative}")

    def unit_text(self) -> str:
        text = (self.source / "systemd" / "posd.service").read_text(encoding="utf-8")
        return text.replace(SOURCE_PREFIX, str(self.prefix)) if str(self.prefix) != SOURCE_PREFIX else text

    def install(self, *, start: bool = True) -> list[str]:
        self._write(UNIT_PATH, self.unit_text())
        self._write(UDEV_PATH, render_udev_rules(builtin_table()))
        self._write(SYSUSERS_PATH, (self.source / "systemd" / "posd.sysusers").read_text(encoding="utf-8"))
        self._write(MODULES_PATH, (self.source / "systemd" / "posd-modules.conf").read_text(encoding="utf-8"))
        docs = self._target(self.prefix.relative_to("/") / "docs")
        docs.mkdir(parents=True, exist_ok=True)
        for page in sorted((self.source / "docs").glob("*.md")):
            shutil.copyfile(page, docs / page.name)
        self.log.append(f"copied docs to {self.prefix / 'docs'}")
        self._create_user()
        self._default_config()
        if self.live:
            self.run(["systemctl", "restart", "systemd-modules-load.service"])
            self.run(["udevadm", "control", "--reload"])
            # Existing devices get the new links and groups without a re-plug.
            self.run(["udevadm", "trigger", "--action=add", "--subsystem-match=tty", "--subsystem-match=usb"])
            self.run(["udevadm", "trigger", "--action=add", "--subsystem-match=hidraw", "--subsystem-match=input"])
            self.run(["systemctl", "daemon-reload"])
            self.run(["systemctl", "enable", "--now" if start else "--quiet", "posd.service"])
            if start:
                self.run(["systemctl", "restart", "posd.service"])  # an upgrade: run the new code
        return self.log

    def _create_user(self) -> None:
        if self.live:
            self.run(["systemd-sysusers", f"/{SYSUSERS_PATH}"])
        else:  # the file argument is a host path even with --root
            self.run(["systemd-sysusers", f"--root={self.root}", str(self._target(SYSUSERS_PATH))])
        self.log.append("created user posd (systemd-sysusers)")

    def _default_config(self) -> None:
        path = self._target(CONFIG_PATH)
        if path.exists():
            self.log.append(f"kept /{CONFIG_PATH}")
            return
        self._write(CONFIG_PATH, DEFAULT_CONFIG.format(prefix=self.prefix), mode=0o640)
        if self.live:
            # Readable by the service (group posd), not by everyone: tokens live here.
            try:
                shutil.chown(path, "root", "posd")
            except (LookupError, PermissionError) as err:
                _LOGGER.warning("cannot give %s to group posd: %s", path, err)

    def uninstall(self, *, purge: bool = False) -> list[str]:
        if self.live:
            self.run(["systemctl", "disable", "--now", "posd.service"])
        for relative in (UNIT_PATH, UDEV_PATH, SYSUSERS_PATH, MODULES_PATH):
            path = self._target(relative)
            if path.exists():
                path.unlink()
                self.log.append(f"removed /{relative}")
        if purge:
            for relative in (Path("etc/posd"), Path("var/lib/posd")):
                shutil.rmtree(self._target(relative), ignore_errors=True)
                self.log.append(f"removed /{relative}")
        else:
            self.log.append("kept /etc/posd and /var/lib/posd (--purge removes them)")
        if self.live:
            self.run(["systemctl", "daemon-reload"])
            self.run(["udevadm", "control", "--reload"])
        return self.log


def default_source() -> Path | None:
    """The checkout this posd runs from, when it is an editable install (systemd/ sits next to daemon/)."""
    candidate = Path(__file__).resolve().parent.parent
    return candidate if (candidate / "systemd" / "posd.service").is_file() else None


def require_root(root: Path) -> str | None:
    if root.resolve() == Path("/") and os.geteuid() != 0:
        return "posd install/uninstall changes /etc and systemd: run it as root (or use --root DIR to stage)"
    return None


# -- command line (``posd install``, ``posd uninstall``, ``posd udev-rules``, ``posd known-devices``) ---------
def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    install = commands.add_parser("install", help="install the systemd unit, udev rules and a default config")
    install.add_argument("--source", type=Path, help="posd source checkout (default: the one this posd runs from)")
    install.add_argument("--prefix", type=Path, default=DEFAULT_PREFIX, help="where posd's venv is (/opt/posd)")
    install.add_argument("--root", type=Path, default=Path("/"), help="stage into this directory instead of /")
    install.add_argument("--no-start", action="store_true", help="enable the service but do not start it")
    uninstall = commands.add_parser("uninstall", help="remove what `posd install` put in place")
    uninstall.add_argument("--prefix", type=Path, default=DEFAULT_PREFIX, help="where posd's venv is (/opt/posd)")
    uninstall.add_argument("--root", type=Path, default=Path("/"), help="the staging directory of `install --root`")
    uninstall.add_argument("--purge", action="store_true", help="also remove /etc/posd and /var/lib/posd")
    commands.add_parser("udev-rules", help=f"print udev/{UDEV_RULES_NAME}, generated from the known-device table")
    commands.add_parser("known-devices", help="list the known-device table (USB ids, driver, profile)")


def run_command_line(args: argparse.Namespace) -> int | None:
    """Run one of the commands above; None if ``args`` names another command."""
    if args.command == "udev-rules":
        sys.stdout.write(render_udev_rules(builtin_table()))
        return 0
    if args.command == "known-devices":
        for device in builtin_table().devices:
            ids = " ".join(device.usb) or "(no sourced USB id)"
            mark = "" if device.verified else "  [unverified]"
            print(f"{device.kind.value:<8} {device.title:<48} {device.driver:<15} {device.profile:<14} {ids}{mark}")
        return 0
    if args.command not in ("install", "uninstall"):
        return None
    if (problem := require_root(args.root)) is not None:
        print(f"posd: {problem}", file=sys.stderr)
        return 1
    if args.command == "uninstall":
        live = args.root.resolve() == Path("/")
        steps = Installer(Path("."), args.root, args.prefix, live=live).uninstall(purge=args.purge)
    else:
        source = args.source or default_source()
        if source is None or not (source / "systemd" / "posd.service").is_file():
            print("posd: --source must name a posd source checkout (with systemd/posd.service)", file=sys.stderr)
            return 2
        live = args.root.resolve() == Path("/")
        steps = Installer(source, args.root, args.prefix, live=live).install(start=not args.no_start)
    for step in steps:
        print(step)
    return 0
