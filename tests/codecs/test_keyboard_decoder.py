"""Keyboard-wedge decoder behaviour: ends of scan, modifiers, dead keys, bad input, evdev records."""

from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.transports.records import _Node
from drivers.wedge.codec import (
    EV_KEY,
    InputEvent,
    KeyboardDecoder,
    WedgeProblem,
    WedgeScan,
    encode_input_events,
    parse_input_events,
)
from drivers.wedge.simulator import Typist
from drivers.wedge.xkb import keymap_for
from tests.codecs._keyboard import KEY_CAPSLOCK, KEY_ENTER, KEY_KPENTER, KEY_LEFTSHIFT, KEY_RIGHTALT, Keys
from tests.codecs._streams import PROPERTY, cut_points, split_at

# linux/input-event-codes.h
KEY_A, KEY_B, KEY_E, KEY_1, KEY_2, KEY_TAB, KEY_F1, KEY_EQUAL = 30, 48, 18, 2, 3, 15, 59, 13
KEY_LEFTCTRL, KEY_RIGHTBRACE, KEY_9 = 29, 27, 10


def run(keys: Keys | list[InputEvent], layout: str = "us", variant: str = "", **options: object) -> list[object]:
    decoder = KeyboardDecoder(keymap_for(layout, variant), **options)  # type: ignore[arg-type]
    out: list[object] = []
    for event in keys.events if isinstance(keys, Keys) else keys:
        out += decoder.feed(event)
    return out


# -- evdev records ------------------------------------------------------------------------------------
def test_input_event_record_layout_worked_by_hand() -> None:
    # struct input_event on x86-64: timeval {long tv_sec; long tv_usec} + __u16 type + __u16 code + __s32 value.
    record = (
        (1000).to_bytes(8, "little")
        + (500_000).to_bytes(8, "little")
        + (1).to_bytes(2, "little")  # EV_KEY
        + (30).to_bytes(2, "little")  # KEY_A
        + (1).to_bytes(4, "little", signed=True)  # pressed
    )
    assert len(record) == 24
    assert parse_input_events(record) == [InputEvent(1000.5, EV_KEY, KEY_A, 1)]
    assert encode_input_events([InputEvent(1000.5, EV_KEY, KEY_A, 1)]) == record
    # A trailing partial record is not an event (the transport keeps it for the next read).
    assert parse_input_events(record + record[:10]) == [InputEvent(1000.5, EV_KEY, KEY_A, 1)]


@PROPERTY
@given(text=st.text(alphabet="0123456789ABCXYZabc-/ ", min_size=1, max_size=20), cuts=cut_points)
def test_records_cut_anywhere_in_a_byte_stream_decode_the_same(text: str, cuts: list[int]) -> None:
    # A pty stand-in delivers the records as a byte stream; the record transport cuts it back into whole records.
    events = Typist(keymap_for("us")).type(text, 1000.0, enter=True)
    stream = encode_input_events(events)
    read_fd, write_fd = os.pipe()
    try:
        node = _Node("pipe", read_fd, 24)
        records = b""
        for piece in split_at(stream, cuts):
            node.chunks.append(piece)
            records += node.take() or b""
        assert records == stream
    finally:
        os.close(read_fd)
        os.close(write_fd)
    assert run(parse_input_events(records)) == [WedgeScan(text, text)]


# -- ends of scan -----------------------------------------------------------------------------------
def test_enter_ends_the_scan_at_its_key_up() -> None:
    decoder = KeyboardDecoder(keymap_for("us"))
    keys = Keys().tap(KEY_1).tap(KEY_2).change(KEY_ENTER, 1)
    assert [item for e in keys.events for item in decoder.feed(e)] == []
    assert decoder.pending
    assert decoder.feed(InputEvent(2000.0, EV_KEY, KEY_ENTER, 0)) == [WedgeScan("12", "12")]
    assert not decoder.pending


def test_keypad_enter_ends_a_scan_too() -> None:
    assert run(Keys().tap(KEY_1).tap(KEY_KPENTER)) == [WedgeScan("1", "1")]


def test_a_stray_enter_is_no_scan() -> None:
    assert run(Keys().tap(KEY_ENTER).tap(KEY_ENTER)) == []


def test_configured_suffix_ends_and_is_stripped_prefix_too() -> None:
    keys = Keys().tap(KEY_B).tap(KEY_1).tap(KEY_2).tap(KEY_TAB).tap(KEY_2).tap(KEY_TAB)
    out = run(keys, enter_ends_scan=False, suffix="\t", prefix="b")
    assert out == [WedgeScan("12", "b12\t"), WedgeScan("2", "2\t")]


def test_with_enter_off_enter_is_a_character() -> None:
    keys = Keys().tap(KEY_1).tap(KEY_ENTER).tap(KEY_TAB)
    assert run(keys, enter_ends_scan=False, suffix="\r\t") == [WedgeScan("1", "1\r\t")]


def test_inter_key_gap_ends_a_scan_by_the_events_own_timestamps() -> None:
    keys = Keys(step=0.004).tap(KEY_1).tap(KEY_2).wait(0.050).tap(KEY_A).tap(KEY_B)
    decoder = KeyboardDecoder(keymap_for("us"), enter_ends_scan=False, gap_s=0.030)
    out = [item for e in keys.events for item in decoder.feed(e)]
    assert out == [WedgeScan("12", "12")]
    # The last scan ends when the driver sees the keys stopped (no further event): end_by_gap.
    assert decoder.end_by_gap() == [WedgeScan("ab", "ab")]


def test_scans_50_ms_apart_are_never_merged_or_split_whatever_the_reading_delay() -> None:
    # Two Enter-terminated scans 50 ms apart arrive in one read (the daemon was busy): still two scans.
    keys = Keys(step=0.001)
    for code in (KEY_1, KEY_2, KEY_E):
        keys.tap(code)
    keys.enter().wait(0.050)
    for code in (KEY_A, KEY_B):
        keys.tap(code)
    keys.enter()
    assert run(keys) == [WedgeScan("12e", "12e"), WedgeScan("ab", "ab")]
    assert run(keys, gap_s=0.030) == [WedgeScan("12e", "12e"), WedgeScan("ab", "ab")]


def test_a_decoder_needs_an_end_of_scan() -> None:
    with pytest.raises(ValueError, match="end"):
        KeyboardDecoder(keymap_for("us"), enter_ends_scan=False)


# -- modifiers ----------------------------------------------------------------------------------------
def test_shift_and_caps_lock_are_tracked() -> None:
    keys = Keys().change(KEY_LEFTSHIFT, 1).tap(KEY_A).change(KEY_LEFTSHIFT, 0).tap(KEY_A)
    keys.tap(KEY_CAPSLOCK).tap(KEY_A).change(KEY_LEFTSHIFT, 1).tap(KEY_A).tap(KEY_1).change(KEY_LEFTSHIFT, 0)
    keys.tap(KEY_1).tap(KEY_CAPSLOCK).tap(KEY_A).enter()
    # Caps Lock capitalizes letters only, and Shift undoes it on letters: "Aa" "A" "a!" "1" "a".
    assert run(keys) == [WedgeScan("AaAa!1a", "AaAa!1a")]


def test_altgr_types_the_third_level() -> None:
    # de: AltGr+Q is @, AltGr+E is €; fr: AltGr+0 (KEY_0 = 11) is @.
    keys = Keys().change(KEY_RIGHTALT, 1).tap(16).tap(KEY_E).change(KEY_RIGHTALT, 0).tap(16).enter()
    assert run(keys, "de") == [WedgeScan("@€q", "@€q")]
    assert run(Keys().change(KEY_RIGHTALT, 1).tap(11).change(KEY_RIGHTALT, 0).enter(), "fr") == [WedgeScan("@", "@")]


def test_dead_keys_compose_and_a_dead_key_alone_is_reported() -> None:
    # de: the key right of ß (KEY_EQUAL) is the dead acute accent; dead acute + e = é.
    assert run(Keys().tap(KEY_EQUAL).tap(KEY_E).enter(), "de") == [WedgeScan("é", "é")]
    # A dead key followed by a key it does not compose with makes no character: the scan is refused whole.
    out = run(Keys().tap(KEY_1).tap(KEY_EQUAL).tap(KEY_B).enter().tap(KEY_2).enter(), "de")
    problem = out[0]
    assert isinstance(problem, WedgeProblem)
    assert problem.typed == "1?"
    assert "dead key" in problem.reason
    assert out[1:] == [WedgeScan("2", "2")]


def test_fnc1_arrives_as_ctrl_right_bracket() -> None:
    keys = Keys().tap(KEY_1).change(KEY_LEFTCTRL, 1).tap(KEY_RIGHTBRACE).change(KEY_LEFTCTRL, 0).tap(KEY_2).enter()
    assert run(keys) == [WedgeScan("1\x1d2", "1\x1d2")]
    # de: ] is AltGr+9, so GS is Ctrl+AltGr+9.
    keys = Keys().change(KEY_LEFTCTRL, 1).change(KEY_RIGHTALT, 1).tap(KEY_9).change(KEY_RIGHTALT, 0)
    keys.change(KEY_LEFTCTRL, 0).enter()
    assert run(keys, "de") == [WedgeScan("\x1d", "\x1d")]


def test_auto_repeat_repeats_the_character_not_the_modifier() -> None:
    keys = Keys().change(KEY_A, 1).change(KEY_A, 2).change(KEY_A, 2).change(KEY_A, 0)
    keys.change(KEY_LEFTSHIFT, 1).change(KEY_LEFTSHIFT, 2).change(KEY_LEFTSHIFT, 0).tap(KEY_B).enter()
    assert run(keys) == [WedgeScan("aaab", "aaab")]


# -- bad input ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("code", [KEY_F1, 0x2FF, 700])
def test_unmappable_key_refuses_the_scan_and_the_next_one_decodes(code: int) -> None:
    out = run(Keys().tap(KEY_1).tap(code).tap(KEY_2).enter().tap(KEY_A).enter())
    problem, scan = out
    assert isinstance(problem, WedgeProblem)
    assert problem.typed == "1?2"
    assert f"key {code}" in problem.reason
    assert scan == WedgeScan("a", "a")


def test_a_scan_without_end_is_abandoned_whole() -> None:
    decoder = KeyboardDecoder(keymap_for("us"))
    for event in Keys().tap(KEY_1).tap(KEY_2).events:
        assert decoder.feed(event) == []
    assert decoder.end_by_gap() == []  # no gap configured: only the timeout may drop it
    problem = decoder.abandon()
    assert problem.typed == "12"
    assert "no end" in problem.reason
    assert not decoder.pending
    assert [item for e in Keys().tap(KEY_A).enter().events for item in decoder.feed(e)] == [WedgeScan("a", "a")]


@pytest.mark.parametrize(("end", "suffix", "raw"), [(KEY_ENTER, "", "2"), (KEY_TAB, "\t", "2\t")])
def test_over_long_input_is_dropped_whole_up_to_its_end(end: int, suffix: str, raw: str) -> None:
    # Found by tests/fuzz/fuzz_wedge.py: the characters after the limit used to start a new scan, so the end of
    # an over-long input was published as a scan ("1a" here).
    keys = Keys()
    for _ in range(12):
        keys.tap(KEY_1)
    out = run(keys.tap(KEY_A).tap(end).tap(KEY_2).tap(end), max_length=10, suffix=suffix, enter_ends_scan=not suffix)
    assert out == [WedgeProblem("input longer than 10 characters without an end", "1" * 10), WedgeScan("2", raw)]


def test_over_long_input_without_an_end_is_dropped_once_by_the_timeout() -> None:
    decoder = KeyboardDecoder(keymap_for("us"), max_length=10)
    keys = Keys()
    for _ in range(50):
        keys.tap(KEY_1)
    assert [item for event in keys.events for item in decoder.feed(event)] == []
    assert decoder.pending
    assert decoder.abandon() == WedgeProblem("input longer than 10 characters without an end", "1" * 10)
    assert [item for event in Keys().tap(KEY_2).enter().events for item in decoder.feed(event)] == [WedgeScan("2", "2")]
