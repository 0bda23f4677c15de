"""Shared plumbing for the benchmark scripts (not a benchmark itself).

Everything here is deliberately boring: subprocesses that are always killed, waits that always time
out, a pseudo-terminal standing in for a serial scanner, and nearest-rank percentiles.

Timestamps are ``time.clock_gettime_ns(time.CLOCK_MONOTONIC)`` everywhere: on Linux that clock is one
system-wide clock, so a timestamp taken in the benchmark process and one taken in a client process
are directly comparable.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import tty
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PYTHON = sys.executable
DEVICE_ID = "scanner-1"
READY_RE = r"ready on http://[^\s:]+:(\d+)"
SCAN_TOPIC = "scanner.scan"


class BenchError(RuntimeError):
    """A benchmark could not run (as opposed to: it ran and missed a target)."""


def now_ns() -> int:
    """CLOCK_MONOTONIC in ns: one clock for every process on this machine."""
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


def posd_executable() -> str:
    """The ``posd`` console script of the interpreter running the benchmark (the project's .venv)."""
    candidate = Path(PYTHON).parent / "posd"
    if candidate.exists():
        return str(candidate)
    raise BenchError(f"no posd script next to {PYTHON}; run the benchmark with the project's .venv python")


def clean_env() -> dict[str, str]:
    """The environment for child processes: no POSD_* overrides leaking in from the caller's shell."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSD_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


# -- subprocesses ---------------------------------------------------------------------------------------
class Child:
    """A subprocess whose stdout lines are collected (with arrival time) by a thread; stderr goes to a file.

    Use as a context manager, or call :meth:`stop`: SIGTERM, then SIGKILL after ``timeout``.
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.spawn_ns = now_ns()
        try:
            self.proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=self._log,
                env=dict(env) if env is not None else clean_env(),
                cwd=cwd,
            )
        except BaseException:
            self._log.close()
            raise
        self.lines: list[str] = []
        self._queue: queue.Queue[tuple[int, str | None]] = queue.Queue()
        self._thread = threading.Thread(target=self._pump, name=f"{name}-stdout", daemon=True)
        self._thread.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _pump(self) -> None:
        stdout = self.proc.stdout
        assert stdout is not None
        with contextlib.suppress(ValueError, OSError):
            for raw in stdout:
                self._queue.put((now_ns(), raw.decode("utf-8", "replace").rstrip("\r\n")))
        self._queue.put((now_ns(), None))

    def wait_line(self, pattern: str, timeout: float) -> tuple[re.Match[str], int]:
        """Wait for a stdout line matching ``pattern``; return the match and its arrival time (ns)."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BenchError(f"{self.name}: no line matching {pattern!r} within {timeout}s{self.log_tail()}")
            try:
                stamp, line = self._queue.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                self._queue.put((stamp, None))  # keep reporting EOF to later waiters
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(1.0)
                raise BenchError(
                    f"{self.name} closed stdout (exit {self.proc.poll()}) before {pattern!r}{self.log_tail()}"
                )
            match = regex.search(line)
            if match is not None:
                return match, stamp
            self.lines.append(line)

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text("utf-8", "replace").splitlines()[-lines:]
        except OSError:
            return ""
        return "\n  stderr tail:\n    " + "\n    ".join(text) if text else ""

    def stop(self, timeout: float = 5.0) -> int | None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    self.proc.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(timeout)
        if self.proc.stdout is not None:
            with contextlib.suppress(OSError):
                self.proc.stdout.close()
        self._thread.join(timeout)
        self._log.close()
        return self.proc.returncode

    def __enter__(self) -> Child:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def stop_all(children: Sequence[Child]) -> None:
    """Stop children one by one (SIGTERM all first so they wind down in parallel)."""
    for child in children:
        if child.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                child.proc.send_signal(signal.SIGTERM)
    for child in children:
        child.stop()


# -- the scanner's wire ---------------------------------------------------------------------------------
@dataclass
class Pty:
    """A pseudo-terminal: the benchmark writes the master, the server opens ``path`` (the slave).

    The slave fd stays open in this process so the master never sees EIO between server (re)opens.
    """

    master: int
    slave: int
    path: str

    @classmethod
    def open(cls) -> Pty:
        master, slave = os.openpty()
        tty.setraw(master)
        tty.setraw(slave)
        return cls(master, slave, os.ttyname(slave))

    def write(self, data: bytes) -> int:
        """Write all of ``data`` (blocking); return CLOCK_MONOTONIC ns right after the last byte went in."""
        view = memoryview(data)
        while view:
            written = os.write(self.master, view)
            view = view[written:]
        return now_ns()

    def drain_input(self) -> None:
        """Discard anything the server wrote to the scanner (nothing is expected; keeps the buffer empty)."""
        os.set_blocking(self.master, False)
        try:
            while os.read(self.master, 65536):
                pass
        except (BlockingIOError, OSError):
            pass
        finally:
            os.set_blocking(self.master, True)

    def close(self) -> None:
        for fd in (self.master, self.slave):
            with contextlib.suppress(OSError):
                os.close(fd)


KIND_SCAN = "B"
KIND_WARMUP = "W"
KIND_END = "E"


def make_label(kind: str, seq: int, size: int) -> bytes:
    """``]C0`` (AIM: Code 128) + kind + 8-digit sequence number, padded with 'X' to ``size`` bytes, + CR."""
    head = f"]C0{kind}{seq:08d}"
    return (head + "X" * max(0, size - len(head))).encode("ascii") + b"\r"


def parse_label(raw: str) -> tuple[str, int]:
    """Inverse of :func:`make_label` on the event's ``data.raw``."""
    return raw[3], int(raw[4:12])


# -- posd and the floor server ----------------------------------------------------------------------------
def write_scanner_config(path: Path, pty_path: str, extra: str = "") -> None:
    path.write_text(
        f"{extra}\n"
        "[[devices]]\n"
        f'id = "{DEVICE_ID}"\n'
        'driver = "serial-scanner"\n'
        f'transport = {{ type = "serial", port = "{pty_path}", baudrate = 115200 }}\n',
        encoding="utf-8",
    )


@dataclass
class Server:
    child: Child
    port: int
    token: str

    @property
    def events_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v1/events?topics={SCAN_TOPIC}"


def start_posd(
    workdir: Path,
    pty_path: str,
    name: str = "posd",
    timeout: float = 30.0,
    profile_out: Path | None = None,
    *,
    extra_devices: Mapping[str, str] | None = None,
    source: Path | None = None,
) -> Server:
    """Start the real daemon with one serial scanner on ``pty_path``; wait for "ready on" and the device.

    With ``profile_out`` the daemon runs under cProfile (``python -m cProfile -o FILE -m daemon``); the
    profile is written when it exits on SIGTERM. ``extra_devices`` (id → its ``[[devices]]`` table) are
    configured too and waited for; ``source`` runs the daemon from another checkout (``PYTHONPATH``).
    """
    config = workdir / f"{name}.toml"
    state = workdir / f"{name}-state"
    write_scanner_config(config, pty_path, extra="".join((extra_devices or {}).values()))
    command = [posd_executable()]
    if profile_out is not None:
        command = [PYTHON, "-m", "cProfile", "-o", str(profile_out), "-m", "daemon"]
    argv = [*command, "serve", "--config", str(config), "--state-dir", str(state), "--port", "0"]
    env = clean_env()
    if source is not None:
        env["PYTHONPATH"] = str(source)
    child = Child(name, argv, workdir / f"{name}.stderr.log", env=env)
    try:
        match, _ = child.wait_line(READY_RE, timeout)
        port = int(match.group(1))
        token = (state / "admin.token").read_text("utf-8").strip()
        for device_id in [DEVICE_ID, *(extra_devices or {})]:
            wait_device_ready(port, token, device_id, timeout)
    except BaseException:
        child.stop()
        raise
    return Server(child, port, token)


def start_floor(workdir: Path, pty_path: str, name: str = "floor", timeout: float = 30.0) -> Server:
    argv = [PYTHON, str(HERE / "_floor_server.py"), "--pty", pty_path, "--port", "0"]
    child = Child(name, argv, workdir / f"{name}.stderr.log")
    try:
        match, _ = child.wait_line(READY_RE, timeout)
    except BaseException:
        child.stop()
        raise
    return Server(child, int(match.group(1)), "floor-ignores-tokens")


def wait_device_ready(port: int, token: str, device_id: str, timeout: float) -> None:
    url = f"http://127.0.0.1:{port}/api/v1/devices/{device_id}"
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    deadline = time.monotonic() + timeout
    state: Any = None
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, ValueError):
            with urllib.request.urlopen(request, timeout=2.0) as response:
                state = json.loads(response.read())["device"]["state"]
            if state == "ready":
                return
        time.sleep(0.05)
    raise BenchError(f"{device_id} not ready within {timeout}s (last state {state!r})")


# -- WebSocket clients in their own processes ---------------------------------------------------------------
@dataclass
class ClientResult:
    seqs: list[int]
    times_ns: list[int]
    closed: str


def start_clients(
    server: Server,
    count: int,
    workdir: Path,
    tag: str,
    *,
    timeout: float = 60.0,
    connections_each: int = 1,
    implementation: str = "aiohttp",
) -> list[Child]:
    """Spawn ``count`` client processes (``_ws_client.py``) and wait until each is subscribed.

    Each process opens ``connections_each`` WebSockets on its one event loop. ``implementation`` picks the
    implementation (``aiohttp`` or ``lean``; see ``_ws_client.py``).
    """
    clients: list[Child] = []
    try:
        for index in range(count):
            argv = [PYTHON, str(HERE / "_ws_client.py"), "--url", server.events_url, f"--token={server.token}"]
            argv += ["--timeout", str(timeout), "--connections", str(connections_each), "--client", implementation]
            clients.append(Child(f"client-{tag}-{index}", argv, workdir / f"client-{tag}-{index}.log"))
        for client in clients:
            client.wait_line(r"^READY$", 30.0)
    except BaseException:
        stop_all(clients)
        raise
    return clients


def collect_results(clients: Sequence[Child], timeout: float = 30.0) -> list[ClientResult]:
    results: list[ClientResult] = []
    for client in clients:
        match, _ = client.wait_line(r"^RESULT (.*)$", timeout)
        for data in json.loads(match.group(1))["connections"]:
            results.append(ClientResult(data["seqs"], data["times_ns"], data["closed"]))
    return results


def first_deliveries(results: Sequence[ClientResult], sent_ns: Mapping[int, int]) -> tuple[list[tuple[int, int]], int]:
    """Each client's first receipt of each sent scan as ``(seq, t1)``, and how many (scan, client) were lost."""
    delivered: list[tuple[int, int]] = []
    lost = 0
    for result in results:
        seen: set[int] = set()
        for seq, t1 in zip(result.seqs, result.times_ns, strict=True):
            if seq in sent_ns and seq not in seen:
                seen.add(seq)
                delivered.append((seq, t1))
        lost += len(sent_ns) - len(seen)
    return delivered, lost


def cpu_ns(pid: int) -> int:
    """CPU time of every thread of ``pid`` so far, ns (from /proc/PID/task/*/schedstat: ns resolution)."""
    total = 0
    with contextlib.suppress(FileNotFoundError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(FileNotFoundError), open(f"/proc/{pid}/task/{task}/schedstat", "rb") as fh:
                total += int(fh.read().split()[0])
    return total


# -- statistics ---------------------------------------------------------------------------------------------
def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100.0 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass(frozen=True)
class Summary:
    count: int
    p50_ms: float
    p99_ms: float
    max_ms: float

    @classmethod
    def of_ns(cls, values_ns: Sequence[int]) -> Summary:
        ms = [v / 1e6 for v in values_ns]
        return cls(len(ms), percentile(ms, 50), percentile(ms, 99), max(ms) if ms else math.nan)


def ratio(a: float, b: float) -> float:
    return a / b if b > 0 else math.nan


def verdict(ok: bool) -> str:
    return "MET" if ok else "MISSED"


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    print(" | ".join(h.rjust(w) for h, w in zip(headers, widths, strict=True)))
    print("-+-".join("-" * w for w in widths))
    for row in rows:
        print(" | ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)))


def machine_note() -> str:
    one, five, fifteen = os.getloadavg()
    python = sys.version.split()[0]
    return f"{os.cpu_count()} CPUs, load average {one:.2f} {five:.2f} {fifteen:.2f}, python {python}"


def save_json(path: Path | None, payload: Mapping[str, Any]) -> None:
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"results written to {path}")
