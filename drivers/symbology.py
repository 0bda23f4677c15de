"""Barcode symbology: AIM identifiers (ISO/IEC 15424), check digits, inference from the data.

Pure functions; shared by every scanner driver (serial, HID POS, keyboard wedge).
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
