"""AIM identifiers, GTIN check digits and symbology inference (drivers/symbology.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.symbology import AIM_FOR_SYMBOLOGY, SYMBOLOGIES, Symbol, gtin_check_digit_ok, identify, infer_symbology
from tests.codecs._streams import PROPERTY

# Real, published codes (product packaging / GS1 and Wikipedia examples).
EAN13_CODES = ["7891000315507", "4006381333931", "5901234123457"]
EAN8_CODE = "96385074"
UPCA_CODE = "036000291452"

digit_strings = st.text(alphabet="0123456789", min_size=1, max_size=17)


def ean13_check_digit_from_left(first12: str) -> int:
    """The textbook EAN-13 rule, counted from the left: odd positions x1, even positions x3."""
    odd = sum(int(d) for d in first12[0::2])
    even = sum(int(d) for d in first12[1::2])
    return (10 - (odd + 3 * even) % 10) % 10


# -- check digits ------------------------------------------------------------------------------------
@pytest.mark.parametrize("code", [*EAN13_CODES, EAN8_CODE, UPCA_CODE])
def test_real_codes_have_a_valid_check_digit(code: str) -> None:
    assert gtin_check_digit_ok(code)


@pytest.mark.parametrize("code", [*EAN13_CODES, EAN8_CODE, UPCA_CODE])
def test_every_other_check_digit_is_rejected(code: str) -> None:
    for wrong in "0123456789":
        if wrong != code[-1]:
            assert not gtin_check_digit_ok(code[:-1] + wrong), code[:-1] + wrong


def test_known_check_digits_worked_by_hand() -> None:
    # 400638133393: x1 on 4,0,3,1,3,9 = 20; x3 on 0,6,8,3,3,3 = 23 -> 20 + 69 = 89 -> check 1
    assert ean13_check_digit_from_left("400638133393") == 1
    # 590123412345: x1 on 5,0,2,4,2,4 = 17; x3 on 9,1,3,1,3,5 = 22 -> 17 + 66 = 83 -> check 7
    assert ean13_check_digit_from_left("590123412345") == 7
    assert gtin_check_digit_ok("4006381333931")
    # UPC-A 03600029145-2: 3*(0+6+0+2+1+5) + (3+0+0+9+4) = 42 + 16 = 58 -> 2
    assert gtin_check_digit_ok("036000291452")
    # EAN-8 9638507-4: 3*(9+3+5+7) + (6+8+0) = 72 + 14 = 86 -> 4
    assert gtin_check_digit_ok("96385074")


@pytest.mark.parametrize(
    "text",
    ["", "7", "abc", "400638133393a", "4006381333931 ", " 4006381333931", "40063813-33931", "+4006381333931"],
)
def test_non_digit_or_too_short_input_is_not_a_valid_gtin(text: str) -> None:
    assert not gtin_check_digit_ok(text)


@pytest.mark.parametrize(
    "text",
    [
        "12²",  # superscript two: str.isdigit() is True but it is no decimal digit
        "0³",
        "¹0",
        "٤٠٠٦٣٨١٣٣٣٩٣١",  # 4006381333931 in Arabic-Indic digits
        "４００６３８１３３３９３１",  # 4006381333931 in full-width digits
    ],
)
def test_non_ascii_digits_are_rejected_without_crashing(text: str) -> None:
    # A scanner label is decoded as UTF-8 or Latin-1 ("²" is byte 0xB2), so these reach the codec.
    assert not gtin_check_digit_ok(text)
    assert infer_symbology(text) == "UNKNOWN"
    assert identify(text) == Symbol(text, "UNKNOWN", None)


@PROPERTY
@given(body=st.text(alphabet="0123456789", min_size=1, max_size=17))
def test_exactly_one_check_digit_completes_any_body(body: str) -> None:
    valid = [d for d in "0123456789" if gtin_check_digit_ok(body + d)]
    assert len(valid) == 1


@PROPERTY
@given(first12=st.text(alphabet="0123456789", min_size=12, max_size=12))
def test_ean13_agrees_with_the_left_to_right_textbook_rule(first12: str) -> None:
    expected = str(ean13_check_digit_from_left(first12))
    for candidate in "0123456789":
        assert gtin_check_digit_ok(first12 + candidate) == (candidate == expected)


@PROPERTY
@given(code=st.sampled_from([*EAN13_CODES, EAN8_CODE, UPCA_CODE]), data=st.data())
def test_any_single_digit_error_is_detected(code: str, data: st.DataObject) -> None:
    position = data.draw(st.integers(min_value=0, max_value=len(code) - 1))
    replacement = data.draw(st.sampled_from([d for d in "0123456789" if d != code[position]]))
    corrupted = code[:position] + replacement + code[position + 1 :]
    assert not gtin_check_digit_ok(corrupted)


@PROPERTY
@given(code=st.sampled_from([*EAN13_CODES, EAN8_CODE, UPCA_CODE]), data=st.data())
def test_adjacent_transpositions_are_detected_unless_the_digits_differ_by_five(code: str, data: st.DataObject) -> None:
    i = data.draw(st.integers(min_value=0, max_value=len(code) - 2))
    a, b = code[i], code[i + 1]
    swapped = code[:i] + b + a + code[i + 2 :]
    if a == b or abs(int(a) - int(b)) == 5:
        assert gtin_check_digit_ok(swapped)  # the known blind spot of weights 3/1
    else:
        assert not gtin_check_digit_ok(swapped)


# -- inference ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("96385074", "EAN8"),
        ("036000291452", "UPCA"),
        ("4006381333931", "EAN13"),
        ("7891000315507", "EAN13"),
        ("5901234123457", "EAN13"),
        # GTIN-14 (ITF-14 carton code): indicator 1 + 400638133393; 3*(1+0+6+8+3+3+3) + (4+0+3+1+3+9)
        # = 72 + 20 = 92 -> check 8.
        ("14006381333938", "ITF"),
        ("14006381333936", "UNKNOWN"),
        ("4006381333932", "UNKNOWN"),  # bad check digit
        ("96385075", "UNKNOWN"),
        ("1234567895", "UNKNOWN"),  # valid mod 10 but no GTIN length
        ("ABC-123", "UNKNOWN"),
        ("", "UNKNOWN"),
    ],
)
def test_infer_symbology(data: str, expected: str) -> None:
    assert infer_symbology(data) == expected


@PROPERTY
@given(data=st.text(max_size=20))
def test_infer_symbology_is_total_and_only_names_known_symbologies(data: str) -> None:
    name = infer_symbology(data)
    assert name in SYMBOLOGIES
    if name != "UNKNOWN":
        assert data.isascii()
        assert data.isdigit()
        assert len(data) in (8, 12, 13, 14)


# -- AIM identifiers ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("]E04006381333931", Symbol("4006381333931", "EAN13", "]E0")),
        ("]E07891000315507", Symbol("7891000315507", "EAN13", "]E0")),
        # UPC-A travels as a 13-digit EAN with a leading 0 under ]E0.
        ("]E00036000291452", Symbol("036000291452", "UPCA", "]E0")),
        ("]E496385074", Symbol("96385074", "EAN8", "]E4")),
        ("]C1010400638133393110ABC", Symbol("010400638133393110ABC", "GS1_128", "]C1")),
        ("]C0HELLO-128", Symbol("HELLO-128", "CODE128", "]C0")),
        ("]Q1https://example.com/x", Symbol("https://example.com/x", "QR", "]Q1")),
        ("]Q3010400638133393", Symbol("010400638133393", "GS1_QR", "]Q3")),
        ("]d2010400638133393", Symbol("010400638133393", "GS1_DATAMATRIX", "]d2")),
        ("]d1anything", Symbol("anything", "DATAMATRIX", "]d1")),
        ("]A0CODE39", Symbol("CODE39", "CODE39", "]A0")),
        ("]I014006381333938", Symbol("14006381333938", "ITF", "]I0")),
        ("]L0pdf", Symbol("pdf", "PDF417", "]L0")),
        ("]z0aztec", Symbol("aztec", "AZTEC", "]z0")),
        ("]e0databar", Symbol("databar", "GS1_DATABAR", "]e0")),
        ("]F0A123B", Symbol("A123B", "CODABAR", "]F0")),
        ("]G0C93", Symbol("C93", "CODE93", "]G0")),
    ],
)
def test_identify_strips_and_interprets_the_aim_identifier(label: str, expected: Symbol) -> None:
    assert identify(label) == expected


def test_a_leading_zero_is_only_upca_under_e0() -> None:
    # Twelve digits under ]E0 is not a UPC-A in EAN-13 form; 13 digits not starting with 0 are EAN-13.
    assert identify("]E04006381333931").symbology == "EAN13"
    assert identify("]E0036000291452").symbology == "EAN13"
    assert identify("]E0036000291452").data == "036000291452"


def test_symbology_ids_are_case_sensitive() -> None:
    # ]d2 is GS1 DataMatrix, ]D? is not a DataMatrix identifier at all.
    assert identify("]D2xyz").symbology != "GS1_DATAMATRIX"


@pytest.mark.parametrize("label", ["4006381333931", "96385074", "036000291452", "hello", "", "]", "]E", "]X0abc"])
def test_labels_without_a_known_aim_identifier_are_kept_whole(label: str) -> None:
    symbol = identify(label)
    assert symbol.data == label
    assert symbol.aim is None
    assert symbol.symbology == infer_symbology(label)


def test_no_aim_inference_examples() -> None:
    assert identify("4006381333931") == Symbol("4006381333931", "EAN13", None)
    assert identify("96385074") == Symbol("96385074", "EAN8", None)
    assert identify("036000291452") == Symbol("036000291452", "UPCA", None)
    assert identify("]X0abc") == Symbol("]X0abc", "UNKNOWN", None)


@PROPERTY
@given(
    symbology=st.sampled_from(sorted(set(AIM_FOR_SYMBOLOGY) - {"UPCA", "UPCE"})),
    data=st.text(alphabet="0123456789ABCXYZ-/ ", min_size=1, max_size=30),
)
def test_the_simulator_aim_table_round_trips_through_identify(symbology: str, data: str) -> None:
    aim = AIM_FOR_SYMBOLOGY[symbology]
    if symbology == "EAN13" and len(data) == 13 and data.startswith("0"):
        data = "9" + data[1:]  # that shape is UPC-A by definition
    if symbology == "EAN13" and len(data) == 8:
        data += "0"  # eight characters under ]E0 are UPC-E by definition
    assert identify(aim + data) == Symbol(data, symbology, aim)


def test_upce_under_e0_and_ean8_under_e4() -> None:
    assert identify("]E001234565") == Symbol("01234565", "UPCE", "]E0")
    assert identify("]E496385074") == Symbol("96385074", "EAN8", "]E4")


@PROPERTY
@given(upc=st.text(alphabet="0123456789", min_size=12, max_size=12))
def test_upca_in_ean13_form_is_reported_as_upca(upc: str) -> None:
    assert identify(AIM_FOR_SYMBOLOGY["UPCA"] + "0" + upc) == Symbol(upc, "UPCA", "]E0")


@PROPERTY
@given(label=st.text(max_size=40))
def test_identify_never_raises_and_keeps_the_data(label: str) -> None:
    symbol = identify(label)
    assert symbol.symbology in SYMBOLOGIES
    if symbol.aim is None:
        assert symbol.data == label
    else:
        assert label.startswith(symbol.aim)
        assert label.endswith(symbol.data)
        assert len(symbol.aim) == 3
