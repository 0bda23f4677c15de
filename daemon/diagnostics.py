"""The support bundle: one zip with what is needed to see why a till misbehaves (like Home Assistant diagnostics).

Contents (each file in a folder named like the archive):

- ``summary.json`` — posd and Python versions, platform and kernel, hostname, uptime, state dir, config file;
- ``config.json`` — the effective configuration (file + environment + command line), secrets redacted;
- ``devices.json`` — every device: state and reason, driver, transport (configured and as opened), options,
  status, statistics, supervision;
- ``drivers.json`` — the driver registry (built-in and plug-ins) and the plug-ins that failed to load;
- ``events.jsonl`` — the newest events of the bus's replay ring;
- ``logs.jsonl`` — the newest log records (:mod:`daemon.logring`);
- ``jobs.json`` — print jobs: counts by printer and state, the newest jobs (never their documents);
- ``audit.json`` — the audit chain's head and a verification of the whole chain;
- ``hotplug.json`` — what hot-plug saw and added.

Everything passes through :func:`redact` before it is written, and the packed files are checked for every
known token value (and its SHA-256) as a last guard: a bundle is mailed around, a token in it is a leak.

Gathering runs on the event loop but only reads memory and awaits the databases' own threads; redacting
the large parts, serializing and compressing run in a worker thread so the loop keeps serving scans.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import io
import json
import logging
import os
import re
import socket
import sys
import time
from collections.abc import Awaitable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from daemon.events import encode_json
from daemon.logring import LogEntry

if TYPE_CHECKING:
    from daemon.service import Daemon

_LOGGER = logging.getLogger(__name__)

BUNDLE_FORMAT = 1
REDACTED = "**REDACTED**"
DEFAULT_EVENTS = 1000
DEFAULT_JOBS = 50

#: Keys whose values are credentials wherever they appear (configuration, device options, environment).
#: "token" and "auth" only as a whole word at the end, so ``tokens`` (the table of names and scopes) and
#: ``no_sale_tokens`` (token names) stay readable while ``secret``, ``admin_token``, ``password`` do not.
SENSITIVE_KEY = re.compile(
    r"secret|passw|passphrase|credential|private.?key|api.?key|cookie|authorization"
    r"|(?:^|[^a-z])(?:token|auth)(?:.?(?:hash|digest))?$",
    re.IGNORECASE,
)
# A credential-shaped word after "Bearer" (not the English "bearer token" of an error message).
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{8,}")
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]+@")


def _scrub_text(text: str, secrets: Collection[str]) -> str:
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    text = _BEARER.sub(rf"\g<1>{REDACTED}", text)
    return _URL_USERINFO.sub(rf"\g<1>{REDACTED}@", text)


def redact(value: Any, secrets: Iterable[str] = (), *, sensitive: bool = False) -> Any:
    """A redacted deep copy of JSON-like ``value``: the one redaction every part of the bundle goes through.

    - under a key that names a credential (:data:`SENSITIVE_KEY`) every string and number is replaced,
      however deeply nested;
    - every occurrence of a known secret (``secrets``: token values, their digests) in any string or key is
      replaced, wherever it hides (a log message, a device reason, an event);
    - ``Bearer <anything>`` and the user:password part of URLs are replaced.

    Unknown objects are turned into their ``str()`` first, so nothing leaves unexamined.
    """
    ordered = sorted({s for s in secrets if s}, key=len, reverse=True)  # longest first: no partial leftovers
    return _redact(value, ordered, sensitive)


def _redact(value: Any, secrets: list[str], sensitive: bool) -> Any:
    if isinstance(value, Mapping):
        return {
            _scrub_text(str(key), secrets): _redact(item, secrets, sensitive or bool(SENSITIVE_KEY.search(str(key))))
            for key, item in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [_redact(item, secrets, sensitive) for item in value]
    if value is None or isinstance(value, bool):
        return value
    if sensitive:
        return REDACTED
    if isinstance(value, int | float):
        return value
    return _scrub_text(value if isinstance(value, str) else str(value), secrets)


def known_secrets(daemon: Daemon) -> set[str]:
    """Every token value the daemon holds, and the hex SHA-256 of each (the form the token store keeps)."""
    values = {daemon.admin_token, *(t.secret.get_secret_value() for t in daemon.config.tokens.values())}
    values.discard("")
    return values | {hashlib.sha256(v.encode()).hexdigest() for v in values}


@dataclass(frozen=True)
class SupportBundle:
    filename: str
    data: bytes
    media_type: str = "application/zip"


def bundle_name(hostname: str, when: datetime) -> str:
    host = re.sub(r"[^A-Za-z0-9.-]+", "-", hostname).strip(".-")[:63] or "unknown"
    return f"posd-support-{host}-{when.astimezone(UTC):%Y%m%dT%H%M%SZ}"


async def build_bundle(
    daemon: Daemon,
    *,
    events: int = DEFAULT_EVENTS,
    jobs: int = DEFAULT_JOBS,
    server: Mapping[str, Any] | None = None,
) -> SupportBundle:
    """Gather, redact and zip the support bundle. ``server``: what the HTTP front end adds (its address)."""
    generated = datetime.now(UTC)
    hostname = socket.gethostname()
    name = bundle_name(hostname, generated)
    secrets = known_secrets(daemon)
    # Small documents are redacted here, on the loop: redact() deep-copies, so the worker thread below never
    # reads a dict the loop may change meanwhile. Events (immutable bytes) and log entries (frozen) go as they are.
    documents: dict[str, Any] = {
        "config.json": redact(_config(daemon), secrets),
        "devices.json": redact(_devices(daemon), secrets),
        "drivers.json": redact(_drivers(daemon), secrets),
        "jobs.json": redact(await _section("jobs", daemon.printing.journal.summary(jobs)), secrets),
        "audit.json": redact(await _section("audit", _audit(daemon)), secrets),
        "hotplug.json": redact(_hotplug(daemon), secrets),
    }
    frames = [event.frame for event in daemon.bus.tail(events)]
    logs = daemon.log_ring.snapshot()
    posd = {
        "version": daemon.version,
        "pid": os.getpid(),
        "started": datetime.fromtimestamp(time.time() - daemon.uptime_s, UTC).isoformat(timespec="seconds"),
        "uptime_s": round(daemon.uptime_s, 3),
        "simulate": daemon.simulate,
        "state_dir": str(daemon.state_dir),
        "config_file": daemon.loaded.source,
        "log_level": daemon.config.log_level,
        "server": dict(server or {}),
        "devices": _state_counts(daemon),
        "events": {
            "latest_seq": daemon.bus.latest_seq,
            "held": daemon.bus.ring_length,
            "subscribers": daemon.bus.subscriber_count,
        },
        "logs": {"held": len(logs), "dropped": daemon.log_ring.dropped},
    }
    environment = {k: v for k, v in os.environ.items() if k.startswith("POSD_")}
    summary = redact({"posd": posd, "environment": environment}, secrets)
    data = await asyncio.to_thread(
        functools.partial(
            _pack,
            name=name,
            generated=generated,
            hostname=hostname,
            summary=summary,
            documents=documents,
            frames=frames,
            logs=logs,
            secrets=secrets,
        )
    )
    return SupportBundle(f"{name}.zip", data)


async def _section(name: str, gather: Awaitable[Any]) -> Any:
    """A part that fails (a damaged database) is reported in its file; the bundle is most needed then."""
    try:
        return await gather
    except Exception as err:
        _LOGGER.exception("support bundle: cannot gather %s", name)
        return {"error": f"{type(err).__name__}: {err}"}


def _config(daemon: Daemon) -> dict[str, Any]:
    return {"source": daemon.loaded.source, "effective": daemon.config.model_dump(mode="json")}


def _devices(daemon: Daemon) -> dict[str, Any]:
    out = []
    for device in daemon.manager.devices():
        resolved = device.resolved
        driver = type(device.driver)
        task = device.task
        try:
            described = device.describe()
        except Exception as err:  # a driver's status() must not cost the technician the whole bundle
            described = {"id": device.device_id, "describe_error": f"{type(err).__name__}: {err}"}
        out.append(
            {
                **described,
                "driver_class": f"{driver.__module__}.{driver.__qualname__}",
                "enabled": resolved.config.enabled,
                "configured_transport": resolved.config.transport.model_dump(mode="json"),
                "options": resolved.options.model_dump(mode="json"),
                "supervision": {
                    "in_session": device.in_session,
                    "session_active": device.session_active,
                    "unplugged": device.unplugged,
                    "task": None if task is None else ("done" if task.done() else "running"),
                },
            }
        )
    return {"devices": out}


def _state_counts(daemon: Daemon) -> dict[str, int]:
    counts: dict[str, int] = {"total": 0}
    for device in daemon.manager.devices():
        counts["total"] += 1
        counts[device.state.value] = counts.get(device.state.value, 0) + 1
    return counts


def _drivers(daemon: Daemon) -> dict[str, Any]:
    registry = daemon.registry
    return {
        "drivers": [
            {
                "name": spec.name,
                "kind": spec.driver.kind.value,
                "description": spec.description,
                "simulator": spec.has_simulator,
                "origin": registry.origin(spec.name),
            }
            for spec in registry.specs()
        ],
        "failed_plugins": [
            {"name": failure.name, "value": failure.value, "error": failure.error}
            for failure in registry.failed_plugins
        ],
    }


async def _audit(daemon: Daemon) -> dict[str, Any]:
    head_id, head_hash = await daemon.audit.head()
    report = await daemon.audit.verify()
    return {
        "path": str(daemon.audit.path),
        "head": {"id": head_id, "hash": head_hash},
        "verify": {
            "ok": report.ok,
            "records": report.records,
            "broken_id": report.broken_id,
            "problem": report.problem,
            "text": report.text(),
        },
    }


def _hotplug(daemon: Daemon) -> dict[str, Any]:
    configured = {"enabled": daemon.config.hotplug.enabled, "discover": daemon.config.hotplug.discover}
    if daemon.hotplug is None:
        why = "disabled in configuration" if not daemon.config.hotplug.enabled else "no udev (see the logs)"
        return {**configured, "running": False, "why": why}
    return {**configured, **daemon.hotplug.describe()}


# -- the worker thread ----------------------------------------------------------------------------------
def _system(hostname: str) -> dict[str, Any]:
    import platform  # only here: the daemon's idle memory has no room for modules it rarely uses

    uname = os.uname()
    out: dict[str, Any] = {
        "hostname": hostname,
        "platform": platform.platform(),
        "kernel": f"{uname.sysname} {uname.release} {uname.version}",
        "machine": uname.machine,
        "cpus": os.cpu_count(),
        "system_uptime_s": None,
        "os_release": None,
    }
    with contextlib.suppress(OSError):
        out["os_release"] = platform.freedesktop_os_release().get("PRETTY_NAME")
    try:  # absent under systemd's ProcSubset=pid
        with open("/proc/uptime", encoding="ascii") as fh:
            out["system_uptime_s"] = float(fh.read().split()[0])
    except (OSError, ValueError, IndexError):
        pass
    return out


def _python() -> dict[str, Any]:
    import platform

    return {"version": sys.version, "implementation": platform.python_implementation(), "executable": sys.executable}


def _json(value: Any) -> bytes:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str).encode() + b"\n"


def _pack(
    *,
    name: str,
    generated: datetime,
    hostname: str,
    summary: dict[str, Any],
    documents: dict[str, Any],
    frames: list[bytes],
    logs: list[LogEntry],
    secrets: Collection[str],
) -> bytes:
    import zipfile  # only when a bundle is made (see _system)

    members: dict[str, bytes] = {}
    summary = {
        "bundle": {"format": BUNDLE_FORMAT, "name": name, "generated": generated.isoformat(timespec="seconds")},
        **summary,
        "python": _python(),
        "system": redact(_system(hostname), secrets),
    }
    files = ["summary.json", *documents, "events.jsonl", "logs.jsonl"]
    summary["bundle"]["files"] = files
    members["summary.json"] = _json(summary)
    for filename, document in documents.items():
        members[filename] = _json(document)
    members["events.jsonl"] = b"".join(encode_json(redact(json.loads(frame), secrets)) + b"\n" for frame in frames)
    members["logs.jsonl"] = b"".join(encode_json(redact(entry.public(), secrets)) + b"\n" for entry in logs)

    # The last guard: whatever path a secret took, it must not be in what we hand out.
    needles = [s.encode() for s in secrets]
    for filename, content in members.items():
        if any(needle in content for needle in needles):
            raise RuntimeError(f"support bundle: {filename} still holds a secret after redaction; not sent")

    buffer = io.BytesIO()
    stamp = generated.timetuple()[:6]
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for filename, content in members.items():
            info = zipfile.ZipInfo(f"{name}/{filename}", date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16  # unpacked files readable by the technician only
            archive.writestr(info, content)
    return buffer.getvalue()
