"""Customer displays end to end: the three command sets, each driven by its real driver over a real pty to its
simulator, through the HTTP API; bad input never reaches the display."""

from __future__ import annotations

from pathlib import Path

import pytest

from drivers.cd5220.simulator import Cd5220Simulator
from drivers.epson_dmd.simulator import EpsonDmdSimulator
from drivers.logic_controls.simulator import LogicControlsSimulator
from drivers.simulator import SimEnvironment, Simulator
from tests.conftest import RunningDaemon, StartDaemon, until

pytestmark = pytest.mark.timeout(60)

POS = "pos-display-secret-0123456789ab"
SCALE_ONLY = "scale-only-secret-0123456789abc"

SIMULATORS: dict[str, type[Simulator]] = {
    "cd5220": Cd5220Simulator,
    "epson-dmd": EpsonDmdSimulator,
    "logic-controls": LogicControlsSimulator,
}


async def display_rig(
    start_daemon: StartDaemon, tmp_path: Path, driver: str, options: str = ""
) -> tuple[RunningDaemon, Simulator]:
    env = SimEnvironment(sim_dir=tmp_path / "rig")
    simulator = SIMULATORS[driver].create("pole-1", env)
    await simulator.start()
    handle = await start_daemon(
        f"""
[tokens.pos]
secret = "{POS}"
scopes = ["display"]

[tokens.scale]
secret = "{SCALE_ONLY}"
scopes = ["scale"]

[[devices]]
id = "pole-1"
driver = "{driver}"
transport = {{ type = "serial", port = "{tmp_path / "rig" / "pole-1"}" }}
options = {{ {options} }}
""",
        simulate=False,
    )
    handle.daemon.simulators["pole-1"] = simulator  # the sim output API shows it; the daemon stops it
    stream = await handle.events("topics=device.state")
    await handle.wait_state(stream, "pole-1", "ready")
    return handle, simulator


async def shown(handle: RunningDaemon, simulator: Simulator, expected: list[str]) -> list[str]:
    """What the sim output API says the display shows, once the simulator has read the bytes in flight."""
    await until(lambda: simulator.output()["lines"] == expected)
    lines: list[str] = (await handle.get("/api/v1/sim/pole-1/output")).body["lines"]
    return lines


#: Bytes of one two-line update, counted from each command set's layout (see the codec tests).
UPDATE_BYTES = {
    "cd5220": 1 + 2 * (3 + 20 + 1),  # FF, then ESC Q A/B + 20 + CR per line
    "epson-dmd": 2 * 2 + 3 + 2 * (4 + 20),  # US MD1 twice, ESC t n, then US $ x y + 20 per line
    "logic-controls": 2 + 2 * (2 + 20),  # cursor off, normal mode, then 10 n + 20 per line
}


@pytest.mark.parametrize("driver", sorted(SIMULATORS))
async def test_two_lines_reach_the_display_and_bad_input_sends_nothing(
    start_daemon: StartDaemon, tmp_path: Path, driver: str
) -> None:
    handle, simulator = await display_rig(start_daemon, tmp_path, driver)
    events = await handle.events("topics=display.state", token=POS)
    ok = await handle.post("/api/v1/displays/pole-1/text", {"lines": ["Total", "12.50"]}, token=POS)
    assert ok.status == 200, ok.body
    assert await shown(handle, simulator, ["Total", "12.50"]) == ["Total", "12.50"]
    assert (await events.next("display.state", "pole-1"))["data"] == {"lines": ["Total", "12.50"]}
    before = simulator.output()["bytes"]

    refusals = [
        ({"lines": ["x" * 21]}, POS, 400, "text_too_long"),
        ({"lines": ["a", "b", "c"]}, POS, 400, "invalid_request"),
        ({"lines": ["esc\x1b@"]}, POS, 400, "invalid_text"),
        ({"lines": ["nel\u0085"]}, POS, 400, "invalid_text"),
        ({"lines": ["hi"]}, SCALE_ONLY, 403, "insufficient_scope"),
    ]
    for body, token, status, code in refusals:
        response = await handle.post("/api/v1/displays/pole-1/text", body, token=token)
        assert (response.status, response.body["code"]) == (status, code), body
    # One more good update: once it has arrived, exactly its bytes came after the refusals, nothing else.
    assert (await handle.post("/api/v1/displays/pole-1/text", {"lines": ["Thank you"]}, token=POS)).status == 200
    assert await shown(handle, simulator, ["Thank you", ""]) == ["Thank you", ""]
    assert simulator.output()["bytes"] - before == UPDATE_BYTES[driver]


@pytest.mark.parametrize(
    ("driver", "options", "expected"),
    [
        ("epson-dmd", 'encoding = "cp858"', ["Preço 5,00€", "Obrigado!"]),
        ("epson-dmd", "", ["Preço 5,00?", "Obrigado!"]),  # PC437 has ç but no €
        ("cd5220", 'encoding = "cp858"', ["Preço 5,00€", "Obrigado!"]),
        ("logic-controls", "", ["Preço 5,00?", "Obrigado!"]),
    ],
)
async def test_text_goes_out_in_the_display_code_page(
    start_daemon: StartDaemon, tmp_path: Path, driver: str, options: str, expected: list[str]
) -> None:
    handle, simulator = await display_rig(start_daemon, tmp_path, driver, options)
    if driver == "cd5220":
        assert isinstance(simulator, Cd5220Simulator)
        simulator.screen.encoding = "cp858"  # the simulated unit's character table, set like its DIP switches
    response = await handle.post("/api/v1/displays/pole-1/text", {"lines": ["Preço 5,00€", "Obrigado!"]})
    assert response.status == 200
    assert await shown(handle, simulator, expected) == expected


async def test_a_replugged_display_shows_the_last_lines_again(start_daemon: StartDaemon, tmp_path: Path) -> None:
    handle, simulator = await display_rig(start_daemon, tmp_path, "epson-dmd")
    assert (await handle.post("/api/v1/displays/pole-1/text", {"lines": ["Welcome", "Next please"]})).status == 200
    await shown(handle, simulator, ["Welcome", "Next please"])
    stream = await handle.events("topics=device.state&devices=pole-1")
    await handle.sim("pole-1", action="unplug")
    await stream.next("device.state", where=lambda d: d["state"] == "offline")
    offline = await handle.post("/api/v1/displays/pole-1/text", {"lines": ["lost"]})
    assert (offline.status, offline.body["code"]) == (503, "device_offline")
    assert isinstance(simulator, EpsonDmdSimulator)
    simulator.screen.feed(b"\x0c")  # a power cycle blanks the real thing
    await handle.sim("pole-1", action="plug")
    await stream.next("device.state", where=lambda d: d["state"] == "ready")
    assert await shown(handle, simulator, ["Welcome", "Next please"]) == ["Welcome", "Next please"]


async def test_a_display_code_page_it_cannot_select_is_a_config_error(start_daemon: StartDaemon) -> None:
    from drivers.errors import ConfigError

    with pytest.raises(ConfigError, match=r"options\.encoding.*cp1250"):
        await start_daemon(
            """
[[devices]]
id = "pole-1"
driver = "epson-dmd"
transport = { type = "serial", port = "/dev/null" }
options = { encoding = "cp1250" }
""",
            simulate=False,
        )
