"""Technician commands: ``posd status | watch | test-print | weight | health | bundle``.

They are clients of a running posd, over the same HTTP API and event WebSocket as any POS app, so what they
show is exactly what the API says. The admin token is read from the state directory (as ``posd serve`` keeps
it), or given with ``--token``. Exit codes: 0 done; 1 the device or the API said no (the problem's code and
detail are shown); 2 usage or connection trouble (posd not running, token unreadable, token refused).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import socket
import sys
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

import aiohttp

from daemon.config import DEFAULT_PORT, LoadedConfig, default_state_dir, load_config
from daemon.security import ADMIN_TOKEN_FILE
from drivers.errors import ConfigError
from drivers.registry import DriverRegistry

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

DEFAULT_URL = f"http://127.0.0.1:{DEFAULT_PORT}"
SERVICE_STATE_DIR = Path("/var/lib/posd")
"""Where the installed service keeps its state (systemd StateDirectory=posd), tried after the user's own."""

COMMANDS = ("status", "watch", "test-print", "weight", "health", "bundle")
FINAL_JOB_STATES = frozenset({"done", "failed", "cancelled"})
#: Problems that mean "this command cannot work as called" rather than "the device said no".
USAGE_PROBLEMS = frozenset({"unauthorized", "insufficient_scope", "forbidden_host", "forbidden_origin"})
#: WebSocket close codes of the event stream (api/events_ws.py) that no reconnection can cure.
WS_REFUSALS = {4400: "bad request", 4401: "unauthorized", 4403: "forbidden"}
WATCH_RETRY_FIRST_S = 0.2
WATCH_RETRY_MAX_S = 5.0
JOB_POLL_S = 0.2


class CommandError(Exception):
    """Ends a command with ``message`` on stderr and ``exit_code``."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class Target:
    url: str
    token: str


# -- command line ---------------------------------------------------------------------------------------
def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    common = argparse.ArgumentParser(add_help=False)
    where = common.add_argument_group("reaching posd")
    where.add_argument("--url", help=f"posd's address (default: from the configuration, else {DEFAULT_URL})")
    where.add_argument(
        "--token", help="bearer token (default: the admin token in the state directory; --token shows in ps)"
    )
    where.add_argument("--state-dir", type=Path, help="state directory holding admin.token (default: as posd serve)")
    where.add_argument("--config", type=Path, help="TOML config file, for the address and state directory")
    where.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for each answer (default 10)")

    commands.add_parser("status", parents=[common], help="devices with their state and why")
    watch = commands.add_parser("watch", parents=[common], help="print live events, one line each, until Ctrl-C")
    watch.add_argument("--topics", help="comma-separated topics, e.g. scanner.scan,device.state (default: all)")
    watch.add_argument("--devices", help="comma-separated device ids (default: all)")
    watch.add_argument("--since", type=int, metavar="SEQ", help="first replay the events after SEQ still held")
    watch.add_argument("--count", type=int, metavar="N", help="stop after N events")
    watch.add_argument("--json", action="store_true", help="print each event's JSON as received")
    test_print = commands.add_parser(
        "test-print", parents=[common], help="print a test receipt through the job queue and wait for the outcome"
    )
    test_print.add_argument("printer", metavar="PRINTER_ID")
    test_print.add_argument(
        "--wait", type=float, default=60.0, help="seconds to wait for the job; then it is cancelled (default 60)"
    )
    weight = commands.add_parser("weight", parents=[common], help="read a scale")
    weight.add_argument("scale", metavar="SCALE_ID")
    weight.add_argument("--stable", action="store_true", help="wait for a stable reading taken after the request")
    weight.add_argument("--timeout-ms", type=int, default=2000, help="how long the scale may take (default 2000)")
    health = commands.add_parser("health", parents=[common], help="UPOS CheckHealth of a device")
    health.add_argument("device", metavar="DEVICE_ID")
    health.add_argument(
        "--level",
        choices=("internal", "external"),
        default="internal",
        help="internal: no physical effect (default); external: test print, beep",
    )
    bundle = commands.add_parser("bundle", parents=[common], help="download the support bundle (a zip)")
    bundle.add_argument(
        "-o", "--output", type=Path, help="file or directory to write (default: its own name, here); - for stdout"
    )
    bundle.add_argument("--events", type=int, help="how many recent events to include (default: the daemon's)")


def run_command_line(args: argparse.Namespace, registry: DriverRegistry) -> int | None:
    """Run one of the commands above; None if ``args`` names another command."""
    if args.command not in COMMANDS:
        return None
    try:
        return asyncio.run(run(args, registry, sys.stdout, sys.stderr))
    except KeyboardInterrupt:
        # Ctrl-C is how `watch` ends; for the others it is an interruption.
        return EXIT_OK if args.command == "watch" else 130


async def run(args: argparse.Namespace, registry: DriverRegistry, out: TextIO, err: TextIO) -> int:
    try:
        if args.timeout <= 0:
            raise CommandError("--timeout must be more than 0 seconds", EXIT_USAGE)
        target = resolve_target(args, registry, err)
        async with Client(target, args.timeout) as client:
            return await _COMMANDS[args.command](client, args, out, err)
    except CommandError as error:
        print(f"posd: {error}", file=err)
        return error.exit_code


# -- where posd is, and the token ---------------------------------------------------------------------
def resolve_target(args: argparse.Namespace, registry: DriverRegistry, err: TextIO) -> Target:
    loaded: LoadedConfig | None = None
    if args.url is None or (args.token is None and args.state_dir is None):
        loaded = _load_config(args.config, registry, err)
    url = (args.url or _url_from_config(loaded)).rstrip("/")
    if not re.match(r"^https?://[^/]+$", url):
        raise CommandError(f"--url {url!r}: give it as http://HOST:PORT", EXIT_USAGE)
    if args.token is not None:
        return Target(url, args.token.strip())
    if args.state_dir is not None:
        candidates = [args.state_dir]
    elif loaded is not None and loaded.config.state_dir is not None:
        candidates = [loaded.config.state_dir]
    else:
        candidates = list(dict.fromkeys([default_state_dir(), SERVICE_STATE_DIR]))
    return Target(url, read_admin_token(candidates, args.command))


def _load_config(path: Path | None, registry: DriverRegistry, err: TextIO) -> LoadedConfig | None:
    try:
        return load_config(path, registry)
    except ConfigError as error:
        if path is not None:
            raise CommandError(f"configuration error:\n{error}", EXIT_USAGE) from error
        # The default file is often root/posd-only on a till: fall back to the defaults, saying so only if
        # the file is there but wrong (a permission problem is expected for a technician's own account).
        if "permission denied" not in str(error):
            print(f"posd: note: ignoring the configuration ({error}); using the defaults", file=err)
        return None


def _url_from_config(loaded: LoadedConfig | None) -> str:
    if loaded is None:
        return DEFAULT_URL
    server = loaded.config.server
    host = server.host
    if host in ("", "0.0.0.0", "::"):  # a wildcard bind is reachable on loopback
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{server.port or DEFAULT_PORT}"


def read_admin_token(state_dirs: list[Path], command: str) -> str:
    """The token in the first ``<dir>/admin.token`` that exists; errors that say which file and what to do."""
    denied: Path | None = None
    for state_dir in state_dirs:
        path = state_dir / ADMIN_TOKEN_FILE
        try:
            token = path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            continue
        except PermissionError:
            denied = denied or path
            continue
        except OSError as error:
            raise CommandError(f"cannot read the admin token {path}: {error.strerror or error}", EXIT_USAGE) from error
        if not token:
            raise CommandError(f"the admin token file {path} is empty: restart posd to issue one", EXIT_USAGE)
        return token
    if denied is not None:
        raise CommandError(
            f"cannot read the admin token {denied}: permission denied (only the user posd runs as may read it). "
            f"Run as root (sudo posd {command} …), as that user (sudo -u posd posd {command} …), "
            "or pass --token",
            EXIT_USAGE,
        )
    tried = " or ".join(str(d / ADMIN_TOKEN_FILE) for d in state_dirs)
    raise CommandError(
        f"no admin token at {tried}: has posd started once? Pass --state-dir (posd serve's state directory) or --token",
        EXIT_USAGE,
    )


# -- HTTP -----------------------------------------------------------------------------------------------
class Client:
    """The API seen from a command: every failure becomes a CommandError with a message for people."""

    def __init__(self, target: Target, timeout: float) -> None:
        self.target = target
        self.url = target.url
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Client:
        self._session = aiohttp.ClientSession(headers={"Authorization": f"Bearer {self.target.token}"})
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        assert self._session is not None, "use the client as an async context manager"
        return self._session

    async def call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> Any:
        """The JSON answer (numbers with a fraction as Decimal, to print them as sent)."""
        raw, _ = await self.fetch(method, path, body=body, params=params, headers=headers, timeout=timeout)
        return json.loads(raw, parse_float=Decimal) if raw else None

    async def fetch(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> tuple[bytes, Mapping[str, str]]:
        limit = timeout if timeout is not None else self.timeout
        try:
            async with asyncio.timeout(limit):
                async with self.session.request(
                    method, self.url + path, json=body, params=params, headers=headers
                ) as response:
                    raw = await response.read()
                    if response.status >= 400:
                        raise problem_error(response.status, response.reason, response.content_type, raw)
                    return raw, response.headers
        except TimeoutError as error:
            raise CommandError(f"posd at {self.url} did not answer within {limit:g}s", EXIT_USAGE) from error
        except aiohttp.ClientError as error:
            raise connection_error(self.url, error) from error

    @asynccontextmanager
    async def events(self, params: Mapping[str, str]) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
        """The event stream, authenticated (the token goes in the first message, never in the URL)."""
        try:
            async with asyncio.timeout(self.timeout):
                ws = await self.session.ws_connect(self.url + "/api/v1/events", params=params, heartbeat=20.0)
        except TimeoutError as error:
            raise CommandError(f"posd at {self.url} did not answer within {self.timeout:g}s", EXIT_USAGE) from error
        except aiohttp.WSServerHandshakeError as error:
            hint = " (check --topics: device, scanner, scale, printer, drawer, display)" if error.status == 400 else ""
            raise CommandError(f"posd refused the event stream: HTTP {error.status}{hint}", EXIT_USAGE) from error
        try:
            await ws.send_json({"type": "auth", "token": self.target.token})
            yield ws
        finally:
            await ws.close()


def connection_error(url: str, error: BaseException) -> CommandError:
    if isinstance(error, aiohttp.ClientConnectorError):
        reason = _os_reason(error.os_error)
        return CommandError(
            f"cannot connect to posd at {url}: is it running? systemctl status posd ({reason})", EXIT_USAGE
        )
    if isinstance(error, TimeoutError):
        return CommandError(f"posd at {url} did not answer in time", EXIT_USAGE)
    return CommandError(f"lost the connection to posd at {url}: {str(error) or type(error).__name__}", EXIT_USAGE)


def _os_reason(error: OSError) -> str:
    if error.errno is not None:
        return os.strerror(error.errno)  # "Connection refused", not asyncio's "Connect call failed (…)"
    return error.strerror or str(error) or type(error).__name__


def problem_error(status: int, reason: str | None, content_type: str, raw: bytes) -> CommandError:
    """A problem+json answer as ``code: detail`` (exit 1; 2 when the token or address is the problem)."""
    problem: Any = None
    if content_type in ("application/problem+json", "application/json"):
        try:
            problem = json.loads(raw)
        except ValueError:
            problem = None
    if not isinstance(problem, dict) or "code" not in problem:
        return CommandError(f"posd answered HTTP {status} {reason or ''}".rstrip(), EXIT_FAILED)
    code = str(problem["code"])
    message = f"{code}: {problem.get('detail') or problem.get('title') or status}"
    if code == "unauthorized":
        message += " (check --token, or that --state-dir is this posd's state directory)"
    return CommandError(message, EXIT_USAGE if code in USAGE_PROBLEMS else EXIT_FAILED)


# -- the commands -------------------------------------------------------------------------------------------
async def cmd_status(client: Client, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    health = await client.call("GET", "/api/v1/health")
    devices = (await client.call("GET", "/api/v1/devices"))["devices"]
    counts = health["devices"]
    print(
        f"posd {health['version']} at {client.url}, up {format_duration(float(health['uptime_s']))}: "
        f"{counts['ready']} of {counts['total']} devices ready",
        file=out,
    )
    if not devices:
        print("no devices (configure them in posd.toml, or plug in a known one)", file=out)
        return EXIT_OK
    rows = [("ID", "KIND", "DRIVER", "STATE", "REASON")]
    rows += [(d["id"], d["kind"], d["driver"], d["state"], d.get("reason") or "") for d in devices]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        cells = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
        print(f"{cells}  {row[4]}".rstrip(), file=out)
    return EXIT_OK


def format_duration(seconds: float) -> str:
    total = int(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


async def cmd_watch(client: Client, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Print events until Ctrl-C (or --count); after a dropped connection, resume with since= the last seen."""
    return await Watch(client, args, out, err).run()


class _Restarted(Exception):
    """posd was restarted while we were away: its event numbers began again."""


class Watch:
    def __init__(self, client: Client, args: argparse.Namespace, out: TextIO, err: TextIO) -> None:
        self.client = client
        self.args = args
        self.out = out
        self.err = err
        self.since: int | None = args.since
        self.shown = 0
        self.connected = False
        self.retrying = False

    def note(self, text: str) -> None:
        print(f"posd: {text}", file=self.err, flush=True)

    async def run(self) -> int:
        delay = WATCH_RETRY_FIRST_S
        while True:
            try:
                why = await self.session()
                if why is None:
                    return EXIT_OK
                self.note(f"{why}; reconnecting")
                delay = WATCH_RETRY_FIRST_S
            except _Restarted:
                continue
            except CommandError as error:
                if not self.connected or not isinstance(error.__cause__, aiohttp.ClientError | TimeoutError):
                    raise
                self._retrying(str(error))
            except (aiohttp.ClientError, ConnectionError, TimeoutError) as error:
                if not self.connected:
                    raise connection_error(self.client.url, error) from error
                self._retrying(str(connection_error(self.client.url, error)))
            await asyncio.sleep(delay)
            delay = min(delay * 2, WATCH_RETRY_MAX_S)

    def _retrying(self, why: str) -> None:
        """Say once why we are retrying, not at every attempt (posd may be down for a while)."""
        if not self.retrying:
            self.retrying = True
            self.note(f"{why}; retrying every {WATCH_RETRY_MAX_S:g}s at most")

    async def session(self) -> str | None:
        """One connection: print its events. None when --count is reached, else why the connection ended."""
        params = {k: v for k, v in (("topics", self.args.topics), ("devices", self.args.devices)) if v}
        if self.since is not None:
            params["since"] = str(self.since)
        async with self.client.events(params) as ws:
            hello = await _receive_json(ws, self.client.timeout)
            if hello.get("type") != "hello":
                raise CommandError(f"unexpected first message from posd: {hello}", EXIT_FAILED)
            latest = int(hello["seq"])
            if self.since is not None and latest < self.since:
                # A restarted posd numbers its events from 1 again: everything it holds is new to us.
                self.note(f"posd restarted (its events now end at #{latest}); replaying them")
                self.since = 0
                raise _Restarted
            if self.connected:
                resume = f"resuming after event #{self.since}" if self.since else "replaying from posd's first event"
                self.note(f"reconnected; {resume}")
                self.retrying = False
            else:
                self.note(
                    f"watching {self.args.topics or 'all topics'} at {self.client.url} "
                    f"(latest event #{latest}); Ctrl-C to stop"
                )
            self.connected = True
            while True:
                message = await ws.receive()
                if message.type is not aiohttp.WSMsgType.TEXT:
                    break
                if self.show(message.data):
                    return None
            code = ws.close_code
        if code in WS_REFUSALS:
            raise CommandError(f"posd closed the event stream: {close_text(message, code)}", EXIT_USAGE)
        return f"closed by posd ({code})" if code is not None else "connection lost"

    def show(self, text: str) -> bool:
        """Print one frame; True once --count events were shown."""
        frame = json.loads(text)
        if frame.get("type") == "gap":
            self.note(f"missed events #{frame['from'] + 1}..#{frame['to'] - 1} (no longer held by posd)")
            return False
        if "seq" not in frame:
            return False  # pong and other control messages
        self.since = int(frame["seq"])
        print(text if self.args.json else format_event(frame), file=self.out, flush=True)
        self.shown += 1
        return self.args.count is not None and self.shown >= self.args.count


async def _receive_json(ws: aiohttp.ClientWebSocketResponse, timeout: float) -> dict[str, Any]:
    message = await ws.receive(timeout=timeout)
    if message.type is not aiohttp.WSMsgType.TEXT:
        code = ws.close_code
        if code in WS_REFUSALS:
            raise CommandError(f"posd closed the event stream: {close_text(message, code)}", EXIT_USAGE)
        raise aiohttp.ServerDisconnectedError(f"event stream closed ({code})")
    data: dict[str, Any] = json.loads(message.data)
    return data


def close_text(message: aiohttp.WSMessage, code: int | None) -> str:
    """The server's reason for closing (``unauthorized: invalid token``), else what the close code means."""
    if message.type is aiohttp.WSMsgType.CLOSE and isinstance(message.extra, str) and message.extra:
        return message.extra
    return WS_REFUSALS.get(code or 0, f"close code {code}")


def printable(text: str) -> str:
    """Scanned data may hold control characters (GS in GS1 codes): show them, never send them to the terminal."""
    return "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text)


def format_event(event: Mapping[str, Any]) -> str:
    try:
        stamp = datetime.fromisoformat(str(event["time"])).astimezone().strftime("%H:%M:%S.%f")[:-3]
    except (KeyError, ValueError):
        stamp = "--:--:--.---"
    data = event.get("data") or {}
    topic = str(event.get("topic"))
    return f"{stamp} #{event.get('seq')} {topic} {event.get('device') or '-'}: {describe_event(topic, data)}"


def _scan(data: Mapping[str, Any]) -> str:
    text = f"{data.get('symbology')} {printable(str(data.get('data')))}"
    if data.get("aim"):
        text += f" (AIM {data['aim']})"
    if data.get("gs1"):
        text += " GS1 " + " ".join(f"({ai}){printable(str(v))}" for ai, v in data["gs1"].items())
    return text


def _weight(data: Mapping[str, Any]) -> str:
    return f"{data.get('value')} {data.get('unit')} {data.get('status')}"


def _state(data: Mapping[str, Any]) -> str:
    return str(data.get("state")) + (f": {data['reason']}" if data.get("reason") else "")


def _job(data: Mapping[str, Any]) -> str:
    reason = f" ({data['reason']})" if data.get("reason") else ""
    return f"job {data.get('id')} {data.get('state')}{reason}" + (" [copy]" if data.get("copy") else "")


def _drawer(data: Mapping[str, Any]) -> str:
    return ("opened" if data.get("opened") else "closed") if "opened" in data else _generic(data)


def _generic(data: Mapping[str, Any]) -> str:
    if all(not isinstance(v, dict | list) for v in data.values()):
        return " ".join(f"{k}={v}" for k, v in data.items())
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


_DESCRIBE = {
    "scanner.scan": _scan,
    "scale.weight": _weight,
    "device.state": _state,
    "printer.job": _job,
    "drawer.status": _drawer,
}


def describe_event(topic: str, data: Mapping[str, Any]) -> str:
    """One short, readable line per event; topics without a form of their own as key=value."""
    return _DESCRIBE.get(topic, _generic)(data)


def build_test_receipt(printer: str, version: str) -> dict[str, Any]:
    now = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S %z")
    return {
        "blocks": [
            {"type": "text", "text": "posd test print", "align": "center", "bold": True},
            {"type": "rule"},
            {"type": "row", "left": "Printer", "right": printer},
            {"type": "row", "left": "Host", "right": socket.gethostname()},
            {"type": "row", "left": "Time", "right": now},
            {"type": "row", "left": "posd", "right": version},
            {"type": "rule"},
            # Accented Latin and currency signs: a wrong code page shows here at once.
            {"type": "text", "text": "Ação ñ ç ß £ €"},
            {"type": "text", "text": "If you can read this, the printer works."},
            {"type": "feed", "lines": 2},
            {"type": "cut"},
        ]
    }


async def cmd_test_print(client: Client, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    version = (await client.call("GET", "/api/v1/health"))["version"]
    # A key of our own: if this request is retried by a proxy or a flaky link, it still prints once.
    key = f"posd-test-print-{secrets.token_hex(8)}"
    answer = await client.call(
        "POST",
        f"/api/v1/printers/{args.printer}/jobs",
        body={"document": build_test_receipt(args.printer, version)},
        headers={"Idempotency-Key": key},
    )
    job = answer["job"]
    print(f"job {job['id']} queued on {args.printer}", file=out, flush=True)
    deadline = time.monotonic() + args.wait
    shown = (job["state"], job.get("reason"))
    while job["state"] not in FINAL_JOB_STATES:
        if time.monotonic() >= deadline:
            return await _give_up(client, job, args.wait, out)
        await asyncio.sleep(JOB_POLL_S)  # a client polling its job; the daemon is not held up by this
        job = (await client.call("GET", f"/api/v1/jobs/{job['id']}"))["job"]
        if (job["state"], job.get("reason")) != shown:
            shown = (job["state"], job.get("reason"))
            reason = f" ({job['reason']})" if job.get("reason") else ""
            print(f"job {job['id']}: {job['state']}{reason}", file=out, flush=True)
    if job["state"] == "done":
        print(f"printed: job {job['id']} done on {args.printer}", file=out)
        return EXIT_OK
    reason = f": {job['reason']}" if job.get("reason") else ""
    print(f"job {job['id']} {job['state']}{reason}", file=out)
    return EXIT_FAILED


async def _give_up(client: Client, job: Mapping[str, Any], waited: float, out: TextIO) -> int:
    """A test page that prints an hour later surprises everyone: cancel it if it has not started."""
    reason = f" ({job['reason']})" if job.get("reason") else ""
    try:
        cancelled = (await client.call("DELETE", f"/api/v1/jobs/{job['id']}"))["job"]
        outcome = "cancelled it" if cancelled["state"] == "cancelled" else f"it is {cancelled['state']}"
    except CommandError as error:
        outcome = f"could not cancel it: {error}"
    print(f"job {job['id']} still {job['state']}{reason} after {waited:g}s; {outcome}", file=out)
    return EXIT_FAILED


async def cmd_weight(client: Client, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    params = {"stable": "true" if args.stable else "false", "timeout_ms": str(args.timeout_ms)}
    weight = (
        await client.call(
            "GET", f"/api/v1/scales/{args.scale}/weight", params=params, timeout=client.timeout + args.timeout_ms / 1000
        )
    )["weight"]
    print(f"{weight['value']} {weight['unit']} ({weight['status']})", file=out)
    return EXIT_OK


async def cmd_health(client: Client, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    result = await client.call(
        "POST",
        f"/api/v1/devices/{args.device}/health",
        body={"level": args.level},
        timeout=max(client.timeout, 30.0) if args.level == "external" else None,
    )
    verdict = "OK" if result["ok"] else "FAILED"
    print(f"{args.device}: {verdict} ({args.level}): {result['text']}", file=out)
    return EXIT_OK if result["ok"] else EXIT_FAILED


async def cmd_bundle(client: Client, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    params = {"events": str(args.events)} if args.events is not None else None
    data, headers = await client.fetch("GET", "/api/v1/diagnostics", params=params, timeout=max(client.timeout, 60.0))
    name = bundle_filename(headers.get("Content-Disposition", ""))
    if args.output is not None and str(args.output) == "-":
        binary = getattr(out, "buffer", None)
        if binary is None:
            raise CommandError("-o -: this output cannot take binary data", EXIT_USAGE)
        binary.write(data)
        binary.flush()
        print(f"posd: {name}: {len(data)} bytes written to stdout", file=err)
        return EXIT_OK
    path = args.output or Path(name)
    if path.is_dir():
        path = path / name
    try:
        write_private(path, data)
    except OSError as error:
        raise CommandError(f"cannot write {path}: {error.strerror or error}", EXIT_USAGE) from error
    print(f"wrote {path} ({len(data)} bytes)", file=out)
    return EXIT_OK


def bundle_filename(disposition: str) -> str:
    """The server's name for the bundle, reduced to a plain file name (never a path it could choose)."""
    match = re.search(r'filename="?([^";]+)"?', disposition)
    name = Path(match.group(1)).name if match else ""
    return name if re.fullmatch(r"[A-Za-z0-9._-]+\.zip", name) else "posd-support.zip"


def write_private(path: Path, data: bytes) -> None:
    """Mode 0600: the bundle is redacted, but still holds the till's configuration and logs."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


_COMMANDS = {
    "status": cmd_status,
    "watch": cmd_watch,
    "test-print": cmd_test_print,
    "weight": cmd_weight,
    "health": cmd_health,
    "bundle": cmd_bundle,
}
