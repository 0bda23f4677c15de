"""Drawer kicks in raw ESC/POS jobs (drivers/escpos/kick_detect.py), for the raw-job scope check and audit.

Bytes written by hand: ESC p m t1 t2 = 1B 70 m t1 t2 (m 0/'0' pin 2, 1/'1' pin 5; t1 x 2 ms on),
DLE DC4 1 m t = 10 14 01 m t (t x 100 ms). Epson's RP-U420 manual warns that DLE DC4 is executed "even if
it appears as part of another command", with the example of ESC * image data.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.escpos.interpreter import DrawerPulse, EscposInterpreter
from drivers.escpos.kick_detect import (
    contains_kick_bytes,
    find_drawer_kicks,
    neutralize_drawer_kicks,
    scan_for_drawer_kicks,
)
from tests.codecs._streams import PROPERTY

RECEIPT = b"\x1b@\x1ba\x01Bakery\n\x1ba\x00Bread      2.50\n\x1dV\x41\x03"


@pytest.mark.parametrize(
    ("kick", "pulse"),
    [
        (b"\x1bp\x00\x19\xfa", DrawerPulse(pin=2, on_ms=50)),
        (b"\x1bp\x30\x32\x32", DrawerPulse(pin=2, on_ms=100)),
        (b"\x1bp\x01\x32\x32", DrawerPulse(pin=5, on_ms=100)),
        (b"\x1bp\x31\x64\x64", DrawerPulse(pin=5, on_ms=200)),
        (b"\x10\x14\x01\x00\x05", DrawerPulse(pin=2, on_ms=500)),
        (b"\x10\x14\x01\x01\x01", DrawerPulse(pin=5, on_ms=100)),
    ],
)
def test_a_kick_in_a_receipt_is_found_with_pin_and_timing(kick: bytes, pulse: DrawerPulse) -> None:
    job = RECEIPT[:20] + kick + RECEIPT[20:]
    assert find_drawer_kicks(job) == [pulse]
    scan = scan_for_drawer_kicks(job)
    assert scan.pulses == (pulse,)
    assert scan.needs_drawer_scope


def test_a_receipt_without_a_kick_needs_no_drawer_scope() -> None:
    scan = scan_for_drawer_kicks(RECEIPT + b"\x1dv0\x00\x01\x00\x02\x00\xff\x00")
    assert scan.pulses == ()
    assert not scan.suspect
    assert not scan.needs_drawer_scope


def test_two_kicks_are_two_pulses_in_order() -> None:
    assert find_drawer_kicks(b"\x1bp\x00\x32\x32x\x1bp\x01\x0a\x0a") == [
        DrawerPulse(pin=2, on_ms=100),
        DrawerPulse(pin=5, on_ms=20),
    ]


def test_realtime_pulse_hidden_in_image_data_still_needs_the_drawer_scope() -> None:
    # ESC * 0 nL nH d1..d5 with d = 10 14 01 00 05: the model reads it as pixels, the printer pulses.
    job = b"\x1b*\x00\x05\x00" + b"\x10\x14\x01\x00\x05" + b"\n"
    assert find_drawer_kicks(job) == []
    assert contains_kick_bytes(job)
    assert scan_for_drawer_kicks(job).needs_drawer_scope


def test_kick_bytes_inside_qr_data_are_suspect() -> None:
    data = b"\x1bp\x00\x19\x19"
    store = b"\x1d(k" + bytes([len(data) + 3, 0]) + b"1P0" + data
    assert find_drawer_kicks(store) == []
    assert scan_for_drawer_kicks(store).needs_drawer_scope


def test_a_kick_after_a_double_byte_lead_byte_is_found() -> None:
    # FS & enters double-byte mode; 0x81 then ESC is not a valid GB18030 pair, so the printer runs ESC p.
    assert scan_for_drawer_kicks(b"\x1c&\x81\x1bp\x00\x32\x32").needs_drawer_scope


TEXT = st.binary(max_size=200).map(lambda b: bytes(c for c in b if c >= 0x20))


@PROPERTY
@given(before=TEXT, after=TEXT, pin=st.sampled_from([0, 1, 0x30, 0x31]), t1=st.integers(1, 255))
def test_a_kick_between_any_text_is_found(before: bytes, after: bytes, pin: int, t1: int) -> None:
    job = before + bytes([0x1B, 0x70, pin, t1, t1]) + after
    assert find_drawer_kicks(job) == [DrawerPulse(pin=2 if pin in (0, 0x30) else 5, on_ms=2 * t1)]
    assert contains_kick_bytes(job)


@PROPERTY
@given(job=st.binary(max_size=300))
def test_bytes_without_esc_or_dle_never_need_the_drawer_scope(job: bytes) -> None:
    clean = bytes(c for c in job if c not in (0x1B, 0x10))
    assert not scan_for_drawer_kicks(clean).needs_drawer_scope


@pytest.mark.parametrize(
    "ignored",
    [b"\x1bp\x02\x32\x32", b"\x1bp\x32\x32\x32", b"\x10\x14\x01\x02\x05", b"\x10\x14\x02\x00\x05"],
    ids=["ESC p m=2", "ESC p m='2'", "DLE DC4 1 m=2", "DLE DC4 fn=2"],
)
def test_a_kick_command_with_an_invalid_pin_fires_nothing(ignored: bytes) -> None:
    # Epson: ESC p m takes m 0, 1, 48, 49 and DLE DC4 1 m takes m 0, 1; a printer ignores any other value.
    assert find_drawer_kicks(RECEIPT + ignored) == []
    assert EscposInterpreter().feed(ignored) == []


#: Streams rich in the bytes that start commands and kicks, so both parse paths are exercised.
COMMAND_HEAVY = st.lists(
    st.sampled_from([b"\x1b", b"\x1bp", b"\x10\x14", b"\x01", b"\x00", b"\x02", b"2", b"\x1d", b"*", b"\x1c&", b"A"])
    | st.binary(max_size=6),
    max_size=60,
).map(b"".join)


@PROPERTY
@given(job=COMMAND_HEAVY)
def test_every_kick_the_model_parses_is_seen_by_the_byte_search(job: bytes) -> None:
    # find_drawer_kicks skips the parse when the byte search finds nothing: that is only right if every
    # pulse the model parses contains one of the searched sequences.
    parsed = [a for a in EscposInterpreter().feed(job) if isinstance(a, DrawerPulse)]
    assert find_drawer_kicks(job) == parsed
    if parsed:
        assert contains_kick_bytes(job)


@pytest.mark.parametrize(
    "job",
    [b"\x10\x14\x01\x1bp\x002d", b"PAID\n\x1bp\x00", b"PAID\n\x1bp\x00\x19", b"PAID\n\x10\x14\x01\x00"],
    ids=["blanking completes a kick before it", "ESC p cut short", "ESC p without t2", "DLE DC4 cut short"],
)
def test_removing_kicks_leaves_none_even_with_the_next_job_after_it(job: bytes) -> None:
    cleaned = neutralize_drawer_kicks(job)
    assert len(cleaned) == len(job)
    assert not contains_kick_bytes(cleaned + b"\x1b@NEXT\n")
    assert find_drawer_kicks(cleaned + b"\x1b@NEXT\n") == []


@PROPERTY
@given(job=COMMAND_HEAVY)
def test_a_job_with_its_kicks_removed_fires_nothing(job: bytes) -> None:
    cleaned = neutralize_drawer_kicks(job)
    assert len(cleaned) == len(job)
    assert not scan_for_drawer_kicks(cleaned + b"\x1b@").needs_drawer_scope  # nor with the next job's ESC @
    assert neutralize_drawer_kicks(cleaned) == cleaned
