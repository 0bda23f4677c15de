"""``posd`` command line. This is the composition root: the one module that wires the api package to the daemon."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import sqlite3
import sys
from pathlib import Path
from typing import Any

from daemon import __version__, install, technician
from daemon.audit import AUDIT_DB, verify_database
from daemon.config import LoadedConfig, default_state_dir, load_config
from daemon.reference import config_reference
from daemon.service import Daemon
from daemon.simulate import select_from_command_line
from drivers.errors import ConfigError
from drivers.registry import DriverRegistry

_LOGGER = logging.getLogger("posd")

#: How long a thread may hold the GIL while another waits for it (Python default 5 ms).
SWITCH_INTERVAL_S = 0.0005


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="posd", description="Point-of-sale hardware daemon")
    parser.add_argument("--version", action="version", version=f"posd {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the daemon")
    serve.add_argument("--config", type=Path, help="TOML config file (default /etc/posd/posd.toml, or $POSD_CONFIG)")
    serve.add_argument(
        "--simulate",
        action="store_true",
        help="add simulated devices: those of [simulate] in the config, else one of each kind",
    )
    # One shorthand for "try this device" and one for the demo; a selection with ids, options or peers belongs in
    # the [simulate] section, where it is validated and documented like every other key.
    selection = serve.add_mutually_exclusive_group()
    selection.add_argument(
        "--simulate-driver",
        action="append",
        default=[],
        metavar="DRIVER",
        help="simulate a device of this driver (repeatable; implies --simulate; replaces [simulate])",
    )
    selection.add_argument(
        "--simulate-all",
        action="store_true",
        help="simulate one device of every driver that has a simulator (implies --simulate)",
    )
    serve.add_argument("--host", help="bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 7117; 0 picks a free one)")
    serve.add_argument("--state-dir", type=Path, help="state directory (tokens, databases)")
    serve.add_argument("--check-config", action="store_true", help="validate the configuration and exit")
    commands.add_parser("drivers", help="list the drivers this installation knows")
    commands.add_parser("config-reference", help="print the configuration reference (Markdown)")
    install.add_commands(commands)
    technician.add_commands(commands)
    audit = commands.add_parser("audit", help="the cash-drawer audit log").add_subparsers(dest="audit", required=True)
    verify = audit.add_parser("verify", help="check the hash chain and report the first broken record")
    verify.add_argument("--config", type=Path, help="TOML config file (for state_dir)")
    verify.add_argument("--state-dir", type=Path, help="state directory holding audit.db")
    verify.add_argument("--file", type=Path, help="the audit database itself (default <state-dir>/audit.db)")
    verify.add_argument(
        "--expect-head", metavar="ID:HASH", help="a head kept elsewhere; catches a rewritten or cut-off tail"
    )
    return parser


def _audit_verify(args: argparse.Namespace, registry: DriverRegistry) -> int:
    """Exit 0: intact; 1: broken (the first broken record is named); 2: cannot check."""
    expect: tuple[int, str] | None = None
    if args.expect_head:
        head_id, _, head_hash = args.expect_head.partition(":")
        if not head_id.isdigit() or len(head_hash) != 64:
            print("posd: --expect-head must be ID:HASH (the id and 64-hex hash of a record)", file=sys.stderr)
            return 2
        expect = (int(head_id), head_hash.lower())
    path: Path = args.file
    if path is None:
        state_dir = args.state_dir
        if state_dir is None:
            try:
                state_dir = load_config(args.config, registry).config.state_dir or default_state_dir()
            except ConfigError as err:
                print(f"posd: configuration error:\n{err}", file=sys.stderr)
                return 2
        path = state_dir / AUDIT_DB
    try:
        report = verify_database(path, expect)
    except FileNotFoundError:
        print(f"posd: no audit log at {path}", file=sys.stderr)
        return 2
    except (OSError, sqlite3.Error) as err:
        print(f"posd: cannot read the audit log {path}: {err}", file=sys.stderr)
        return 2
    print(f"{path}: {report.text()}")
    return 0 if report.ok else 1


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    server = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    if server:
        overrides["server"] = server
    if args.state_dir is not None:
        overrides["state_dir"] = str(args.state_dir)
    return overrides


def _simulating(args: argparse.Namespace) -> bool:
    return bool(args.simulate or args.simulate_driver or args.simulate_all)


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper()),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _serve(args: argparse.Namespace, loaded: LoadedConfig, registry: DriverRegistry) -> int:
    from api.server import HttpServer, serve  # composition root: the only daemon module that knows the API

    simulate = _simulating(args)
    daemon = Daemon(loaded, registry, simulate=simulate)
    # Worker threads render and validate jobs while the loop delivers scans. When the loop wants the GIL
    # back it waits up to one switch interval, and it gives it up at every socket syscall: with the default
    # 5 ms a scan waited ~5 ms per handover while a big job was being parsed.
    sys.setswitchinterval(SWITCH_INTERVAL_S)

    def ready(http: HttpServer) -> None:
        # What was built until now lives as long as the daemon: move it out of the collector's reach, so a
        # full collection walks only what came later. Measured in simulate mode: 23-29 ms before, 1.5 ms
        # with a full event ring after; a pause that long would land on whichever scan is in flight.
        gc.freeze()
        mode = " (simulate mode)" if simulate else ""
        print(f"posd {__version__} ready on {http.url}{mode}", flush=True)
        print(f"admin token: {daemon.state_dir / 'admin.token'}", flush=True)

    try:
        asyncio.run(serve(daemon, None, None, ready))
    except OSError as err:
        print(f"posd: cannot listen on {loaded.config.server.host}:{loaded.config.server.port}: {err}", file=sys.stderr)
        return 1
    except ConfigError as err:
        print(f"posd: configuration error:\n{err}", file=sys.stderr)
        return 2
    return 0


def main(argv: list[str] | None = None) -> int:  # noqa: PLR0911 - one exit per command
    args = build_parser().parse_args(argv)
    try:
        registry = DriverRegistry.with_plugins()
    except ConfigError as err:
        print(f"posd: {err}", file=sys.stderr)
        return 2
    if args.command == "drivers":
        for spec in registry.specs():
            sim = " (simulator)" if spec.has_simulator else ""
            print(f"{spec.name:<18} {spec.driver.kind.value:<8} {spec.description}{sim}")
        return 0
    if (status := install.run_command_line(args)) is not None:
        return status
    if (status := technician.run_command_line(args, registry)) is not None:
        return status
    if args.command == "audit":
        return _audit_verify(args, registry)
    if args.command == "config-reference":
        print(config_reference(registry), end="")
        return 0
    try:
        loaded = load_config(args.config, registry, overrides=_overrides(args))
        select_from_command_line(loaded, registry, args.simulate_driver, args.simulate_all)
    except ConfigError as err:
        print(f"posd: configuration error:\n{err}", file=sys.stderr)
        return 2
    if args.check_config:
        simulated = f", {len(loaded.simulated)} simulated" if _simulating(args) else ""
        print(f"{loaded.source}: OK ({len(loaded.devices)} devices{simulated})")
        return 0
    _configure_logging(loaded.config.log_level)
    return _serve(args, loaded, registry)


if __name__ == "__main__":
    sys.exit(main())
