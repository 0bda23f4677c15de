"""Streaming decoders keep bounded state on large adversarial input: whatever a device sends, a decoder holds at
most a frame's worth, so memory (and the work a frame is re-scanned with) cannot grow with the stream.

Plain pytest, no atheris and no timing assertions. The inputs come from the harness seeds: each frame's first
byte repeated, a frame's start followed by a body that never ends, and frames cut short one after the other;
fed whole (256 KB), in 4 KB reads (64 KB) and byte by byte (16 KB). Time per byte is measured by hand, not here.
"""

from __future__ import annotations

import itertools
import re
import types
from collections import deque
from collections.abc import Callable
from typing import Any

import pytest

from drivers.cas.codec import CasDecoder
from drivers.cd5220.codec import DisplayInterpreter
from drivers.epson_dmd.codec import DmdInterpreter
from drivers.escpos.codec import StatusDecoder
from drivers.hidpos.codec import HidPosAssembler, encode_reports
from drivers.hidscale.codec import HidScaleDecoder
from drivers.logic_controls.codec import LogicControlsInterpreter
from drivers.mtsics.codec import SicsDecoder
from drivers.nci.codec import NciDecoder
from drivers.serial_drawer.codec import StatusDecoder as DrawerStatusDecoder
from drivers.serial_scanner.codec import LineFramer
from drivers.toledo.codec import ToledoDecoder
from drivers.toledo.continuous import ContinuousDecoder
from drivers.toledo.prix import PrixDecoder
from drivers.urano.codec import UranoDecoder
from drivers.wedge.codec import EV_KEY, KEY_PRESSED, KEY_RELEASED, InputEvent, KeyboardDecoder
from drivers.wedge.xkb import keymap_for
from tests.fuzz._input import split_input
from tests.fuzz.seeds import SEEDS

LARGE = 256 * 1024
#: How much of each input goes in at each read size (each well over BOUND, so a decoder that hoards is caught).
READS = ((LARGE, LARGE), (4096, 64 * 1024), (1, 16 * 1024))
#: Items and bytes a decoder may hold: the largest frame any of them buffers (4 KB labels, 8 KB HID scans) and change.
BOUND = 10_000

#: Byte-stream decoders, by harness name; the ones marked True read a variant byte first in their seeds.
STREAMS: dict[str, tuple[Callable[[], Any], bool]] = {
    "toledo_scp": (ToledoDecoder, False),
    "toledo_continuous": (ContinuousDecoder, False),
    "toledo_prix": (PrixDecoder, False),
    "nci": (NciDecoder, False),
    "mtsics": (SicsDecoder, False),
    "urano": (UranoDecoder, False),
    "cas_dc1": (lambda: CasDecoder("dc1"), False),
    "cas_dc2": (lambda: CasDecoder("dc2"), False),
    "hidscale": (HidScaleDecoder, False),
    "serial_scanner": (LineFramer, True),
    "escpos_status": (StatusDecoder, False),
    "serial_drawer": (DrawerStatusDecoder, False),
    "epson_dmd": (DmdInterpreter, False),
    "logic_controls": (LogicControlsInterpreter, False),
    "cd5220": (DisplayInterpreter, False),
}
#: Harnesses whose parser is tested below with its own kind of input, or keeps no state between inputs.
OTHERS = {
    "hidpos": "reports: test_hid_pos_scans_that_never_end_are_dropped_at_the_limit",
    "wedge": "key events: test_typing_that_never_ends_is_dropped_at_the_limit",
    "symbology": "one label at a time, no state",
    "display_text": "one text at a time, no state",
    "kick_detect": "one whole job at a time",
    "escpos_interpreter": "the printer model waits for the length a command declares (GS 8 L: up to 4 GB), "
    "and keeps every printed line: by design; not bounded",
}

_OPAQUE = (types.FunctionType, types.BuiltinFunctionType, types.MethodType, types.ModuleType, type, re.Pattern)


def retained(obj: object, seen: set[int] | None = None) -> int:
    """Bytes, characters and container items reachable from ``obj``'s attributes: what a decoder holds on to."""
    seen = set() if seen is None else seen
    if id(obj) in seen or obj is None or isinstance(obj, (int, float, *_OPAQUE)):
        return 0
    seen.add(id(obj))
    if isinstance(obj, (bytes, bytearray, str)):
        return len(obj)
    if isinstance(obj, dict):
        return len(obj) + sum(retained(key, seen) + retained(value, seen) for key, value in obj.items())
    if isinstance(obj, (list, tuple, set, frozenset, deque)):
        return len(obj) + sum(retained(item, seen) for item in obj)
    slots = [getattr(obj, name) for name in getattr(type(obj), "__slots__", ()) if hasattr(obj, name)]
    return sum(retained(value, seen) for value in [*getattr(obj, "__dict__", {}).values(), *slots])


def adversarial(name: str) -> dict[bytes, str]:
    """Distinct adversarial inputs made of the harness's first two seed frames → what each is."""
    inputs: dict[bytes, str] = {}
    for index, seed in enumerate(SEEDS[name][:2]):
        frame = split_input(seed)[0][1 if STREAMS[name][1] else 0 :]
        cut_short = frame[:-1] or frame
        inputs.setdefault(frame[:1] * LARGE, f"seed{index}: its first byte repeated")
        inputs.setdefault(frame[:1] + frame[1:2] * LARGE, f"seed{index}: its start, then a body without end")
        inputs.setdefault((cut_short * (LARGE // len(cut_short) + 1))[:LARGE], f"seed{index}: frames cut short")
    return inputs


def test_every_streaming_harness_is_held_to_bounded_state() -> None:
    assert set(STREAMS) | set(OTHERS) == set(SEEDS)
    assert not set(STREAMS) & set(OTHERS)


@pytest.mark.parametrize("name", sorted(STREAMS))
def test_a_decoder_holds_at_most_a_frame_whatever_it_is_fed(name: str) -> None:
    new = STREAMS[name][0]
    for data, kind in adversarial(name).items():
        for read, size in READS:
            decoder = new()
            for start in range(0, size, read):
                decoder.feed(data[start : start + read])
            assert retained(decoder) <= BOUND, (kind, read, retained(decoder))


def test_retained_sees_a_growing_buffer() -> None:
    class Hoarder:
        def __init__(self) -> None:
            self._buffer = bytearray()

        def feed(self, data: bytes) -> None:
            self._buffer += data

    hoarder = Hoarder()
    hoarder.feed(b"x" * (BOUND + 1))
    assert retained(hoarder) > BOUND


def test_hid_pos_scans_that_never_end_are_dropped_at_the_limit() -> None:
    assembler = HidPosAssembler()
    more = encode_reports(b"]Q1", b"x" * 56 * 2)[0]  # a first report: "more reports follow"
    other_aim = encode_reports(b"]d2", b"y" * 56 * 2)[0]
    for report in itertools.islice(itertools.cycle([more] * 7 + [other_aim]), LARGE // 64):
        assembler.feed(report)
        assert retained(assembler) <= BOUND


@pytest.mark.parametrize("suffix", ["", "\t"])
def test_typing_that_never_ends_is_dropped_at_the_limit(suffix: str) -> None:
    decoder = KeyboardDecoder(keymap_for("us"), suffix=suffix)
    key_a = 30
    for index in range(LARGE // 8):  # 32 K keys without an end: 8 times the 4096-character limit
        decoder.feed(InputEvent(index * 0.001, EV_KEY, key_a, KEY_PRESSED))
        decoder.feed(InputEvent(index * 0.001, EV_KEY, key_a, KEY_RELEASED))
        if index % 1000 == 0:
            assert retained(decoder) <= BOUND
    problem = decoder.abandon()  # the driver's timeout: one problem, holding the first 4096 characters
    assert len(problem.typed) == 4096
    assert "longer than 4096" in problem.reason
