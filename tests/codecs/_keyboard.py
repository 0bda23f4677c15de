"""Test helpers for keyboard-wedge decoding: an independent oracle and key-event building.

The oracle is libxkbcommon's own ``xkbcli how-to-type`` tool (Debian ``libxkbcommon-tools``): for a
character it lists every key and modifier set that types it on a layout. Dead-key characters come from
the X compose table that libxkbcommon reads (``<dead_acute> <e> : "é"``), with the dead key and the
base key again from ``how-to-type``. None of this goes through posd's reverse lookup.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from drivers.wedge.codec import EV_KEY, EV_MSC, EV_SYN, MSC_SCAN, InputEvent

# linux/input-event-codes.h
KEY_LEFTSHIFT, KEY_CAPSLOCK, KEY_RIGHTALT = 42, 58, 100
KEY_ENTER, KEY_KPENTER = 28, 96
XKB_OFFSET = 8  # xkb keycode = evdev code + 8

COMPOSE_FILE = Path("/usr/share/X11/locale/en_US.UTF-8/Compose")
XKBCLI = shutil.which("xkbcli")

#: The layouts the issue names, as (layout, variant), and the letters each one has of its own.
LAYOUTS: dict[tuple[str, str], str] = {
    ("us", ""): "",
    ("br", "abnt2"): "çÇáéíóúàâêôãõüÁÉÍÓÚÀÂÊÔÃÕÜ",
    ("de", ""): "äöüÄÖÜßéèáà§°€µ",
    ("fr", ""): "éèàçùâêîôûëïüÿÂÊÎÔÛËÏÜ€£§µ°²",
    ("es", ""): "ñÑçÇáéíóúüÁÉÍÓÚÜ¡¿ºª€",
}
PRINTABLE_ASCII = "".join(chr(c) for c in range(0x20, 0x7F))

_LINE = re.compile(r"^(\d+)\s+(\S+)\s+(\d+)\s+(.*?)\s+(\d+)\s+\[(.*)\]\s*$")
_COMPOSE_LINE = re.compile(r'^<(dead_\w+)>\s+<(\w+)>\s*:\s*"((?:\\.|[^"\\])*)"')


@dataclass(frozen=True)
class Way:
    """One way to type a keysym: the xkb keycode and the modifier names (Shift, Lock, Mod5, …)."""

    keycode: int
    modifiers: frozenset[str]

    @property
    def code(self) -> int:
        return self.keycode - XKB_OFFSET


def how_to_type(layout: str, variant: str, what: str, *, keysym: bool = False) -> list[Way]:
    assert XKBCLI is not None, "xkbcli (Debian libxkbcommon-tools) is needed as the oracle"
    argv = [XKBCLI, "how-to-type", "--layout", layout]
    if variant:
        argv += ["--variant", variant]
    if keysym:
        argv.append("--keysym")
    argv.append(what)
    result = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=True)
    ways = []
    for line in result.stdout.splitlines():
        match = _LINE.match(line)
        if match:
            ways.append(Way(int(match.group(1)), frozenset(match.group(6).split())))
    return ways


@functools.cache
def compose_pairs() -> dict[str, list[tuple[str, str]]]:
    """Character → [(dead keysym, base keysym)] from the two-key lines of the compose table."""
    pairs: dict[str, list[tuple[str, str]]] = {}
    for line in COMPOSE_FILE.read_text("utf-8").splitlines():
        match = _COMPOSE_LINE.match(line)
        if match:
            text = re.sub(r"\\(.)", r"\1", match.group(3))
            pairs.setdefault(text, []).append((match.group(1), match.group(2)))
    return pairs


#: The keysym that sets each real modifier (its key is looked up per layout with how-to-type).
MODIFIER_KEYSYMS = {
    "Shift": "Shift_L",
    "Lock": "Caps_Lock",
    "Control": "Control_L",
    "Mod2": "Num_Lock",
    "Mod5": "ISO_Level3_Shift",
}


@functools.cache
def modifier_keys(layout: str, variant: str) -> dict[str, int]:
    """Real modifier name → evdev code of a key that sets it on this layout (unshifted)."""
    found = {}
    for modifier, keysym in MODIFIER_KEYSYMS.items():
        ways = [w for w in how_to_type(layout, variant, keysym, keysym=True) if not w.modifiers]
        if ways:
            found[modifier] = ways[-1].code
    return found


@functools.cache
def oracle(layout: str, variant: str) -> dict[str, list[list[Way]]]:
    """Character → every way (a list of key strokes) to type it on the layout, per libxkbcommon.

    Ways that hold Caps Lock together with AltGr are left out: ``how-to-type`` reports the level, but
    libxkbcommon's state then applies the Caps Lock capitalization where the key type does not use Lock
    (de: Caps+AltGr+M gives the capital of µ), which every libxkbcommon client, posd included, follows.
    """
    chars = PRINTABLE_ASCII + LAYOUTS[(layout, variant)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        direct = dict(zip(chars, pool.map(lambda c: how_to_type(layout, variant, f"0x{ord(c):x}"), chars), strict=True))
        needed = {c for c, ways in direct.items() if not ways}
        dead_ways: dict[tuple[str, str], list[Way]] = {}
        names = {name for c in needed for pair in compose_pairs().get(c, []) for name in pair}
        for name, ways in zip(
            sorted(names), pool.map(lambda n: how_to_type(layout, variant, n, keysym=True), sorted(names)), strict=True
        ):
            dead_ways[(name, "")] = ways
    usable = set(modifier_keys(layout, variant))

    def keep(way: Way) -> bool:
        return way.modifiers <= usable and not {"Lock", "Mod5"} <= way.modifiers

    result: dict[str, list[list[Way]]] = {}
    for char, ways in direct.items():
        for way in filter(keep, ways):
            result.setdefault(char, []).append([way])
    for char in needed:
        for dead, base in compose_pairs().get(char, []):
            for dead_way in filter(keep, dead_ways.get((dead, ""), [])):
                for base_way in filter(keep, dead_ways.get((base, ""), [])):
                    result.setdefault(char, []).append([dead_way, base_way])
    return result


class Keys:
    """Builds evdev event sequences like a USB keyboard's node reports them (MSC_SCAN, KEY, SYN)."""

    def __init__(self, start: float = 1000.0, step: float = 0.001) -> None:
        self.time = start
        self.step = step
        self.events: list[InputEvent] = []

    def change(self, code: int, value: int) -> Keys:
        self.events += [
            InputEvent(self.time, EV_MSC, MSC_SCAN, 0x70000 + code),
            InputEvent(self.time, EV_KEY, code, value),
            InputEvent(self.time, EV_SYN, 0, 0),
        ]
        self.time += self.step
        return self

    def tap(self, code: int) -> Keys:
        return self.change(code, 1).change(code, 0)

    def wait(self, seconds: float) -> Keys:
        self.time += seconds
        return self

    def way(self, way: Way, modifier_keys: dict[str, int], *, numlock_on: bool = True) -> Keys:
        """Type one oracle way, starting and ending with Caps Lock off and Num Lock as the decoder has it."""
        held = [modifier_keys[m] for m in sorted(way.modifiers - {"Lock", "Mod2"})]
        toggles = [modifier_keys["Lock"]] if "Lock" in way.modifiers else []
        if ("Mod2" in way.modifiers) != numlock_on:
            toggles.append(modifier_keys["Mod2"])
        for code in toggles:
            self.tap(code)
        for code in held:
            self.change(code, 1)
        self.tap(way.code)
        for code in reversed(held):
            self.change(code, 0)
        for code in toggles:
            self.tap(code)
        return self

    def enter(self, code: int = KEY_ENTER) -> Keys:
        return self.tap(code)


def first_ways(oracle_ways: dict[str, list[list[Way]]], text: Iterable[str]) -> list[Way]:
    return [way for char in text for way in oracle_ways[char][0]]
