"""The technician commands (posd status / watch / test-print / weight / health / bundle) against a real daemon.

Each command is run through the real argument parser and the same entry as ``posd`` itself
(:func:`daemon.technician.run`), in the test's event loop, against the in-process daemon of ``start_daemon`` with
its simulators on real ptys and TCP; one test runs the real executable, for the wiring and a daemon that is not there.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import socket
import stat
import sys
import zipfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from api.server import HttpServer
from daemon import technician
from daemon.cli import build_parser
from drivers.registry import DriverRegistry
from tests.conftest import EVENT_TIMEOUT, SIMULATED_IDS, RunningDaemon, until

REGISTRY = DriverRegistry.builtin()


@dataclass
class Result:
    code: int
    out: str
    err: str


def command_line(handle: RunningDaemon | None, argv: tuple[str, ...]) -> list[str]:
    command, *rest = argv
    where = ["--url", handle.url, "--state-dir", str(handle.daemon.state_dir)] if handle is not None else []
    return [command, *where, *rest]


async def posd(handle: RunningDaemon | None, *argv: str) -> Result:
    """``posd ARGV`` against ``handle`` (its URL and state dir, so the admin token comes from admin.token)."""
    out, err = io.StringIO(), io.StringIO()
    code = await technician.run(build_parser().parse_args(command_line(handle, argv)), REGISTRY, out, err)
    return Result(code, out.getvalue(), err.getvalue())


@dataclass
class Running:
    task: asyncio.Task[int]
    out: io.StringIO
    err: io.StringIO

    async def result(self) -> Result:
        code = await asyncio.wait_for(self.task, EVENT_TIMEOUT)
        return Result(code, self.out.getvalue(), self.err.getvalue())


@asynccontextmanager
async def background(handle: RunningDaemon, *argv: str) -> AsyncIterator[Running]:
    """A long-running command (watch) as a task; cancelled (Ctrl-C) if the test leaves it running."""
    out, err = io.StringIO(), io.StringIO()
    args = build_parser().parse_args(command_line(handle, argv))
    task = asyncio.create_task(technician.run(args, REGISTRY, out, err), name="posd-watch")
    try:
        yield Running(task, out, err)
    finally:
        if not task.done():
            task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_status_shows_the_five_simulated_devices_ready(sim_daemon: RunningDaemon) -> None:
    result = await posd(sim_daemon, "status")
    assert (result.code, result.err) == (0, "")
    header, columns, *rows = result.out.splitlines()
    assert header.startswith(f"posd {sim_daemon.daemon.version} at {sim_daemon.url}, up ")
    assert header.endswith("5 of 5 devices ready")
    assert columns.split() == ["ID", "KIND", "DRIVER", "STATE", "REASON"]
    table = {row.split()[0]: row.split()[1:] for row in rows}
    assert set(table) == set(SIMULATED_IDS)
    assert table["printer-1"] == ["printer", "escpos", "ready"]
    assert table["scale-1"] == ["scale", "toledo-8217", "ready"]
    assert all(cells[2] == "ready" for cells in table.values())


async def test_status_shows_why_a_device_is_offline(sim_daemon: RunningDaemon) -> None:
    stream = await sim_daemon.events("topics=device.state&devices=scanner-1")
    await sim_daemon.sim("scanner-1", action="unplug")
    await stream.next("device.state", "scanner-1", lambda d: d["state"] == "offline")
    result = await posd(sim_daemon, "status")
    [row] = [line for line in result.out.splitlines() if line.startswith("scanner-1 ")]
    assert row.split()[3] == "offline"
    assert "retry in" in row  # the reason, in full
    assert "4 of 5 devices ready" in result.out


async def test_address_and_token_come_from_the_configuration(sim_daemon: RunningDaemon, tmp_path: Path) -> None:
    config = tmp_path / "technician.toml"
    config.write_text(f'state_dir = "{sim_daemon.daemon.state_dir}"\n[server]\nport = {sim_daemon.http.port}\n')
    result = await posd(None, "status", "--config", str(config))
    assert result.code == 0, result.err
    assert f"at http://127.0.0.1:{sim_daemon.http.port}," in result.out


async def test_test_print_prints_and_waits_for_the_job(sim_daemon: RunningDaemon) -> None:
    result = await posd(sim_daemon, "test-print", "printer-1")
    assert result.code == 0, result.err
    assert result.out.splitlines()[-1].startswith("printed: job ")
    assert result.out.splitlines()[-1].endswith(" done on printer-1")
    paper = (await sim_daemon.get("/api/v1/sim/printer-1/output")).body
    assert "posd test print" in "\n".join(paper["lines"])
    assert any("Printer" in line and "printer-1" in line for line in paper["lines"])
    assert "Ação ñ ç ß £ €" in paper["lines"]
    assert "If you can read this, the printer works." in paper["lines"]
    assert paper["cuts"] == 1


async def test_test_print_on_a_printer_without_paper_gives_up_and_cancels(sim_daemon: RunningDaemon) -> None:
    stream = await sim_daemon.events("topics=printer.status&devices=printer-1")
    await sim_daemon.sim("printer-1", action="fault", paper="end")
    await stream.next("printer.status", "printer-1", lambda s: s["paper"] == "end")
    result = await posd(sim_daemon, "test-print", "printer-1", "--wait", "0.5")
    assert result.code == 1
    assert "held (paper_end)" in result.out
    assert result.out.splitlines()[-1].endswith("after 0.5s; cancelled it")
    assert (await sim_daemon.get("/api/v1/sim/printer-1/output")).body["lines"] == []


async def test_weight_prints_what_the_scale_shows(sim_daemon: RunningDaemon) -> None:
    stream = await sim_daemon.events("topics=scale.weight&devices=scale-1")
    await sim_daemon.sim("scale-1", action="set", value=1.234, unit="kg", stable=True)
    await stream.next("scale.weight", "scale-1", lambda w: w["value"] == 1.234 and w["stable"])
    current = await posd(sim_daemon, "weight", "scale-1")
    assert (current.code, current.out, current.err) == (0, "1.234 kg (stable)\n", "")
    stable = await posd(sim_daemon, "weight", "scale-1", "--stable")
    assert (stable.code, stable.out) == (0, "1.234 kg (stable)\n")


async def test_weight_that_never_settles_is_a_device_failure(sim_daemon: RunningDaemon) -> None:
    await sim_daemon.sim("scale-1", action="status", status="motion")
    result = await posd(sim_daemon, "weight", "scale-1", "--stable", "--timeout-ms", "300")
    assert result.code == 1
    assert result.err.startswith("posd: weight_not_stable: ")


async def test_health_internal_and_external(sim_daemon: RunningDaemon) -> None:
    internal = await posd(sim_daemon, "health", "scanner-1")
    assert internal.code == 0, internal.err
    assert internal.out.startswith("scanner-1: OK (internal): ")
    external = await posd(sim_daemon, "health", "printer-1", "--level", "external")
    assert external.code == 0, external.err
    assert external.out.strip().endswith("test page printed")
    paper = (await sim_daemon.get("/api/v1/sim/printer-1/output")).body
    assert "posd test print" in paper["lines"]


async def test_api_problems_are_shown_with_code_and_detail(sim_daemon: RunningDaemon) -> None:
    missing = await posd(sim_daemon, "health", "nope")
    assert (missing.code, missing.err) == (1, "posd: device_not_found: no device 'nope'\n")
    wrong_kind = await posd(sim_daemon, "weight", "printer-1")
    assert (wrong_kind.code, wrong_kind.err) == (1, "posd: wrong_device_kind: printer-1 is a printer, not a scale\n")
    refused = await posd(None, "status", "--url", sim_daemon.url, "--token", "not-the-token-0123456789")
    assert refused.code == 2
    assert refused.err.startswith("posd: unauthorized: ")


async def test_watch_shows_a_scan_made_through_the_simulator(sim_daemon: RunningDaemon) -> None:
    async with background(sim_daemon, "watch", "--topics", "scanner.scan", "--count", "1") as watch:
        await until(lambda: "watching scanner.scan" in watch.err.getvalue())
        await sim_daemon.sim("scanner-1", action="scan", data="7891000315507", symbology="EAN13")
        result = await watch.result()
    assert result.code == 0, result.err
    [line] = result.out.splitlines()
    assert line.endswith(" scanner.scan scanner-1: EAN13 7891000315507 (AIM ]E0)"), line


async def test_watch_resumes_after_a_dropped_connection(sim_daemon: RunningDaemon) -> None:
    daemon = sim_daemon.daemon
    async with background(sim_daemon, "watch", "--topics", "scanner.scan", "--count", "2", "--json") as watch:
        await until(lambda: "watching" in watch.err.getvalue())
        await sim_daemon.sim("scanner-1", action="scan", data="1111", symbology="UNKNOWN")
        await until(lambda: watch.out.getvalue().count("\n") == 1)

        port = sim_daemon.http.port
        await sim_daemon.http.stop()  # every event socket is closed (1001 going away)
        await until(lambda: "reconnecting" in watch.err.getvalue())
        # A scan while posd's API is away: the watch must still get it, through since=.
        await daemon.simulators["scanner-1"].control({"action": "scan", "data": "2222", "symbology": "UNKNOWN"})
        await until(lambda: any(b'"2222"' in e.frame for e in daemon.bus.tail(3)))
        sim_daemon.http = HttpServer(daemon, port=port)
        await sim_daemon.http.start()

        result = await watch.result()
    assert result.code == 0, result.err
    first, second = result.out.splitlines()
    assert '"data":"1111"' in first
    assert '"data":"2222"' in second
    assert "reconnected; resuming after event #" in result.err


def inspect_bundle(path: Path) -> tuple[int, int, set[str]]:
    """Size, permission bits and file names of a written bundle."""
    info = path.stat()
    with zipfile.ZipFile(path) as archive:
        names = {Path(n).name for n in archive.namelist()}
    return info.st_size, stat.S_IMODE(info.st_mode), names


async def test_bundle_is_written_private_under_its_own_name(sim_daemon: RunningDaemon, tmp_path: Path) -> None:
    into_dir = await posd(sim_daemon, "bundle", "-o", str(tmp_path))
    assert into_dir.code == 0, into_dir.err
    written = Path(into_dir.out.split()[1])
    assert written.parent == tmp_path
    assert re.fullmatch(r"posd-support-[A-Za-z0-9.-]+-\d{8}T\d{6}Z\.zip", written.name)
    size, mode, names = inspect_bundle(written)
    assert into_dir.out == f"wrote {written} ({size} bytes)\n"
    assert mode == 0o600
    assert {"summary.json", "devices.json", "logs.jsonl"} <= names

    named = tmp_path / "till-7.zip"
    as_named = await posd(sim_daemon, "bundle", "-o", str(named), "--events", "5")
    assert as_named.code == 0, as_named.err
    assert zipfile.is_zipfile(named)


async def test_missing_or_unreadable_token_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    missing = await posd(None, "status", "--url", url, "--state-dir", str(tmp_path))
    assert missing.code == 2
    assert missing.err.startswith(f"posd: no admin token at {tmp_path / 'admin.token'}: ")

    (tmp_path / "admin.token").write_text("x" * 43)
    real_read_text = Path.read_text

    def denied(path: Path, *args: object, **kwargs: object) -> str:
        if path.name == "admin.token":
            raise PermissionError(13, "Permission denied", str(path))
        return real_read_text(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "read_text", denied)
    unreadable = await posd(None, "status", "--url", url, "--state-dir", str(tmp_path))
    assert unreadable.code == 2
    assert f"cannot read the admin token {tmp_path / 'admin.token'}: permission denied" in unreadable.err
    assert "sudo posd status" in unreadable.err


async def test_a_daemon_that_is_not_running_gives_exit_2_and_says_so(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSD_")}
    for command in (["status"], ["watch"], ["weight", "scale-1"]):
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "daemon",
            *command,
            "--url",
            url,
            "--token",
            "any-token-0123456789",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            cwd=tmp_path,
        )
        stdout, stderr = await asyncio.wait_for(process.communicate(), 30)
        assert process.returncode == 2, (command, stderr)
        assert stdout == b""
        assert stderr.decode() == (
            f"posd: cannot connect to posd at {url}: is it running? systemctl status posd (Connection refused)\n"
        )
