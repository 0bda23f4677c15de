"""kill -9 at random points while jobs are queued: none lost, none printed twice unless marked COPY.

The printer is a simulator in this test process (real TCP), so it outlives every daemon it serves; the
daemon is the real ``posd serve`` process, killed with SIGKILL and restarted on the same state directory.
"""

from __future__ import annotations

import asyncio
import base64
import os
import random
import re
import signal
import sys
from collections import Counter
from pathlib import Path
from typing import BinaryIO

import aiohttp
import pytest

from drivers.escpos.simulator import EscposSimulator
from drivers.simulator import TcpEndpoint
from drivers.transports import TcpSettings

ROUNDS = 20
JOBS_PER_ROUND = 50
COPY_LINE = "*** COPY ***"

pytestmark = pytest.mark.timeout(300)


async def start_daemon(config: Path, state: Path) -> tuple[asyncio.subprocess.Process, str]:
    log = config.parent / "posd.stderr.log"  # every start appends: a daemon that dies before ready says why
    with log.open("ab") as stderr:
        process = await spawn_daemon(config, state, stderr)
    assert process.stdout is not None
    line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
    match = re.search(r"ready on (http://\S+)", line)
    assert match, f"no ready line ({line!r}); stderr ends:\n{log.read_text(errors='replace')[-3000:]}"
    return process, match.group(1)


async def spawn_daemon(config: Path, state: Path, stderr: BinaryIO) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "daemon",
        "serve",
        "--config",
        str(config),
        "--state-dir",
        str(state),
        "--port",
        "0",
        stdout=asyncio.subprocess.PIPE,
        stderr=stderr,
    )


async def submit(session: aiohttp.ClientSession, url: str, marker: str, accepted: set[str]) -> None:
    body = {"raw": base64.b64encode(b"\x1b@" + marker.encode() + b"\n\x1dV\x00").decode()}
    try:
        async with session.post(url + "/api/v1/printers/printer-1/jobs", json=body) as response:
            if response.status == 202:
                accepted.add(marker)
    except (aiohttp.ClientError, ConnectionError):
        pass  # the daemon died under us: this job may or may not have been journaled


async def open_jobs(session: aiohttp.ClientSession, url: str) -> int:
    async with session.get(url + "/api/v1/printers/printer-1/jobs?limit=1000") as response:
        jobs = (await response.json())["jobs"]
    return sum(1 for job in jobs if job["state"] not in ("done", "cancelled", "failed"))


async def test_kill_9_while_printing_loses_nothing_and_never_silently_doubles(tmp_path: Path) -> None:
    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    printer = EscposSimulator("printer-1", TcpEndpoint())
    await printer.start()
    config = tmp_path / "posd.toml"
    endpoint = printer.transport_settings()
    assert isinstance(endpoint, TcpSettings)
    config.write_text(
        f"""
[supervisor]
backoff_initial_s = 0.05
backoff_max_s = 0.2

[[devices]]
id = "printer-1"
driver = "escpos"
transport = {{ type = "tcp", host = "{endpoint.host}", port = {endpoint.port} }}
"""
    )
    state = tmp_path / "state"
    accepted: set[str] = set()
    process: asyncio.subprocess.Process | None = None
    try:
        for round_number in range(ROUNDS):
            process, url = await start_daemon(config, state)
            token = (state / "admin.token").read_text().strip()
            async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as session:
                markers = [f"R{round_number:02d}-J{n:02d}" for n in range(JOBS_PER_ROUND)]
                submissions = [asyncio.create_task(submit(session, url, m, accepted)) for m in markers]
                await asyncio.sleep(rng.uniform(0.0, 0.3))  # a random point: the kill is the event under test
                process.send_signal(signal.SIGKILL)
                await process.wait()
                await asyncio.gather(*submissions)
        # A last run prints everything still open.
        process, url = await start_daemon(config, state)
        token = (state / "admin.token").read_text().strip()
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as session:
            async with asyncio.timeout(120):
                while await open_jobs(session, url):  # noqa: ASYNC110 - another process's state, seen over HTTP
                    await asyncio.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 15) == 0
    finally:
        if process is not None and process.returncode is None:
            process.kill()
            await process.wait()
        await printer.stop()

    originals: Counter[str] = Counter()
    copies: Counter[str] = Counter()
    lines = [line for line in printer.paper_out.lines if line]  # the COPY banner may be followed by a feed
    for index, line in enumerate(lines):
        if re.fullmatch(r"R\d\d-J\d\d", line):
            (copies if index > 0 and lines[index - 1] == COPY_LINE else originals)[line] += 1
    context = f"seed {seed}: {len(accepted)} accepted, {sum(originals.values())} printed, {sum(copies.values())} copies"
    assert len(accepted) >= ROUNDS, context  # the test must actually have exercised accepted jobs
    lost = sorted(m for m in accepted if originals[m] + copies[m] == 0)
    assert not lost, f"{context}; lost: {lost}"
    doubled = sorted(m for m, count in originals.items() if count > 1)
    assert not doubled, f"{context}; printed twice without COPY: {doubled}"
