"""Configuration: a TOML file plus ``POSD_*`` environment overrides, validated by pydantic.

Every error names where the bad value came from (the file, or the environment variable), the key,
and what is wrong, e.g. ``/etc/posd/posd.toml: devices[1] (id 'scale-1').transport.baudrate: Input
should be greater than 0``.

Environment overrides: ``POSD_<KEY>`` for top-level keys and ``POSD_<SECTION>__<KEY>`` for nested ones
(``POSD_SERVER__PORT=7200``). Values are read as TOML values when they parse as one (numbers, booleans,
arrays), otherwise as strings. ``POSD_CONFIG`` names the config file.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from drivers.errors import ConfigError
from drivers.models import DeviceKind
from drivers.registry import DriverRegistry, DriverSpec
from drivers.simulated import DEFAULT_SIMULATED_DEVICES, SimulatedDevice
from drivers.transports import PeerSettings, TransportSettings

DEFAULT_CONFIG_PATH = Path("/etc/posd/posd.toml")
DEFAULT_PORT = 7117
ENV_PREFIX = "POSD_"
ENV_CONFIG_PATH = "POSD_CONFIG"

DEVICE_ID_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,63}$"

Scope = Literal["print", "display", "scale", "scanner", "drawer", "admin"]
SCOPES: tuple[Scope, ...] = ("print", "display", "scale", "scanner", "drawer", "admin")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServerConfig(_Strict):
    host: str = Field(
        "127.0.0.1", description="Bind address. Loopback by default; anything else is a deliberate choice."
    )
    port: int = Field(DEFAULT_PORT, ge=0, lt=65536, description="TCP port; 0 picks a free one (tests).")
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Extra Host header values accepted (besides 127.0.0.1, localhost and [::1] on the bound port).",
    )
    allowed_origins: list[str] = Field(
        default_factory=list,
        description="Browser origins allowed to call the API, compared by exact string equality.",
    )
    max_body_bytes: int = Field(4 * 1024 * 1024, gt=0, description="Largest request body (413 body_too_large).")
    max_ws_message_bytes: int = Field(64 * 1024, gt=0, description="Largest WebSocket message from a client.")
    ws_heartbeat_s: float = Field(20.0, gt=0, description="WebSocket ping interval; no pong closes the socket.")
    ws_auth_timeout_s: float = Field(5.0, gt=0, description="Time a WebSocket client has to send its auth message.")
    shutdown_timeout_s: float = Field(5.0, gt=0, description="How long in-flight requests may finish on shutdown.")

    @field_validator("allowed_origins")
    @classmethod
    def _origins_are_exact(cls, origins: list[str]) -> list[str]:
        for origin in origins:
            if origin.endswith("/") or "://" not in origin or "*" in origin:
                raise ValueError(f"{origin!r} is not an origin like 'https://pos.example.com' (no path, no wildcard)")
        return origins


class EventsConfig(_Strict):
    ring_size: int = Field(16384, ge=10000, description="Events kept for replay with since=.")
    subscriber_soft_limit: int = Field(
        1024, gt=0, description="Pending events above which a slow client gets a grace period."
    )
    subscriber_hard_limit: int = Field(8192, gt=0, description="Pending events at which a client is cut off at once.")
    slow_grace_s: float = Field(
        4.0, gt=0, description="How long a client may stay over the soft limit, or make no progress sending."
    )


class SupervisorConfig(_Strict):
    backoff_initial_s: float = Field(0.5, gt=0, description="First retry delay after a device is lost (doubles).")
    backoff_max_s: float = Field(30.0, gt=0, description="Cap of the retry delay.")
    stable_after_s: float = Field(10.0, gt=0, description="A session this long resets the backoff.")
    open_timeout_s: float = Field(3.0, gt=0, description="Time allowed to open a transport.")


class PrintingConfig(_Strict):
    uncertain_policy: Literal["reprint", "hold"] = Field(
        "reprint",
        description="A job interrupted while sending (crash, power cut) may or may not have printed: reprint it "
        "marked COPY, or hold it for the operator.",
    )
    retention_h: float = Field(168.0, ge=24, description="How long finished jobs and their idempotency keys are kept.")
    strict_encoding: bool = Field(
        False, description="Refuse documents with characters the printer cannot print (else print a replacement)."
    )
    replacement: str = Field("?", min_length=1, max_length=1, description="Printed for characters the printer lacks.")
    raw_kick_expiry_s: float = Field(
        5.0,
        gt=0,
        description="A drawer kick inside a raw job fires only on the job's first attempt within this long of its "
        "acceptance; a held, late or reprinted job goes out with its kick removed (kicks are at-most-once).",
    )


class HotplugConfig(_Strict):
    enabled: bool = Field(
        True,
        description="Watch udev (netlink, Linux) for devices plugged in and out: a configured device that comes "
        "back is retried at once, one that goes is marked offline at once.",
    )
    discover: bool = Field(
        True,
        description="Add devices of the known-device table that are not configured when they appear, with ids "
        "<kind>-<vendor>-<product>-<serial>.",
    )


class DrawersConfig(_Strict):
    no_sale_tokens: list[str] = Field(
        default_factory=list,
        description="Token names (besides the admin token) allowed to open a drawer with reason no_sale.",
    )
    max_opens: int = Field(10, ge=1, description="Opens allowed per drawer within rate_window_s; more are refused.")
    rate_window_s: float = Field(60.0, gt=0, description="The sliding window of max_opens.")
    refusal_records_per_minute: int = Field(
        60,
        ge=1,
        description="Refused attempts recorded per drawer per minute; beyond that they are counted, and the count is "
        "written with the next recorded refusal (a hostile page cannot fill the disk).",
    )


class TokenConfig(_Strict):
    secret: SecretStr = Field(min_length=16, description="The bearer token (at least 16 characters; random).")
    scopes: list[Scope] = Field(min_length=1, description="What the token may do.")


class DeviceConfig(_Strict):
    id: str = Field(pattern=DEVICE_ID_PATTERN)
    driver: str
    name: str | None = None
    enabled: bool = True
    transport: TransportSettings
    options: dict[str, Any] = Field(default_factory=dict)


class SimulatedDeviceConfig(_Strict):
    driver: str = Field(description="A driver that has a simulator (`posd drivers` marks them).")
    id: str | None = Field(
        None,
        pattern=DEVICE_ID_PATTERN,
        description="Device id in the API. Default: `<kind>-<n>`, numbered per kind in list order (scale-1, "
        "scale-2, …), skipping ids already in use.",
    )
    name: str | None = Field(None, description="Human name. Default: the driver's description, marked (simulated).")
    options: dict[str, Any] = Field(
        default_factory=dict,
        description="The driver's own options, as under `[[devices]]`. The simulator plays the same model where the "
        "options shape the wire: printer profile, drawer pin, scanner suffix and keyboard layout, Prix variant, "
        "continuous checksum, display encoding and width.",
    )
    peer: str | None = Field(
        None,
        description="For a device reached through another (escpos-drawer, on a printer's kick connector): the id of "
        "the simulated printer it hangs on. Default: the first simulated printer listed.",
    )


class SimulateConfig(_Strict):
    all: bool = Field(
        False,
        description="One device of every driver that has a simulator (a demo, or a test of them all); devices must "
        "then be empty. `posd serve --simulate-all` does the same.",
    )
    devices: list[SimulatedDeviceConfig] = Field(
        default_factory=list,
        description="The simulated devices, one `[[simulate.devices]]` table each. Empty (and all = false): one of "
        "each kind, printer-1, drawer-1, scanner-1, scale-1 and display-1.",
    )

    @model_validator(mode="after")
    def _all_or_devices(self) -> SimulateConfig:
        if self.all and self.devices:
            raise ValueError("all = true and a devices list exclude each other: keep one")
        return self


class Config(_Strict):
    state_dir: Path | None = Field(
        None,
        description="Tokens and databases. Default: $STATE_DIRECTORY, /var/lib/posd as root, else ~/.local/state/posd.",
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="Logging threshold (stderr/journal)."
    )
    server: ServerConfig = Field(default_factory=ServerConfig)
    events: EventsConfig = Field(default_factory=EventsConfig)
    supervisor: SupervisorConfig = Field(default_factory=SupervisorConfig)
    printing: PrintingConfig = Field(default_factory=PrintingConfig)
    hotplug: HotplugConfig = Field(default_factory=HotplugConfig)
    drawers: DrawersConfig = Field(default_factory=DrawersConfig)
    tokens: dict[str, TokenConfig] = Field(default_factory=dict)
    devices: list[DeviceConfig] = Field(default_factory=list)
    simulate: SimulateConfig = Field(default_factory=SimulateConfig)

    @model_validator(mode="after")
    def _unique_ids(self) -> Config:
        seen: set[str] = set()
        for device in self.devices:
            if device.id in seen:
                raise ValueError(f"device id {device.id!r} is used twice")
            seen.add(device.id)
        return self

    @model_validator(mode="after")
    def _no_sale_tokens_exist(self) -> Config:
        unknown = [name for name in self.drawers.no_sale_tokens if name not in self.tokens]
        if unknown:
            raise ValueError(f"drawers.no_sale_tokens: {unknown} are not configured under [tokens]")
        return self


@dataclass(frozen=True)
class ResolvedDevice:
    config: DeviceConfig
    spec: DriverSpec
    options: BaseModel
    simulated: bool = False


@dataclass
class LoadedConfig:
    config: Config
    source: str
    devices: list[ResolvedDevice] = field(default_factory=list)
    simulated: tuple[SimulatedDevice, ...] = DEFAULT_SIMULATED_DEVICES
    """What simulate mode runs (checked even when not simulating, so --check-config reports a bad [simulate])."""


def default_state_dir() -> Path:
    if systemd_dir := os.environ.get("STATE_DIRECTORY"):
        return Path(systemd_dir.split(":")[0])
    if os.geteuid() == 0:
        return Path("/var/lib/posd")
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "posd"


def _env_value(raw: str) -> Any:
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def _apply_env(data: dict[str, Any], env: Mapping[str, str]) -> dict[tuple[str, ...], str]:
    """Overlay POSD_* variables on ``data``; return which key paths came from which variable."""
    origins: dict[tuple[str, ...], str] = {}
    for name in sorted(env):
        if not name.startswith(ENV_PREFIX) or name == ENV_CONFIG_PATH:
            continue
        path = tuple(part.lower() for part in name[len(ENV_PREFIX) :].split("__"))
        if not all(path):
            raise ConfigError(f"environment {name}: empty key part")
        node = data
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"environment {name}: {'.'.join(path[:-1])} is not a table")
            node = child
        node[path[-1]] = _env_value(env[name])
        origins[path] = name
    return origins


def _format_loc(loc: tuple[int | str, ...], data: Any) -> str:
    """Render a pydantic error location against the input, skipping union tags (``transport.serial``)."""
    out = ""
    node = data
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            if isinstance(node, list) and part < len(node):
                node = node[part]
                if isinstance(node, dict) and "id" in node and out.startswith("devices"):
                    out += f" (id {node['id']!r})"
            else:
                node = None
            continue
        if isinstance(node, dict) and part not in node and node.get("type") == part:
            continue  # a discriminated-union tag, not a key the user wrote
        out += f".{part}" if out else part
        node = node.get(part) if isinstance(node, dict) else None
    return out or "(top level)"


def _where(loc: tuple[int | str, ...], source: str, env_origins: Mapping[tuple[str, ...], str]) -> str:
    keys = tuple(str(p) for p in loc if isinstance(p, str))
    for path, variable in env_origins.items():
        shared = min(len(path), len(keys))
        if shared and path[:shared] == keys[:shared]:
            return f"environment {variable}"
    return source


def _validation_message(
    err: ValidationError, data: Any, source: str, env_origins: Mapping[tuple[str, ...], str]
) -> str:
    lines = []
    for item in err.errors(include_url=False):
        loc = tuple(item["loc"])
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "unknown key (check its spelling)"
        elif "input" in item and item["type"] not in ("missing",) and not isinstance(item["input"], dict | list):
            message += f" (got {item['input']!r})"
        lines.append(f"{_where(loc, source, env_origins)}: {_format_loc(loc, data)}: {message}")
    return "\n".join(lines)


def load_config(
    path: Path | None,
    registry: DriverRegistry,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> LoadedConfig:
    """Read, overlay and validate the configuration. Raises ConfigError with a message for people.

    ``path`` None means the default location, which may be absent (then defaults apply).
    ``overrides`` are command-line values (``{"server": {"port": 7200}}``), applied last.
    """
    env = os.environ if env is None else env
    explicit = path is not None or ENV_CONFIG_PATH in env
    if path is None:
        path = Path(env.get(ENV_CONFIG_PATH, str(DEFAULT_CONFIG_PATH)))
    source = str(path)
    data: dict[str, Any] = {}
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError as err:
        if explicit:
            raise ConfigError(f"{source}: no such file") from err
        source = "(defaults)"
    except PermissionError as err:
        raise ConfigError(f"{source}: cannot read: permission denied") from err
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{source}: not valid TOML: {err}") from err
    except UnicodeDecodeError as err:
        raise ConfigError(f"{source}: not UTF-8 text: {err}") from err

    env_origins = _apply_env(data, env)
    for section, values in (overrides or {}).items():
        if isinstance(values, Mapping):
            data.setdefault(section, {}).update(values)
        else:
            data[section] = values
    try:
        config = Config.model_validate(data)
    except ValidationError as err:
        raise ConfigError(_validation_message(err, data, source, env_origins)) from err

    loaded = LoadedConfig(config=config, source=source)
    for index, device in enumerate(config.devices):
        loaded.devices.append(resolve_device(device, registry, f"{source}: devices[{index}] (id {device.id!r})"))
    check_peers(loaded.devices, source)

    def locate(index: int, entry: SimulatedDeviceConfig, key: str) -> str:
        named = f" (id {entry.id!r})" if entry.id is not None else ""
        base = f"simulate.all ({entry.driver})" if config.simulate.all else f"simulate.devices[{index}]{named}"
        origin = _where(("simulate", "all" if config.simulate.all else "devices"), source, env_origins)
        return f"{origin}: {base}" + (f".{key}" if key else "")

    taken = {device.config.id for device in loaded.devices}
    loaded.simulated = resolve_simulation(config.simulate, registry, locate, taken)
    return loaded


def resolve_device(
    device: DeviceConfig, registry: DriverRegistry, where: str, simulated: bool = False
) -> ResolvedDevice:
    """Find the device's driver and validate its options against the driver's own model."""
    spec = registry.find(device.driver)
    if spec is None:
        known = ", ".join(registry.names())
        raise ConfigError(f"{where}.driver: unknown driver {device.driver!r} (known: {known})")
    # Line settings the configuration leaves out come from the device's own defaults (e.g. 7E1 scales).
    device = device.model_copy(update={"transport": spec.apply_serial_defaults(device.transport)})
    options = driver_options(spec, device.options, f"{where}.options")
    if isinstance(device.transport, PeerSettings) != spec.peer_transport:
        need = 'type = "printer"' if spec.peer_transport else "a byte transport (serial, tcp)"
        raise ConfigError(f"{where}.transport: driver {spec.name!r} needs {need}")
    return ResolvedDevice(config=device, spec=spec, options=options, simulated=simulated)


def driver_options(spec: DriverSpec, options: Mapping[str, Any], where: str) -> BaseModel:
    """``options`` validated against the driver's own model; ``where`` names the options table in errors."""
    try:
        return spec.driver.Options.model_validate(options)
    except ValidationError as err:
        raise ConfigError(
            "\n".join(
                f"{where}.{_format_loc(tuple(e['loc']), options)}: {e['msg']}" for e in err.errors(include_url=False)
            )
        ) from err


Locate = Callable[[int, SimulatedDeviceConfig, str], str]
"""(entry index, entry, key) → where that key of a simulated device came from, for error messages."""


def resolve_simulation(
    section: SimulateConfig, registry: DriverRegistry, locate: Locate, taken: Collection[str] = ()
) -> tuple[SimulatedDevice, ...]:
    """The simulated devices a selection asks for, checked against the registry; none selected: the default set.

    Ids left out are numbered per kind, skipping ``taken`` (configured devices) and the ids the selection names.
    A device reached through another (``peer_transport``) hangs on the printer named by ``peer``, else on the
    first one listed, as its ``type = "printer"`` transport would.
    """
    entries = section.devices
    if section.all:
        entries = [SimulatedDeviceConfig(driver=spec.name) for spec in registry.specs() if spec.has_simulator]
    if not entries:
        return DEFAULT_SIMULATED_DEVICES
    simulatable = ", ".join(spec.name for spec in registry.specs() if spec.has_simulator)
    specs: list[DriverSpec] = []
    for index, entry in enumerate(entries):
        spec = registry.find(entry.driver)
        if spec is None or not spec.has_simulator:
            problem = "unknown driver" if spec is None else "no simulator for driver"
            known = f"drivers with a simulator: {simulatable}"
            raise ConfigError(f"{locate(index, entry, 'driver')}: {problem} {entry.driver!r} ({known})")
        driver_options(spec, entry.options, locate(index, entry, "options"))
        specs.append(spec)
    ids = _simulated_ids(entries, specs, locate, taken)
    printers = [device_id for device_id, spec in zip(ids, specs, strict=True) if spec.driver.kind is DeviceKind.PRINTER]
    return tuple(
        SimulatedDevice(
            id=device_id,
            driver=spec.name,
            name=entry.name or f"{spec.description} (simulated)",
            options=dict(entry.options),
            peer=_simulated_peer(entry, spec, printers, locate(index, entry, "peer")),
            where=locate(index, entry, ""),
        )
        for index, (entry, spec, device_id) in enumerate(zip(entries, specs, ids, strict=True))
    )


def _simulated_ids(
    entries: list[SimulatedDeviceConfig], specs: list[DriverSpec], locate: Locate, taken: Collection[str]
) -> list[str]:
    named: set[str] = set()
    for index, entry in enumerate(entries):
        if entry.id is not None:
            if entry.id in named:
                raise ConfigError(f"{locate(index, entry, 'id')}: {entry.id!r} is used twice")
            named.add(entry.id)
    # Numbered ids skip every id in use. A named id that is also a configured one is refused when simulate mode
    # starts (as for the default set), not here, where the daemon may not be going to simulate at all.
    used = set(taken) | named
    numbers: dict[DeviceKind, int] = {}
    ids: list[str] = []
    for entry, spec in zip(entries, specs, strict=True):
        device_id = entry.id
        if device_id is None:
            kind = spec.driver.kind
            while device_id is None or device_id in used:
                numbers[kind] = numbers.get(kind, 0) + 1
                device_id = f"{kind.value}-{numbers[kind]}"
            used.add(device_id)
        ids.append(device_id)
    return ids


def _simulated_peer(entry: SimulatedDeviceConfig, spec: DriverSpec, printers: list[str], where: str) -> str | None:
    if not spec.peer_transport:
        if entry.peer is not None:
            raise ConfigError(f"{where}: driver {spec.name!r} is not reached through another device")
        return None
    if not printers:
        raise ConfigError(f"{where}: driver {spec.name!r} hangs on a printer: simulate one too")
    peer = entry.peer or printers[0]
    if peer not in printers:
        raise ConfigError(f"{where}: {peer!r} is not a simulated printer (simulated: {', '.join(printers)})")
    return peer


def check_peers(devices: list[ResolvedDevice], source: str) -> None:
    by_id = {d.config.id: d for d in devices}
    for device in devices:
        transport = device.config.transport
        if isinstance(transport, PeerSettings):
            peer = by_id.get(transport.device)
            if peer is None or peer.spec.driver.kind.value != "printer":
                raise ConfigError(
                    f"{source}: device {device.config.id!r}: transport.device: "
                    f"{transport.device!r} is not a configured printer"
                )
