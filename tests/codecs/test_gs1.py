"""Symbology, validation and GS1 element strings of scanned labels (drivers/symbology.py: interpret).

Expected fields are written out by hand from the GS1 General Specifications' AI table (fixed lengths:
00 → 18, 01/02 → 14, 11/13/15/17 → 6, 310x → 6; 10/21/… variable, ended by FNC1 = GS); check digits are
computed here with the textbook left-to-right rule, not with posd's function.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.symbology import interpret, parse_gs1
from tests.codecs._streams import PROPERTY

GS = "\x1d"


def check_digit(body: str) -> str:
    """GS1 mod 10, counted from the left: with an odd count of digits the first has weight 3."""
    weights = [3, 1] if len(body) % 2 else [1, 3]
    total = sum(int(d) * weights[i % 2] for i, d in enumerate(body))
    return str((10 - total % 10) % 10)


def test_hand_check_digits() -> None:
    # 400638133393-1 (EAN-13 on a Faber-Castell pencil): 4+0+3+1+3+9 = 20, 3*(0+6+8+3+3+3) = 69 → 89 → 1.
    assert check_digit("400638133393") == "1"
    # GTIN-14 0400638133393-1 keeps the same check digit (a leading 0 adds nothing).
    assert check_digit("0400638133393") == "1"


GTIN14 = "04006381333931"
SSCC_BODY = "10614141123456789"
SSCC = SSCC_BODY + check_digit(SSCC_BODY)


@pytest.mark.parametrize(
    ("label", "data", "symbology", "aim", "gs1"),
    [
        ("]E04006381333931", "4006381333931", "EAN13", "]E0", None),
        ("]E496385074", "96385074", "EAN8", "]E4", None),
        ("]E00036000291452", "036000291452", "UPCA", "]E0", None),
        ("]E001234565", "01234565", "UPCE", "]E0", None),
        ("]C0ABC-123/x", "ABC-123/x", "CODE128", "]C0", None),
        # GS1-128: GTIN, weight 0.750 kg (3103), batch (variable, ended by FNC1), expiry, serial (variable, last).
        (
            f"]C101{GTIN14}3103000750" + f"10LOT-7{GS}17261231" + "21SN42",
            f"01{GTIN14}3103000750" + f"10LOT-7{GS}17261231" + "21SN42",
            "GS1_128",
            "]C1",
            {"01": GTIN14, "3103": "000750", "10": "LOT-7", "17": "261231", "21": "SN42"},
        ),
        # An SSCC with a batch ended by FNC1 and a count (37).
        (f"]C100{SSCC}10B1{GS}3712", f"00{SSCC}10B1{GS}3712", "GS1_128", "]C1", {"00": SSCC, "10": "B1", "37": "12"}),
        ("]Q1https://example.com/menu?x=1", "https://example.com/menu?x=1", "QR", "]Q1", None),
        ("]Q1Olá, 世界", "Olá, 世界", "QR", "]Q1", None),
        (
            f"]Q301{GTIN14}10ABC{GS}17251231",
            f"01{GTIN14}10ABC{GS}17251231",
            "GS1_QR",
            "]Q3",
            {"01": GTIN14, "10": "ABC", "17": "251231"},
        ),
        (f"]d201{GTIN14}21XYZ", f"01{GTIN14}21XYZ", "GS1_DATAMATRIX", "]d2", {"01": GTIN14, "21": "XYZ"}),
        # A GS1 Digital Link URI in a plain QR code: still a QR, with the AIs it carries.
        (
            f"]Q1https://id.gs1.org/01/{GTIN14}/10/ABC",
            f"https://id.gs1.org/01/{GTIN14}/10/ABC",
            "QR",
            "]Q1",
            {"01": GTIN14, "10": "ABC"},
        ),
    ],
)
def test_symbology_label_and_gs1_fields(
    label: str, data: str, symbology: str, aim: str, gs1: dict[str, str] | None
) -> None:
    result = interpret(label)
    assert (result.data, result.symbology, result.aim, result.problem) == (data, symbology, aim, None)
    assert result.gs1 == gs1


@pytest.mark.parametrize(
    ("label", "why"),
    [
        ("]E04006381333932", "check digit"),  # one digit off
        ("]E0400638133393", "length"),  # 12 digits under ]E0 are no EAN-13 … and no UPC-A form either
        ("]E496385075", "check digit"),
        ("]E001234566", "check digit"),  # UPC-E 0123456-5 expanded to UPC-A 01234500006-5
        (f"]C101{GTIN14[:-1]}2", "check digit"),  # GTIN in AI (01) with a wrong check digit
        ("]C117261341", "17"),  # month 13
        ("]C1ABC", "Application Identifier"),
        (f"]d200{SSCC[:10]}", "00"),  # SSCC too short
    ],
)
def test_data_that_breaks_its_symbologys_promise_is_reported_as_unknown_with_the_reason(label: str, why: str) -> None:
    result = interpret(label)
    assert result.symbology == "UNKNOWN"
    assert result.aim == label[:3]
    assert result.gs1 is None
    assert result.problem is not None
    assert why.lower() in result.problem.lower()


@pytest.mark.parametrize(
    ("label", "symbology", "gs1"),
    [
        ("4006381333931", "EAN13", None),
        ("96385074", "EAN8", None),
        ("036000291452", "UPCA", None),
        ("4006381333932", "UNKNOWN", None),
        (f"01{GTIN14}10ABC{GS}17261231", "GS1_128", {"01": GTIN14, "10": "ABC", "17": "261231"}),
        (f"01{GTIN14}", "GS1_128", {"01": GTIN14}),
        ("HELLO", "UNKNOWN", None),
    ],
)
def test_without_an_aim_identifier_the_symbology_is_inferred(
    label: str, symbology: str, gs1: dict[str, str] | None
) -> None:
    result = interpret(label)
    assert (result.data, result.symbology, result.aim, result.gs1) == (label, symbology, None, gs1)


def test_a_variable_field_without_its_fnc1_swallows_the_rest() -> None:
    # Why FNC1 matters: without GS after the batch, "17261231" is part of the batch.
    assert parse_gs1(f"01{GTIN14}10ABC17261231") == {"01": GTIN14, "10": "ABC17261231"}


# -- random element strings built from the AI table ------------------------------------------------
alnum = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-", min_size=1, max_size=20)
dates = st.dates().map(lambda d: d.strftime("%y%m%d"))


@st.composite
def gtins(draw: st.DrawFn) -> str:
    body = draw(st.text(alphabet="0123456789", min_size=13, max_size=13))
    return body + check_digit(body)


FIELDS: dict[str, tuple[st.SearchStrategy[str], bool]] = {
    # AI: (value strategy, variable length?)
    "01": (gtins(), False),
    "11": (dates, False),
    "17": (dates, False),
    "3103": (st.text(alphabet="0123456789", min_size=6, max_size=6), False),
    "10": (alnum, True),
    "21": (alnum, True),
    "37": (st.text(alphabet="0123456789", min_size=1, max_size=8), True),
}


@PROPERTY
@given(data=st.data())
def test_random_gs1_messages_parse_into_the_fields_they_were_built_from(data: st.DataObject) -> None:
    ais = data.draw(st.lists(st.sampled_from(sorted(FIELDS)), min_size=1, max_size=5, unique=True), label="ais")
    expected = {ai: data.draw(FIELDS[ai][0], label=ai) for ai in ais}
    message = ""
    for index, ai in enumerate(ais):
        message += ai + expected[ai]
        if FIELDS[ai][1] and index < len(ais) - 1:
            message += GS  # FNC1 ends a variable field unless it is the last
    for aim, symbology in (("]C1", "GS1_128"), ("]Q3", "GS1_QR"), ("]d2", "GS1_DATAMATRIX")):
        result = interpret(aim + message)
        assert (result.symbology, result.gs1, result.data) == (symbology, expected, message)
