"""The rules every scale driver shares (drivers/scale_base.py, drivers/scale_codec.py): statuses from protocol
flags, events only on change, the stable-read rule, confirmations; and per-protocol serial defaults."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.models import Weight
from drivers.registry import DriverRegistry
from drivers.scale_base import WeightTracker
from drivers.scale_codec import ScaleReading, weight_from_reading
from drivers.transports import SerialSettings
from tests.codecs._streams import PROPERTY

KG = Decimal("1.235")


@pytest.mark.parametrize(
    ("reading", "status", "stable"),
    [
        (ScaleReading(KG, "kg"), "stable", True),
        (ScaleReading(Decimal("0.000"), "kg"), "zero", True),
        (ScaleReading(KG, "kg", motion=True), "motion", False),
        (ScaleReading(Decimal("0.000"), "kg", motion=True), "motion", False),
        (ScaleReading(Decimal("-0.5"), "kg"), "under_zero", False),  # a negative weight is never sold
        (ScaleReading(KG, "kg", under_zero=True), "under_zero", False),
        (ScaleReading(KG, "kg", over_capacity=True, motion=True), "over_capacity", False),
        (ScaleReading(KG, "kg", fault=True, over_capacity=True), "fault", False),
        (ScaleReading(None, None), "fault", False),  # status only, no reason given
        (ScaleReading(None, None, motion=True), "motion", False),
    ],
)
def test_status_precedence(reading: ScaleReading, status: str, stable: bool) -> None:
    weight = weight_from_reading(reading, None)
    assert (weight.status, weight.stable) == (status, stable)


def test_a_status_only_reading_keeps_the_last_value_and_is_never_stable() -> None:
    last = Weight(value=KG, unit="lb", stable=True, status="stable")
    weight = weight_from_reading(ScaleReading(None, None, motion=True), last)
    assert weight == Weight(value=KG, unit="lb", stable=False, status="motion")
    assert weight_from_reading(ScaleReading(KG, "kg"), None, unit="lb").unit == "lb"  # configured override


def stable(value: str) -> Weight:
    return weight_from_reading(ScaleReading(Decimal(value), "kg"), None)


def moving(value: str) -> Weight:
    return weight_from_reading(ScaleReading(Decimal(value), "kg", motion=True), None)


def test_events_only_on_change() -> None:
    tracker = WeightTracker()
    published = [tracker.record(w, tracker.begin_acquisition(), 0.0) for w in (stable("1"), stable("1"), moving("1"))]
    assert published == [stable("1"), None, moving("1")]


Event = tuple[str, bool, str]  # ("reading", stable, value) or ("ask", False, "")


@PROPERTY
@given(
    events=st.lists(
        st.one_of(
            st.tuples(st.just("reading"), st.booleans(), st.sampled_from(["1.000", "2.750", "0.000"])),
            st.just(("ask", False, "")),
        ),
        max_size=40,
    ),
    confirmations=st.integers(1, 3),
)
def test_a_stable_read_only_returns_a_stable_reading_taken_after_it_was_asked(
    events: list[Event], confirmations: int
) -> None:
    tracker = WeightTracker(confirmations)
    asks: list[int] = []
    history: list[tuple[int, bool, str]] = []
    for kind, is_stable, value in events:
        if kind == "ask":
            asks.append(tracker.acquisition)
            continue
        acquisition = tracker.begin_acquisition()
        tracker.record(stable(value) if is_stable else moving(value), acquisition, 0.0)
        history.append((acquisition, is_stable, value))
        for asked_at in asks:
            picked = tracker.pick(stable=True, asked_at=asked_at, now=0.0, fresh_for=1.0)
            if picked is None:
                continue
            # Stable, measured after the ask, and stable for `confirmations` readings in a row.
            assert picked.weight.stable
            assert picked.acquisition > asked_at
            run = history[-confirmations:]
            assert len(run) == confirmations
            assert all(s and v == value for _, s, v in run)


def test_confirmations_hold_back_stability() -> None:
    tracker = WeightTracker(confirmations=3)
    statuses = []
    for value in ("1.0", "1.0", "1.0", "2.0", "2.0", "2.0"):
        tracker.record(stable(value), tracker.begin_acquisition(), 0.0)
        assert tracker.latest is not None
        statuses.append(tracker.latest.weight.status)
    assert statuses == ["motion", "motion", "stable", "motion", "motion", "stable"]


def test_a_non_stable_read_takes_the_latest_reading_while_it_is_fresh() -> None:
    tracker = WeightTracker()
    tracker.record(moving("1.0"), tracker.begin_acquisition(), now=10.0)
    assert tracker.pick(stable=False, asked_at=99, now=10.4, fresh_for=0.5) is not None
    assert tracker.pick(stable=False, asked_at=0, now=10.6, fresh_for=0.5) is None
    assert tracker.pick(stable=True, asked_at=0, now=10.0, fresh_for=0.5) is None


# -- per-protocol serial defaults -----------------------------------------------------------------------------
LINES = {
    "toledo-8217": (9600, 7, "E"),
    "toledo-continuous": (9600, 7, "E"),
    "nci": (9600, 7, "E"),
    "cas-dc2": (9600, 7, "E"),
    "toledo-prix": (9600, 8, "N"),
    "filizola": (9600, 8, "N"),
    "urano": (9600, 8, "N"),
    "adam-mdw": (9600, 8, "N"),
    "mt-sics": (9600, 8, "N"),
    "cas-dc1": (9600, 8, "N"),
}


@pytest.mark.parametrize(("driver", "line"), LINES.items())
def test_serial_defaults_fill_only_what_the_configuration_left_out(driver: str, line: tuple[int, int, str]) -> None:
    spec = DriverRegistry.builtin().find(driver)
    assert spec is not None
    defaulted = spec.apply_serial_defaults(SerialSettings(port="/dev/ttyUSB0"))
    assert (defaulted.baudrate, defaulted.bytesize, defaulted.parity) == line
    explicit = spec.apply_serial_defaults(SerialSettings(port="/dev/ttyUSB0", baudrate=4800, parity="O"))
    assert (explicit.baudrate, explicit.bytesize, explicit.parity) == (4800, line[1], "O")


def test_drivers_without_serial_defaults_leave_settings_alone() -> None:
    spec = DriverRegistry.builtin().find("hid-scale")
    assert spec is not None
    settings = SerialSettings(port="/dev/ttyUSB0")
    assert spec.apply_serial_defaults(settings) is settings
