"""Keyboard-wedge decoding on real layouts: us, br(abnt2), de, fr, es.

Expected key sequences come from libxkbcommon's ``xkbcli how-to-type`` and the X compose table
(tests/codecs/_keyboard.py), never from a table here or from posd's own reverse lookup; a few facts
are checked against what the layouts are known for (AZERTY's A on the Q key, QWERTZ, the ABNT2 key).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.wedge.codec import KeyboardDecoder, WedgeScan
from drivers.wedge.simulator import Typist
from drivers.wedge.xkb import UnknownLayout, keymap_for
from tests.codecs._keyboard import (
    KEY_KPENTER,
    LAYOUTS,
    PRINTABLE_ASCII,
    XKBCLI,
    Keys,
    Way,
    first_ways,
    how_to_type,
    modifier_keys,
    oracle,
)
from tests.codecs._streams import PROPERTY


def test_the_oracle_is_installed() -> None:
    # .ci/bootstrap installs libxkbcommon-tools for the tests; without it the layout tests cannot run.
    assert XKBCLI is not None, "xkbcli missing: apt-get install libxkbcommon-tools (see .ci/bootstrap)"


LAYOUT_IDS = [f"{layout}({variant})" if variant else layout for layout, variant in LAYOUTS]


def decode(layout: str, variant: str, keys: Keys) -> list[object]:
    decoder = KeyboardDecoder(keymap_for(layout, variant))
    out: list[object] = []
    for event in keys.events:
        out += decoder.feed(event)
    return out


@pytest.mark.parametrize(("layout", "variant"), list(LAYOUTS), ids=LAYOUT_IDS)
def test_every_printable_ascii_character_and_the_layouts_letters_decode_every_way(layout: str, variant: str) -> None:
    ways = oracle(layout, variant)
    modifiers = modifier_keys(layout, variant)
    wanted = PRINTABLE_ASCII + LAYOUTS[(layout, variant)]
    assert set(wanted) <= set(ways), f"the oracle cannot type {sorted(set(wanted) - set(ways))!r}"
    checked = 0
    for char in wanted:
        for way in ways[char]:
            keys = Keys()
            for stroke in way:
                keys.way(stroke, modifiers)
            out = decode(layout, variant, keys.enter())
            assert out == [WedgeScan(char, char)], (char, way)
            checked += 1
    assert checked >= len(wanted)


@pytest.mark.parametrize(("layout", "variant"), list(LAYOUTS), ids=LAYOUT_IDS)
def test_the_whole_set_typed_as_one_scan_decodes_to_the_same_text(layout: str, variant: str) -> None:
    text = PRINTABLE_ASCII + LAYOUTS[(layout, variant)]
    keys = Keys()
    for way in first_ways(oracle(layout, variant), text):
        keys.way(way, modifier_keys(layout, variant))
    assert decode(layout, variant, keys.enter(KEY_KPENTER)) == [WedgeScan(text, text)]


@pytest.mark.parametrize(
    ("layout", "variant", "char", "code", "modifiers"),
    [
        # AZERTY: A is on the key a US keyboard calls Q (evdev KEY_Q = 16); digits need Shift.
        ("fr", "", "a", 16, set()),
        ("fr", "", "1", 2, {"Shift"}),
        # QWERTZ: Z and Y swap (KEY_Y = 21 types z); ß sits on KEY_MINUS (12).
        ("de", "", "z", 21, set()),
        ("de", "", "ß", 12, set()),
        # ABNT2: the extra key next to right Shift (KEY_RO = 89) types "/" and "?"; ç on KEY_SEMICOLON (39).
        ("br", "abnt2", "/", 89, set()),
        ("br", "abnt2", "?", 89, {"Shift"}),
        ("br", "abnt2", "ç", 39, set()),
        # Spanish: ñ on KEY_SEMICOLON (39).
        ("es", "", "ñ", 39, set()),
        ("us", "", "@", 3, {"Shift"}),
    ],
)
def test_known_key_positions(layout: str, variant: str, char: str, code: int, modifiers: set[str]) -> None:
    ways = how_to_type(layout, variant, f"0x{ord(char):x}")
    way = Way(code + 8, frozenset(modifiers))
    assert way in ways
    keys = Keys().way(way, modifier_keys(layout, variant)).enter()
    assert decode(layout, variant, keys) == [WedgeScan(char, char)]


def test_the_same_keys_mean_different_text_on_different_layouts() -> None:
    # protocols.md §4: a scanner set to US typing "004HQ3" into a host set to French AZERTY gives àà'HA".
    keys = Keys()
    for way in first_ways(oracle("us", ""), "004HQ3"):
        keys.way(way, modifier_keys("us", ""))
    keys.enter()
    assert decode("us", "", keys) == [WedgeScan("004HQ3", "004HQ3")]
    assert decode("fr", "", keys) == [WedgeScan("àà'HA\"", "àà'HA\"")]


@pytest.mark.parametrize(("char", "capital"), [("é", "É"), ("è", "È"), ("ç", "Ç"), ("à", "À"), ("ù", "Ù")])
def test_caps_lock_makes_french_accented_capitals(char: str, capital: str) -> None:
    # AZERTY has no key for É: French typists use Caps Lock + é. Caps Lock is tracked like Shift and AltGr.
    (way,) = oracle("fr", "")[char][0]
    modifiers = modifier_keys("fr", "")
    keys = Keys().tap(modifiers["Lock"]).way(way, modifiers).tap(modifiers["Lock"]).way(way, modifiers).enter()
    assert decode("fr", "", keys) == [WedgeScan(capital + char, capital + char)]
    assert Typist(keymap_for("fr", "")).strokes(capital)


def test_unknown_layout_and_variant_are_refused() -> None:
    with pytest.raises(UnknownLayout, match="'xx'"):
        keymap_for("xx")
    with pytest.raises(UnknownLayout, match=r"fr\(nope\)"):
        keymap_for("fr", "nope")


@pytest.mark.parametrize(("layout", "variant"), list(LAYOUTS), ids=LAYOUT_IDS)
def test_the_simulators_typist_covers_what_the_oracle_can_type(layout: str, variant: str) -> None:
    keymap = keymap_for(layout, variant)
    assert set(oracle(layout, variant)) <= keymap.typable()


def layout_text(layout: str, variant: str) -> st.SearchStrategy[str]:
    return st.text(alphabet=st.sampled_from(sorted(PRINTABLE_ASCII + LAYOUTS[(layout, variant)])), min_size=1)


@pytest.mark.parametrize(("layout", "variant"), list(LAYOUTS), ids=LAYOUT_IDS)
@PROPERTY
@given(data=st.data())
def test_random_strings_round_trip_through_the_layouts_key_sequences(
    layout: str, variant: str, data: st.DataObject
) -> None:
    text = data.draw(layout_text(layout, variant), label="text")
    typist = Typist(keymap_for(layout, variant))
    decoder = KeyboardDecoder(keymap_for(layout, variant))
    out = []
    for event in typist.type(text, 1000.0, enter=True):
        out += decoder.feed(event)
    assert out == [WedgeScan(text, text)]
