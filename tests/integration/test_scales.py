"""Every scale protocol end to end: the real daemon and driver against the protocol's simulator over a real
pty (a hidraw stand-in for HID): weights, statuses, stable reads, zero/tare, noise, unplug."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Literal

import pytest

from drivers.scale_simulator import ScaleSimulator
from drivers.toledo.simulator import ToledoPrixSimulator
from tests.conftest import StartDaemon, until
from tests.integration.scale_rig import DEVICE, ScaleRig, start_rig

pytestmark = pytest.mark.timeout(60)


class PrixASimulator(ToledoPrixSimulator):
    protocol: ClassVar[Literal["A", "B", "C"]] = "A"


class PrixCSimulator(ToledoPrixSimulator):
    protocol: ClassVar[Literal["A", "B", "C"]] = "C"


@dataclass(frozen=True)
class Case:
    driver: str
    weight: str = "1.235"
    """A weight at the protocol's resolution, in kg."""
    zero: bool = False
    tare: bool = False
    negative_status: str = "under_zero"
    over_status: str = "over_capacity"
    negative_keeps_value: bool = False
    """The protocol says "negative" but sends no value: the last value is kept."""
    simulator: type[ScaleSimulator] | None = None
    options: str = ""
    noise: str = "ff00fe"
    name: str = field(default="")

    @property
    def id(self) -> str:
        return self.name or self.driver


CASES = [
    Case("toledo-8217", zero=True, tare=True, negative_keeps_value=True, noise="0231320241"),
    Case("toledo-continuous", noise="02303132"),
    Case("toledo-prix", negative_keeps_value=True, noise="023132"),
    Case("toledo-prix", simulator=PrixASimulator, negative_status="over_capacity", name="toledo-prix-a"),
    Case("toledo-prix", simulator=PrixCSimulator, negative_keeps_value=True, name="toledo-prix-c"),
    Case("filizola", negative_keeps_value=True),
    Case("urano", weight="1.24", over_status="motion", noise="5045534f3a2078"),
    Case("nci", zero=True, negative_keeps_value=True, noise="0a31320a"),
    Case("adam-mdw", zero=True, tare=True),
    Case("mt-sics", zero=True, tare=True, noise="53205320310d0a"),
    Case("mt-sics", zero=True, tare=True, options='mode = "continuous"', name="mt-sics-continuous"),
    Case("cas-dc1", noise="0102"),
    Case("cas-dc2", negative_status="motion", over_status="motion", negative_keeps_value=True),
    Case("hid-scale", zero=True, noise="030903010100070000"),
]


@pytest.fixture(params=CASES, ids=lambda case: case.id)
def case(request: pytest.FixtureRequest) -> Case:
    value: Case = request.param
    return value


@pytest.fixture
async def rig(start_daemon: StartDaemon, tmp_path: Path, case: Case) -> AsyncIterator[ScaleRig]:
    handle = await start_rig(start_daemon, tmp_path / "sim", case.driver, case.simulator, case.options)
    yield handle
    await handle.sim.stop()


def value_is(expected: str) -> Callable[[dict[str, object]], bool]:
    return lambda weight: weight["value"] == float(expected)


async def test_weights_statuses_zero_tare_noise_and_unplug(
    rig: ScaleRig, case: Case, caplog: pytest.LogCaptureFixture
) -> None:
    # A stable weight: the event and the stable read carry the protocol's exact value.
    await rig.sim.control({"action": "set", "value": case.weight, "unit": "kg", "stable": True})
    event = await rig.next_weight(value_is(case.weight))
    assert event == {"value": float(case.weight), "unit": "kg", "stable": True, "status": "stable"}
    reading = await rig.handle.get(rig.weight_path + "?stable=true&timeout_ms=3000")
    assert (reading.status, reading.body["weight"]) == (200, event)
    device = await rig.device()
    assert device["transport"]["type"] == ("hid" if case.driver == "hid-scale" else "serial")
    assert device["stats"]["GoodWeightReadCount"] == 1
    assert device["status"]["weight"] == event

    # In motion: reported, never stable; a stable read times out with 504.
    await rig.sim.control({"action": "set", "value": "2.5", "unit": "kg", "stable": False})
    moving = await rig.next_weight(lambda w: w["status"] == "motion")
    assert moving["stable"] is False
    refused = await rig.handle.get(rig.weight_path + "?stable=true&timeout_ms=200")
    assert (refused.status, refused.body["code"]) == (504, "weight_not_stable")
    unstable = await rig.handle.get(rig.weight_path + "?stable=false&timeout_ms=2000")
    assert unstable.status == 200
    assert unstable.body["weight"]["stable"] is False

    # Overload and negative.
    await rig.sim.control({"action": "set", "value": "0.5", "unit": "kg", "stable": True})
    await rig.next_weight(value_is("0.5"))
    await rig.sim.control({"action": "status", "status": "over_capacity"})
    over = await rig.next_weight(lambda w: w["status"] != "stable")
    assert over["status"] == case.over_status
    assert over["stable"] is False
    await rig.sim.control({"action": "set", "value": "0.6", "unit": "kg", "stable": True})
    await rig.next_weight(value_is("0.6"))
    await rig.sim.control({"action": "set", "value": "-0.5", "unit": "kg", "stable": True})
    negative = await rig.next_weight(lambda w: w["status"] != "stable")
    assert negative["status"] == case.negative_status
    assert negative["stable"] is False
    if case.negative_status == "under_zero" and not case.negative_keeps_value:
        assert negative["value"] == -0.5

    # Noise on the line: dropped; the next weight is right and no other weight was reported meanwhile.
    await rig.sim.control({"action": "set", "value": "0.75", "unit": "kg", "stable": True})
    await rig.next_weight(value_is("0.75"))
    seen = len(rig.events.seen)
    await rig.sim.control({"action": "noise", "hex": case.noise})
    await rig.sim.control({"action": "set", "value": case.weight, "unit": "kg", "stable": True})
    after_noise = await rig.next_weight(value_is(case.weight))
    assert after_noise["status"] == "stable"
    between = [e["data"] for e in rig.events.seen[seen:] if e["topic"] == "scale.weight"]
    assert all(w["value"] in (0.75, float(case.weight)) for w in between), between
    assert any(f"{DEVICE}: dropped" in record.getMessage() for record in caplog.records), "noise left no log entry"

    await check_zero_and_tare(rig, case)

    # Unplug: offline; plug: ready again, same device.
    await rig.sim.control({"action": "unplug"})
    await rig.events.next("device.state", DEVICE, lambda d: d["state"] == "offline", timeout=10)
    gone = await rig.handle.get(rig.weight_path + "?stable=false")
    assert (gone.status, gone.body["code"]) == (503, "device_offline")
    await rig.sim.control({"action": "plug"})
    await rig.handle.wait_state(rig.events, DEVICE, "ready", timeout=10)
    await rig.sim.control({"action": "set", "value": case.weight, "unit": "kg", "stable": True})
    back = await rig.handle.get(rig.weight_path + "?stable=true&timeout_ms=3000")
    assert back.body["weight"]["value"] == float(case.weight)


async def test_a_moving_reading_is_never_returned_by_a_stable_read(rig: ScaleRig, case: Case) -> None:
    await rig.sim.control({"action": "set", "value": case.weight, "unit": "kg", "stable": False})
    await rig.next_weight(lambda w: w["status"] == "motion")
    read = asyncio.create_task(rig.handle.get(rig.weight_path + "?stable=true&timeout_ms=10000"))
    # The scale answers (or streams) several times with the final value, still moving: no answer yet.
    asked = rig.sim.requests
    await until(lambda: rig.sim.requests >= asked + 4)
    assert not read.done()
    await rig.sim.control({"action": "set", "value": case.weight, "unit": "kg", "stable": True})
    response = await read
    assert response.status == 200
    final = {"value": float(case.weight), "unit": "kg", "stable": True, "status": "stable"}
    assert response.body["weight"] == final
    # Events only on change: the identical moving readings published nothing; the next event is the stable one.
    assert await rig.next_weight(lambda w: True) == final


async def check_zero_and_tare(rig: ScaleRig, case: Case) -> None:
    """Zero and tare where the protocol has them (with their effect on the weight), 409 where it does not."""
    await rig.sim.control({"action": "set", "value": "0.5", "unit": "kg", "stable": True})
    await rig.next_weight(value_is("0.5"))
    zero = await rig.handle.post(f"/api/v1/scales/{DEVICE}/zero")
    if not case.zero:
        assert (zero.status, zero.body["code"]) == (409, "not_supported")
    else:
        assert zero.status == 200, zero.body
        assert (await rig.next_weight(lambda w: w["status"] == "zero"))["value"] == 0
    await rig.sim.control({"action": "set", "value": case.weight, "unit": "kg", "stable": True})
    await rig.next_weight(value_is(case.weight))
    tare = await rig.handle.post(f"/api/v1/scales/{DEVICE}/tare")
    if not case.tare:
        assert (tare.status, tare.body["code"]) == (409, "not_supported")
        return
    assert tare.status == 200, tare.body
    assert (await rig.next_weight(lambda w: w["status"] == "zero"))["value"] == 0  # the net weight
    assert rig.sim.tare == rig.sim.value
    # Zero refused while the load moves.
    await rig.sim.control({"action": "status", "status": "motion"})
    await rig.next_weight(lambda w: w["status"] == "motion")
    busy = await rig.handle.post(f"/api/v1/scales/{DEVICE}/zero")
    assert (busy.status, busy.body["code"]) == (409, "device_busy")
    rig.sim.clear_tare()  # as the cashier's "clear tare" key would
