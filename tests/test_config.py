"""Configuration: every bad file stops the daemon with the file, the key and the problem."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from daemon.cli import main
from daemon.config import load_config
from drivers.errors import ConfigError
from drivers.registry import DriverRegistry
from drivers.simulated import DEFAULT_SIMULATED_DEVICES

REGISTRY = DriverRegistry.builtin()

SCALE = """
[[devices]]
id = "scale-1"
driver = "toledo-8217"
transport = { type = "serial", port = "/dev/ttyUSB0", baudrate = 9600, bytesize = 7, parity = "E" }
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "posd.toml"
    path.write_text(text)
    return path


def error_for(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, REGISTRY, env=env or {})
    return str(caught.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[server]\nport = 70000\n", "server.port: Input should be less than 65536 (got 70000)"),
        ('[server]\nport = "http"\n', "server.port: Input should be a valid integer"),
        ("[server]\nprot = 7117\n", "server.prot: unknown key (check its spelling)"),
        ('[server]\nallowed_origins = ["https://pos.example.com/"]\n', "server.allowed_origins"),
        ('[server]\nallowed_origins = ["https://*.example.com"]\n', "no path, no wildcard"),
        ('[tokens.pos]\nsecret = "short"\nscopes = ["print"]\n', "tokens.pos.secret"),
        ('[tokens.pos]\nsecret = "0123456789abcdef0"\nscopes = ["root"]\n', "tokens.pos.scopes[0]"),
        ("[events]\nring_size = 100\n", "events.ring_size: Input should be greater than or equal to 10000"),
        (SCALE.replace("baudrate = 9600", "baudrate = -1"), "devices[0] (id 'scale-1').transport.baudrate"),
        (SCALE.replace('port = "/dev/ttyUSB0", ', ""), "devices[0] (id 'scale-1').transport.port: Field required"),
        (SCALE.replace('type = "serial"', 'type = "carrier-pigeon"'), "devices[0] (id 'scale-1').transport"),
        (SCALE.replace('id = "scale-1"', 'id = "Scale 1"'), "devices[0] (id 'Scale 1').id: String should match"),
        (SCALE + SCALE, "device id 'scale-1' is used twice"),
        (
            SCALE.replace("toledo-8217", "toledo-9999"),
            "devices[0] (id 'scale-1').driver: unknown driver 'toledo-9999'",
        ),
        (SCALE + "options = { poll_interval_s = -1 }\n", "devices[0] (id 'scale-1').options.poll_interval_s"),
        (SCALE + "options = { pol_interval_s = 1 }\n", "devices[0] (id 'scale-1').options.pol_interval_s"),
        (
            '[[devices]]\nid = "drawer-1"\ndriver = "escpos-drawer"\n'
            'transport = { type = "printer", device = "nope" }\n',
            "device 'drawer-1': transport.device: 'nope' is not a configured printer",
        ),
        (
            '[[devices]]\nid = "drawer-1"\ndriver = "escpos-drawer"\ntransport = { type = "tcp", host = "h" }\n',
            "drawer-1').transport: driver 'escpos-drawer' needs type = \"printer\"",
        ),
    ],
)
def test_bad_config_names_file_key_and_problem(tmp_path: Path, text: str, expected: str) -> None:
    message = error_for(tmp_path, text)
    assert str(tmp_path / "posd.toml") in message
    assert expected in message


def test_toml_syntax_error_has_position(tmp_path: Path) -> None:
    message = error_for(tmp_path, "[server]\nport = = 1\n")
    assert "not valid TOML" in message
    assert "line 2" in message


def test_missing_explicit_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "absent.toml", REGISTRY, env={})


def test_posd_config_variable_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[server]\nport = 7200\n")
    assert load_config(None, REGISTRY, env={"POSD_CONFIG": str(path)}).config.server.port == 7200
    with pytest.raises(ConfigError, match="no such file"):
        load_config(None, REGISTRY, env={"POSD_CONFIG": str(tmp_path / "absent.toml")})


def test_environment_overrides_and_their_errors(tmp_path: Path) -> None:
    path = write(tmp_path, "[server]\nport = 7200\n")
    env = {
        "POSD_SERVER__PORT": "7300",
        "POSD_SERVER__ALLOWED_ORIGINS": '["https://pos.example.com"]',
        "POSD_LOG_LEVEL": "debug",
        "POSD_SERVER__HOST": "0.0.0.0",
    }
    config = load_config(path, REGISTRY, env=env).config
    assert config.server.port == 7300
    assert config.server.allowed_origins == ["https://pos.example.com"]
    assert config.server.host == "0.0.0.0"
    assert config.log_level == "debug"

    message = error_for(tmp_path, "", env={"POSD_SERVER__PORT": "many"})
    assert message.startswith("environment POSD_SERVER__PORT: server.port: Input should be a valid integer")
    typo = error_for(tmp_path, "", env={"POSD_SERVR__PORT": "1"})
    assert "environment POSD_SERVR__PORT: servr: unknown key" in typo


def test_valid_config_resolves_driver_options(tmp_path: Path) -> None:
    path = write(tmp_path, SCALE + "options = { poll_interval_s = 0.25 }\n")
    loaded = load_config(path, REGISTRY, env={})
    (device,) = loaded.devices
    assert device.spec.name == "toledo-8217"
    assert device.options.model_dump()["poll_interval_s"] == 0.25


def test_check_config_command_exits_nonzero_with_message(tmp_path: Path) -> None:
    path = write(tmp_path, "[server]\nport = 70000\n")
    result = subprocess.run(
        [sys.executable, "-m", "daemon", "serve", "--check-config", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert f"{path}: server.port: Input should be less than 65536" in result.stderr
    good = write(tmp_path, SCALE)
    ok = subprocess.run(
        [sys.executable, "-m", "daemon", "serve", "--check-config", "--config", str(good)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert "OK (1 devices)" in ok.stdout


def test_serial_line_defaults_come_from_the_driver_unless_configured(tmp_path: Path) -> None:
    bare = 'transport = { type = "serial", port = "/dev/ttyUSB0" }'
    path = write(
        tmp_path,
        SCALE.replace(
            'transport = { type = "serial", port = "/dev/ttyUSB0", baudrate = 9600, bytesize = 7, parity = "E" }', bare
        ),
    )
    (device,) = load_config(path, REGISTRY, env={}).devices
    transport = device.config.transport
    assert (transport.baudrate, transport.bytesize, transport.parity) == (9600, 7, "E")  # type: ignore[union-attr]
    path = write(tmp_path, SCALE.replace('bytesize = 7, parity = "E"', 'bytesize = 8, parity = "N"'))
    (device,) = load_config(path, REGISTRY, env={}).devices
    assert (device.config.transport.bytesize, device.config.transport.parity) == (8, "N")  # type: ignore[union-attr]


# -- [simulate]: which simulated devices simulate mode runs ----------------------------------------------------------
SIM = '[[simulate.devices]]\ndriver = "{}"\n'
PRINTER = SIM.format("escpos")
DRAWER = SIM.format("escpos-drawer")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (SIM.format("nope"), "simulate.devices[0].driver: unknown driver 'nope' (drivers with a simulator: adam-mdw,"),
        (SIM.format("scale-auto"), "simulate.devices[0].driver: no simulator for driver 'scale-auto'"),
        (SIM.format("filizola") + "colour = 1\n", "simulate.devices[0].colour: unknown key"),
        (SIM.format("filizola") + 'id = "Scale 1"\n', "simulate.devices[0].id: String should match"),
        (SIM.format("filizola") + "options = { pol_interval_s = 1 }\n", "simulate.devices[0].options.pol_interval_s"),
        (
            SIM.format("filizola") + 'id = "s"\n' + SIM.format("urano") + 'id = "s"\n',
            "simulate.devices[1] (id 's').id: 's' is used twice",
        ),
        ("[simulate]\nall = true\n" + SIM.format("filizola"), "simulate: Value error, all = true and a devices list"),
        (DRAWER, "simulate.devices[0].peer: driver 'escpos-drawer' hangs on a printer: simulate one too"),
        (
            PRINTER + DRAWER + 'peer = "scale-1"\n' + SIM.format("filizola"),
            "simulate.devices[1].peer: 'scale-1' is not a simulated printer (simulated: printer-1)",
        ),
        (SIM.format("filizola") + 'peer = "x"\n', "devices[0].peer: driver 'filizola' is not reached through another"),
    ],
)
def test_bad_simulate_section_names_file_key_and_problem(tmp_path: Path, text: str, expected: str) -> None:
    message = error_for(tmp_path, text)
    assert message.startswith(f"{tmp_path / 'posd.toml'}: "), message
    assert expected in message


def test_no_selection_simulates_the_default_set(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, SCALE), REGISTRY, env={}).simulated is DEFAULT_SIMULATED_DEVICES
    assert load_config(write(tmp_path, "[simulate]\n"), REGISTRY, env={}).simulated is DEFAULT_SIMULATED_DEVICES


def test_selection_numbers_ids_per_kind_names_and_wires_peers(tmp_path: Path) -> None:
    text = (
        SCALE  # a real scale-1 is configured: the simulated scales number around it
        + SIM.format("filizola")
        + SIM.format("urano")
        + 'id = "scale-3"\n'
        + SIM.format("nci")
        + DRAWER
        + "options = { pin = 5 }\n"
        + PRINTER
        + PRINTER
        + 'id = "kitchen"\nname = "Kitchen"\n'
    )
    simulated = load_config(write(tmp_path, text), REGISTRY, env={}).simulated
    assert [(d.id, d.driver, d.peer) for d in simulated] == [
        ("scale-2", "filizola", None),
        ("scale-3", "urano", None),
        ("scale-4", "nci", None),
        ("drawer-1", "escpos-drawer", "printer-1"),  # the first printer listed, wherever the drawer is
        ("printer-1", "escpos", None),
        ("kitchen", "escpos", None),
    ]
    assert simulated[0].name == "Filizola scale (Brazil), ENQ / STX ddddd ETX (simulated)"
    assert simulated[5].name == "Kitchen"
    assert simulated[3].options == {"pin": 5}
    assert simulated[3].where == f"{tmp_path / 'posd.toml'}: simulate.devices[3]"
    everything = load_config(write(tmp_path, "[simulate]\nall = true\n"), REGISTRY, env={}).simulated
    assert sorted(d.driver for d in everything) == sorted(s.name for s in REGISTRY.specs() if s.simulator)
    from_env = load_config(write(tmp_path, ""), REGISTRY, env={"POSD_SIMULATE__ALL": "true"}).simulated
    assert len(from_env) == len(everything)


def test_simulate_shorthands_on_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write(tmp_path, SIM.format("urano"))
    serve = ["serve", "--check-config", "--config", str(config)]
    assert main([*serve, "--simulate-driver", "filizola", "--simulate-driver", "hidpos-scanner"]) == 0
    assert f"{config}: OK (0 devices, 2 simulated)" in capsys.readouterr().out  # replaces the file's selection
    assert main([*serve, "--simulate"]) == 0
    assert "OK (0 devices, 1 simulated)" in capsys.readouterr().out
    assert main([*serve, "--simulate-all"]) == 0
    simulatable = [spec for spec in DriverRegistry.with_plugins().specs() if spec.simulator is not None]
    assert f"OK (0 devices, {len(simulatable)} simulated)" in capsys.readouterr().out
    assert main([*serve, "--simulate-driver", "scale-auto"]) == 2
    assert "command line: --simulate-driver scale-auto: no simulator for driver 'scale-auto'" in capsys.readouterr().err
    assert main([*serve, "--simulate-driver", "escpos-drawer"]) == 2
    assert "--simulate-driver escpos-drawer: driver 'escpos-drawer' hangs on a printer" in capsys.readouterr().err
