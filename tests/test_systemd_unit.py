"""systemd/posd.service: `systemd-analyze verify` passes, the security exposure is at most 2.5, and the
settings the till depends on are there. CI installs systemd (`.ci/bootstrap`: APT_TEST_PACKAGES), so these
run there; they are never skipped.

`verify` checks that ExecStart's program exists. On a build machine /opt/posd does not, so the test verifies
a copy whose ExecStart points at the posd command of the virtual environment running the tests (the real
installed entry point), with every other line unchanged.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

ROOT = Path(__file__).resolve().parent.parent
UNIT = ROOT / "systemd" / "posd.service"
MAX_EXPOSURE = 2.5


def _analyze(*args: str) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("systemd-analyze")
    assert tool, "systemd-analyze is missing: .ci/bootstrap installs Debian's systemd package for the tests"
    return subprocess.run([tool, *args], capture_output=True, text=True, timeout=60, check=False)


def _unit_lines(text: str) -> list[tuple[str, str, str]]:
    """(section, key, value) for every setting, in order (keys may repeat, e.g. DeviceAllow)."""
    section = ""
    out = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        out.append((section, key.strip(), value.strip()))
    return out


def _installed_posd() -> Path:
    posd = Path(sys.executable).parent / "posd"
    assert posd.is_file(), f"{posd} missing: `pip install -e .` creates it"
    return posd


def _verifiable_copy(tmp_path: Path, text: str) -> Path:
    prefix = tmp_path / "opt" / "posd"
    (prefix / ".venv" / "bin").mkdir(parents=True)
    (prefix / ".venv" / "bin" / "posd").symlink_to(_installed_posd())
    unit = tmp_path / "posd.service"
    unit.write_text(text.replace("/opt/posd", str(prefix)))
    return unit


def test_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    unit = _verifiable_copy(tmp_path, UNIT.read_text())
    exec_start = next(v for s, k, v in _unit_lines(unit.read_text()) if k == "ExecStart")
    assert exec_start.startswith(str(tmp_path / "opt/posd/.venv/bin/posd") + " serve")
    result = _analyze("verify", str(unit))
    # verify exits 0 on settings it ignores (misspelt keys, bad values) but prints them: demand silence.
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "", result.stdout
    assert result.stderr.strip() == "", result.stderr


def test_verify_reports_what_it_ignores(tmp_path: Path) -> None:
    """The silence demanded above means something: a bad line makes verify speak."""
    bad = UNIT.read_text().replace("Type=notify", "Type=notifyy").replace("NoNewPrivileges=yes", "NoNewPrivilege=yes")
    result = _analyze("verify", str(_verifiable_copy(tmp_path, bad)))
    assert "notifyy" in result.stderr
    assert "NoNewPrivilege" in result.stderr


def test_security_exposure_is_at_most_2_5() -> None:
    result = _analyze("security", "--offline=yes", f"--threshold={int(MAX_EXPOSURE * 10)}", "--no-pager", str(UNIT))
    match = re.search(r"Overall exposure level for posd\.service: (\d+\.\d+)", result.stdout)
    assert match, result.stdout + result.stderr
    exposure = float(match.group(1))
    assert exposure <= MAX_EXPOSURE, result.stdout
    assert result.returncode == 0, result.stdout + result.stderr


def test_security_threshold_fails_a_weaker_unit(tmp_path: Path) -> None:
    """The threshold check bites: without the hardening block the same command fails."""
    weak = "\n".join(
        line
        for line in UNIT.read_text().splitlines()
        if not line.startswith(("Protect", "Restrict", "SystemCall", "Capability", "Private", "Memory"))
    )
    unit = tmp_path / "posd.service"
    unit.write_text(weak)
    result = _analyze("security", "--offline=yes", f"--threshold={int(MAX_EXPOSURE * 10)}", "--no-pager", str(unit))
    assert result.returncode != 0


def test_unit_has_what_a_till_depends_on() -> None:
    settings = _unit_lines(UNIT.read_text())
    service = {k: v for s, k, v in settings if s == "Service"}
    assert service["Type"] == "notify"
    assert service["NotifyAccess"] == "main"
    assert service["Restart"] == "on-failure"
    assert float(service["WatchdogSec"].rstrip("s")) > 0
    assert service["User"] == "posd"
    assert set(service["SupplementaryGroups"].split()) == {"dialout", "lp"}
    assert service["StateDirectory"] == "posd"
    assert service["DevicePolicy"] == "closed"
    assert service["ProtectSystem"] == "strict"
    assert "PrivateDevices" not in service  # would hide the devices; DevicePolicy + DeviceAllow instead
    allowed = {v for s, k, v in settings if k == "DeviceAllow"}
    # serial (RS-232, USB-serial, CDC-ACM), usbfs (libusb printers), usbmisc (usblp), hidraw, evdev (read only)
    assert allowed == {
        "char-ttyS rw",
        "char-ttyUSB rw",
        "char-ttyACM rw",
        "char-usb_device rw",
        "char-usb rw",
        "char-hidraw rw",
        "char-input r",
    }
    assert "AF_NETLINK" in service["RestrictAddressFamilies"]  # the udev monitor
    assert "AF_UNIX" in service["RestrictAddressFamilies"]  # sd_notify


@pytest.mark.timeout(60)
async def test_daemon_runs_with_write_execute_memory_refused(tmp_path: Path) -> None:
    """MemoryDenyWriteExecute=yes must not break posd (ctypes/libudev, pydantic-core, aiohttp's C parts).

    systemd applies it with a seccomp filter; the kernel's PR_SET_MDWE (prctl, Linux >= 6.3) enforces the same
    rule (no mapping both writable and executable, no adding PROT_EXEC later), so the daemon runs under it here,
    with hot-plug on so pyudev loads libudev.
    """
    script = tmp_path / "mdwe.py"
    script.write_text(
        "import ctypes, mmap, runpy, sys\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "if libc.prctl(65, 1, 0, 0, 0) != 0:  # PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN\n"
        "    sys.exit(f'PR_SET_MDWE failed: errno {ctypes.get_errno()}')\n"
        "try:\n"
        "    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)\n"
        "    sys.exit('W+X memory was not refused')\n"
        "except OSError:\n"
        "    pass\n"
        "sys.argv = ['posd', *sys.argv[1:]]\n"
        "runpy.run_module('daemon', run_name='__main__')\n"
    )
    config = tmp_path / "posd.toml"
    config.write_text("[hotplug]\nenabled = true\n")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(script),
        *("serve", "--simulate", "--port", "0", "--state-dir", str(tmp_path / "state"), "--config", str(config)),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        match = re.search(r"ready on (http://127\.0\.0\.1:\d+)", line)
        assert match, line + ((await process.stderr.read()).decode() if process.stderr else "")
        async with aiohttp.ClientSession() as session, session.get(match.group(1) + "/api/v1/health") as response:
            assert (await response.json())["status"] == "ok"
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 20) == 0
        stderr = (await process.stderr.read()).decode() if process.stderr else ""
        assert "Traceback" not in stderr, stderr
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
