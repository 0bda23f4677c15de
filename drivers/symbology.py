"""Barcode symbology: AIM identifiers (ISO/IEC 15424), check digits, inference, GS1 element strings.

Pure functions; shared by every scanner driver (serial, HID POS, keyboard wedge).

A symbology name in a scan is a promise about the data: EAN/UPC with the right length and a valid
check digit, a GS1 symbology with an element string that parses (known AIs, right lengths, valid
GTIN/SSCC/GLN check digits — parsed with biip). Data that breaks the promise of its AIM identifier was
corrupted on the way (or typed through the wrong keyboard layout): it is still reported, so the
cashier sees that something was scanned, but as ``UNKNOWN`` with the reason — a POS that looks up
EAN13 scans must never look up a code with a wrong check digit.
"""

from __future__ import annotations

from dataclasses import dataclass

#: AIM symbology identifier ("]" + code character + modifier) → posd/UPOS-style name.
#: A modifier of "*" matches any modifier not listed explicitly.
_AIM_NAMES: dict[str, str] = {
    "E0": "EAN13",
    "E4": "EAN8",
    "E*": "EAN13",
    "A*": "CODE39",
    "C1": "GS1_128",
    "C*": "CODE128",
    "F*": "CODABAR",
    "G*": "CODE93",
    "I*": "ITF",
    "L*": "PDF417",
    "Q3": "GS1_QR",
    "Q5": "GS1_QR",
    "Q*": "QR",
    "d2": "GS1_DATAMATRIX",
    "d*": "DATAMATRIX",
    "e*": "GS1_DATABAR",
    "z*": "AZTEC",
}

#: The identifier a scanner sends for each symbology (used by simulators).
AIM_FOR_SYMBOLOGY: dict[str, str] = {
    "EAN13": "]E0",
    "UPCA": "]E0",
    "UPCE": "]E0",
    "EAN8": "]E4",
    "CODE39": "]A0",
    "CODE93": "]G0",
    "CODE128": "]C0",
    "GS1_128": "]C1",
    "ITF": "]I0",
    "CODABAR": "]F0",
    "QR": "]Q1",
    "GS1_QR": "]Q3",
    "DATAMATRIX": "]d1",
    "GS1_DATAMATRIX": "]d2",
    "PDF417": "]L0",
    "AZTEC": "]z0",
    "GS1_DATABAR": "]e0",
}

SYMBOLOGIES: tuple[str, ...] = (*AIM_FOR_SYMBOLOGY, "UNKNOWN")


@dataclass(frozen=True, slots=True)
class Symbol:
    data: str
    symbology: str
    aim: str | None


def gtin_check_digit_ok(digits: str) -> bool:
    """Mod-10 check of EAN/UPC/GTIN: weights 3,1,3,… from the right, excluding the check digit."""
    # ASCII only: str.isdigit() also accepts "²" (int() then raises) and non-Latin digits.
    if not (digits.isascii() and digits.isdigit()) or len(digits) < 2:
        return False
    body, check = digits[:-1], int(digits[-1])
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


def _aim_name(code: str) -> str | None:
    return _AIM_NAMES.get(code) or _AIM_NAMES.get(code[0] + "*")


def infer_symbology(data: str) -> str:
    """Best guess without an AIM identifier: EAN/UPC lengths with a valid check digit, else UNKNOWN."""
    if data.isdigit() and gtin_check_digit_ok(data):
        return {8: "EAN8", 12: "UPCA", 13: "EAN13", 14: "ITF"}.get(len(data), "UNKNOWN")
    return "UNKNOWN"


def identify(label: str) -> Symbol:
    """Strip and interpret a leading AIM identifier (``]cm``), or infer the symbology from the data."""
    if len(label) >= 3 and label[0] == "]":
        name = _aim_name(label[1:3])
        if name is not None:
            data = label[3:]
            if name == "EAN13" and len(data) == 13 and data.startswith("0") and label[1:3] == "E0":
                # UPC-A travels as EAN-13 with a leading zero under ]E0; report it as the UPC-A it is.
                return Symbol(data[1:], "UPCA", label[:3])
            if name == "EAN13" and len(data) == 8 and label[1:3] == "E0":
                # ]E4 is EAN-8; eight digits under ]E0 are a UPC-E symbol.
                return Symbol(data, "UPCE", label[:3])
            return Symbol(data, name, label[:3])
    return Symbol(label, infer_symbology(label), None)


#: FNC1 as scanners transmit it.
GS = "\x1d"
GS1_SYMBOLOGIES = frozenset({"GS1_128", "GS1_QR", "GS1_DATAMATRIX", "GS1_DATABAR"})
_GTIN_LENGTHS = {"EAN13": 13, "EAN8": 8, "UPCA": 12}


class InvalidData(ValueError):
    """The data cannot be what its symbology says (bad check digit, length, element string)."""


# biip is imported where it is used: importing it loads every GS1 table (about 22 MB resident), which a till
# whose scanners never read a GS1 code should not pay for. The first GS1 scan loads it (once).


def parse_gs1(data: str) -> dict[str, str]:
    """A GS1 element string (FNC1 as GS) → {AI: value}; raises InvalidData with biip's reason."""
    from biip import ParseError
    from biip.gs1_messages import GS1Message

    try:
        message = GS1Message.parse(data)
    except (ParseError, ValueError) as err:
        raise InvalidData(str(err)) from err
    fields: dict[str, str] = {}
    for element in message.element_strings:
        error = element.gtin_error or element.sscc_error or element.gln_error
        if error:
            raise InvalidData(f"AI ({element.ai.ai}): {error}")
        if element.ai.ai in fields:
            raise InvalidData(f"AI ({element.ai.ai}) appears twice")
        fields[element.ai.ai] = element.value
    if not fields:
        raise InvalidData("empty element string")
    return fields


def digital_link_gs1(uri: str) -> dict[str, str] | None:
    """The AIs of a GS1 Digital Link URI in a plain QR code (``https://id.gs1.org/01/…``), else None."""
    if not uri.startswith(("http://", "https://")):
        return None
    from biip import ParseError
    from biip.gs1_digital_link_uris import GS1DigitalLinkURI

    try:
        link = GS1DigitalLinkURI.parse(uri)
    except (ParseError, ValueError):
        return None
    return {element.ai.ai: element.value for element in link.element_strings} or None


def check_data(symbology: str, data: str) -> dict[str, str] | None:
    """Validate ``data`` for ``symbology``; return its GS1 fields (if any). Raises InvalidData."""
    length = _GTIN_LENGTHS.get(symbology)
    if length is not None:
        if len(data) != length or not gtin_check_digit_ok(data):
            raise InvalidData(f"{data!r} is not a valid {symbology} (length {length}, mod-10 check digit)")
        return None
    if symbology == "UPCE":
        from biip import ParseError
        from biip.upc import Upc, UpcFormat

        try:
            ok = Upc.parse(data).format is UpcFormat.UPC_E
        except ParseError as err:
            raise InvalidData(str(err)) from err
        if not ok:
            raise InvalidData(f"{data!r} is not a UPC-E")
        return None
    if symbology in GS1_SYMBOLOGIES:
        return parse_gs1(data)
    if symbology == "QR":
        return digital_link_gs1(data)
    return None


@dataclass(frozen=True, slots=True)
class Interpretation:
    data: str
    symbology: str
    aim: str | None
    gs1: dict[str, str] | None
    problem: str | None = None
    """Why the data was reported as UNKNOWN although its AIM identifier named a symbology."""


def _infer_gs1(data: str) -> dict[str, str] | None:
    # Without an AIM id a GS1 element string shows itself by an FNC1 separator or a leading GTIN/SSCC AI.
    if GS not in data and not (data[:2] in ("00", "01", "02") and len(data) >= 16 and data.isascii()):
        return None
    try:
        return parse_gs1(data)
    except InvalidData:
        return None


def interpret(label: str) -> Interpretation:
    """AIM identifier, symbology, validation and GS1 fields of one scanned label."""
    symbol = identify(label)
    if symbol.aim is None:
        if symbol.symbology == "UNKNOWN":
            fields = _infer_gs1(symbol.data)
            if fields is not None:
                return Interpretation(symbol.data, "GS1_128", None, fields)
        return Interpretation(symbol.data, symbol.symbology, None, None)
    try:
        fields = check_data(symbol.symbology, symbol.data)
    except InvalidData as err:
        return Interpretation(symbol.data, "UNKNOWN", symbol.aim, None, f"{symbol.aim} {symbol.symbology}: {err}")
    return Interpretation(symbol.data, symbol.symbology, symbol.aim, fields)
