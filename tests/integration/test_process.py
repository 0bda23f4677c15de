"""The real command: ``posd serve --simulate`` as a process, stopped with SIGTERM."""

from __future__ import annotations

import asyncio
import re
import signal
import sys
from pathlib import Path

import aiohttp


async def test_serve_simulate_process_starts_serves_and_stops_gracefully(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "daemon",
        "serve",
        "--simulate",
        "--port",
        "0",
        "--state-dir",
        str(tmp_path),
        "--config",
        str(_empty_config(tmp_path)),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 20)).decode()
        match = re.search(r"ready on (http://127\.0\.0\.1:\d+) \(simulate mode\)", line)
        assert match, line
        url = match.group(1)
        token = (tmp_path / "admin.token").read_text().strip()
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as session:
            async with session.get(url + "/api/v1/health") as response:
                health = await response.json()
            assert health["status"] == "ok"
            assert health["devices"]["total"] == 5
            ws = await session.ws_connect(url + "/api/v1/events")
            await ws.send_json({"type": "auth", "token": token})
            assert (await ws.receive_json(timeout=5))["type"] == "hello"
            process.send_signal(signal.SIGTERM)
            closing = await ws.receive(timeout=10)
            assert closing.type is aiohttp.WSMsgType.CLOSE
            assert ws.close_code == aiohttp.WSCloseCode.GOING_AWAY
            await ws.close()
        assert await asyncio.wait_for(process.wait(), 15) == 0
        stderr = (await process.stderr.read()).decode() if process.stderr else ""
        assert "Traceback" not in stderr, stderr
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def _empty_config(tmp_path: Path) -> Path:
    path = tmp_path / "posd.toml"
    path.write_text("# simulate mode only\n")
    return path
