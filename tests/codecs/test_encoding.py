"""Text encoding per printer profile (drivers/escpos/encoding.py), checked through the device-side interpreter.

The alphabets here are built independently of the encoder: by *decoding* every byte of each code page the
profile lists, and every two-byte GB18030 sequence, the way a printer reads them.
"""

from __future__ import annotations

import functools
import unicodedata

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from drivers.escpos.document import Document
from drivers.escpos.encoding import TextEncoder, UnencodableText, encoder_for
from drivers.escpos.interpreter import EscposInterpreter
from drivers.escpos.profile import SIMULATED_PROFILE_NAME, PrinterProfile, get_profile
from drivers.escpos.render import RenderError, render_document
from tests.codecs._streams import PROPERTY

EPSON_80 = "TM-T20II"  # Epson-like 80 mm, Latin code pages, no double-byte mode
CLONE_58 = "POS-5890"  # 58 mm Chinese clone: GB18030 mode, on after ESC @
PROFILES = [EPSON_80, CLONE_58, SIMULATED_PROFILE_NAME]


@functools.cache
def alphabet(name: str) -> frozenset[str]:
    """Every character the printer can print, found by decoding bytes as the printer does."""
    profile = get_profile(name)
    chars: set[str] = set()
    for codec in profile.code_pages:
        for byte in [*range(0x20, 0x7F), *range(0x80, 0x100)]:
            try:
                char = bytes([byte]).decode(codec)
            except UnicodeDecodeError:
                continue
            if unicodedata.category(char)[0] != "C":
                chars.add(char)
    if profile.double_byte == "gb18030":
        for lead in range(0x81, 0xFF):
            for trail in [*range(0x40, 0x7F), *range(0x80, 0xFF)]:
                try:
                    char = bytes([lead, trail]).decode("gb18030")
                except UnicodeDecodeError:
                    continue
                if unicodedata.category(char)[0] != "C":
                    chars.add(char)
        chars.update(chr(code) for code in range(0x3400, 0x4DC0) if unicodedata.category(chr(code)) == "Lo")
    return frozenset(chars)


@functools.cache
def simple_alphabet(name: str) -> list[str]:
    """Printable characters that never combine with a neighbour under NFC (so each prints as itself)."""
    return sorted(
        char
        for char in alphabet(name)
        if unicodedata.combining(char) == 0
        and unicodedata.is_normalized("NFC", char)
        and not ("\u1100" <= char <= "\u11ff" or "\u3130" <= char <= "\u318f")  # Hangul jamo compose
    )


@functools.cache
def printable_chars(name: str) -> st.SearchStrategy[str]:
    return st.sampled_from(simple_alphabet(name))


#: Characters no receipt printer font here has: emoji, Hangul syllables, CJK Extension B, Devanagari letters.
FOREIGN = st.one_of(
    st.characters(min_codepoint=0x1F300, max_codepoint=0x1F5FF),
    st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3),
    st.characters(min_codepoint=0x20000, max_codepoint=0x2A6DF),
    st.characters(min_codepoint=0x0905, max_codepoint=0x0939),
)


def printed_lines(text: str, name: str, replacement: str = "?") -> list[str]:
    profile = get_profile(name)
    data = render_document(Document(blocks=[{"type": "text", "text": text}]), profile, replacement=replacement)
    printer = EscposInterpreter.for_profile(profile)
    assert printer.feed(data) == []
    assert printer.current_line == ""
    return printer.lines


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


# -- the round trip ------------------------------------------------------------------------------
RECEIPT_TEXTS = ["Pão de queijo — Ação R$ 12,50 €", "Größe ß", "¿Año?", "收银台 你好"]


@pytest.mark.parametrize("name", [CLONE_58, SIMULATED_PROFILE_NAME])
def test_receipt_mixing_portuguese_german_spanish_and_chinese_round_trips(name: str) -> None:
    profile = get_profile(name)
    document = Document(blocks=[{"type": "text", "text": text} for text in RECEIPT_TEXTS])
    printer = EscposInterpreter.for_profile(profile)
    printer.feed(render_document(document, profile, strict=True))
    assert printer.lines == RECEIPT_TEXTS


def test_the_latin_part_round_trips_on_an_epson_without_double_byte_and_cjk_is_replaced() -> None:
    assert printed_lines("\n".join(RECEIPT_TEXTS), EPSON_80) == [*RECEIPT_TEXTS[:3], "??? ??"]


# -- hypothesis: the alphabet round-trips, everything else is the replacement ----------------------------
@pytest.mark.parametrize("name", PROFILES)
@PROPERTY
@given(data=st.data())
def test_any_text_over_the_profile_alphabet_round_trips(name: str, data: st.DataObject) -> None:
    text = "".join(data.draw(st.lists(printable_chars(name), max_size=15)))
    assert printed_lines(text, name) == [text]


@pytest.mark.parametrize("name", PROFILES)
@PROPERTY
@given(data=st.data(), replacement=st.sampled_from(["?", "*", "[?]"]))
def test_any_other_character_becomes_the_replacement(name: str, data: st.DataObject, replacement: str) -> None:
    pieces = data.draw(st.lists(st.one_of(printable_chars(name), FOREIGN), min_size=1, max_size=10))
    assume(any(piece not in alphabet(name) for piece in pieces))
    expected = "".join(piece if piece in alphabet(name) else replacement for piece in pieces)
    assert printed_lines("".join(pieces), name, replacement) == [expected]


@pytest.mark.parametrize("name", PROFILES)
@PROPERTY
@given(text=st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\t\r\n"), max_size=12))
def test_arbitrary_unicode_prints_as_an_equivalent_text_or_the_replacement(name: str, text: str) -> None:
    """Whatever the input, each base character with its marks prints canonically equivalent, or as '?'."""
    (line,) = printed_lines(text, name)
    assert all(char in alphabet(name) for char in line)
    expected = []
    for cluster in clusters(text):
        forms = (nfc(cluster), cluster, unicodedata.normalize("NFD", cluster))
        if any(all(char in alphabet(name) for char in form) for form in forms):
            expected.append(cluster)  # some canonically equivalent form prints
        else:
            expected.append("".join(char if char in alphabet(name) else "?" for char in cluster))
    assert nfc(line) == nfc("".join(expected))


def clusters(text: str) -> list[str]:
    out: list[str] = []
    for char in text:
        if out and unicodedata.combining(char):
            out[-1] += char
        else:
            out.append(char)
    return out


@pytest.mark.parametrize("name", PROFILES)
@PROPERTY
@given(data=st.data())
def test_strict_refuses_exactly_the_texts_with_a_foreign_character(name: str, data: st.DataObject) -> None:
    pieces = data.draw(st.lists(st.one_of(printable_chars(name), FOREIGN), max_size=8))
    text = "".join(pieces)
    document = Document(blocks=[{"type": "text", "text": "ok"}, {"type": "text", "text": text}])
    foreign = [piece for piece in pieces if piece not in alphabet(name)]
    if foreign:
        with pytest.raises(RenderError) as caught:
            render_document(document, get_profile(name), strict=True)
        assert caught.value.code == "unencodable_text"
        assert f"U+{ord(foreign[0]):04X}" in str(caught.value)
        assert str(caught.value).startswith("blocks[1] (text): ")
    else:
        render_document(document, get_profile(name), strict=True)


# -- bytes, worked out by hand from the code page tables -------------------------------------------------
def encode(name: str, text: str) -> bytes:
    encoder = encoder_for(get_profile(name))
    _, state = encoder.start()
    data, _ = encoder.encode(encoder.prepare(text), state)
    return data


def test_start_selects_usa_free_state_explicitly() -> None:
    # TM-T20II: CP858 is ESC t 19 (0x13). The clone also leaves double-byte mode (FS .) first.
    assert encoder_for(get_profile(EPSON_80)).start()[0] == b"\x1bt\x13"
    assert encoder_for(get_profile(CLONE_58)).start()[0] == b"\x1c.\x1bt\x13"


def test_portuguese_stays_in_cp858() -> None:
    assert encode(EPSON_80, "Pão ação €") == b"P\xc6o a\x87\xc6o \xd5"  # ç 0x87, ã 0xC6, € 0xD5


def test_em_dash_switches_to_wpc1252_and_stays_there() -> None:
    # "—" is in no DOS page; WPC1252 (ESC t 16) has it at 0x97 and also has ã (0xE3) and € (0x80).
    assert encode(EPSON_80, "Pão — R$ €") == b"P\xc6o \x1bt\x10\x97 R$ \x80"


def test_chinese_goes_in_double_byte_mode_and_latin_leaves_it() -> None:
    assert encode(SIMULATED_PROFILE_NAME, "收银台 é") == b"\x1c&\xca\xd5\xd2\xf8\xcc\xa8 \x1c.\x82"


def test_four_byte_gb18030_for_cjk_extension_a() -> None:
    assert encode(SIMULATED_PROFILE_NAME, "㐀") == b"\x1c&\x81\x39\xee\x39"


def test_cp864_percent_is_never_sent_as_0x25() -> None:
    # In CP864 byte 0x25 prints the Arabic percent sign: a profile with only CP864 cannot print "%".
    profile = get_profile(EPSON_80, {"code_pages": {"cp864": 37}})
    encoder = TextEncoder(profile)
    assert encoder.prepare("5%") == "5?"
    assert encoder.prepare("5٪") == "5٪"
    _, state = encoder.start()
    assert encoder.encode("5٪", state)[0] == b"5%"


def test_decomposed_input_prints_composed() -> None:
    assert printed_lines("Ac\u0327a\u0303o \u212b", EPSON_80) == ["Ação Å"]


def test_unencodable_error_names_the_character() -> None:
    encoder = encoder_for(get_profile(EPSON_80))
    with pytest.raises(UnencodableText, match=r"U\+AC00 HANGUL SYLLABLE GA"):
        encoder.prepare("ok 가", strict=True)


def test_control_characters_are_never_sent() -> None:
    # ESC, DLE EOT and NUL inside text would be commands: they print as the replacement.
    assert printed_lines("a\x1b@b\x10\x04\x01c\x00", EPSON_80) == ["a?@b???c?"]


def test_replacement_must_be_printable() -> None:
    profile: PrinterProfile = get_profile(EPSON_80)
    with pytest.raises(RenderError) as caught:
        render_document(Document(blocks=[{"type": "text", "text": "x"}]), profile, replacement="가")
    assert caught.value.code == "invalid_document"
