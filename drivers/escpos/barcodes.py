"""Barcodes and QR codes: what a document may ask for, the GS k payload a printer takes, and the bars it prints.

Shared by the renderer (validate, build the payload, rasterize for printers that cannot draw a symbology) and
the paper (draw what the printer was told to draw). The bars come from python-barcode; the QR matrix from qrcode.
"""

from __future__ import annotations

import functools
from typing import Literal

Symbology = Literal["EAN13", "EAN8", "UPCA", "CODE39", "CODE128", "ITF"]
EccLevel = Literal["L", "M", "Q", "H"]

#: GS k m (function B) for each symbology a document may use.
FUNCTION_B: dict[str, int] = {"UPCA": 65, "EAN13": 67, "EAN8": 68, "CODE39": 69, "ITF": 70, "CODE128": 73}
#: ``GS ( k`` function 69 parameter for each error-correction level.
QR_ECC_PARAMETER: dict[str, int] = {"L": 48, "M": 49, "Q": 50, "H": 51}
# python-barcode and qrcode are imported where they are used: together with the Pillow they pull in they cost
# several MB of resident memory, and a till that prints receipts with native (printer-drawn) codes never needs them.


def _qr_ecc_constant(ecc: str) -> int:
    from qrcode import constants

    values: dict[str, int] = {
        "L": constants.ERROR_CORRECT_L,
        "M": constants.ERROR_CORRECT_M,
        "Q": constants.ERROR_CORRECT_Q,
        "H": constants.ERROR_CORRECT_H,
    }
    return values[ecc]


_CODE39_CHARS = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ -.$/+%")
# Digits, with the check digit optional, for the GS1 (EAN/UPC) symbologies.
_GS1_DIGITS = {"EAN13": 12, "EAN8": 7, "UPCA": 11}
# Sequences a printer acts on wherever they appear, even inside another command's data: DLE EOT, DLE ENQ, DLE DC4.
REALTIME_PREFIXES = (b"\x10\x04", b"\x10\x05", b"\x10\x14")


class SymbolError(ValueError):
    """The data cannot be encoded in the symbology (or does not fit the paper)."""


def gs1_check_digit(digits: str) -> int:
    """Mod-10 check digit of EAN/UPC: weights 3, 1, 3, … from the rightmost digit."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return (10 - total % 10) % 10


def printer_payload(symbology: Symbology, data: str) -> bytes:
    """The ``GS k m n d…`` data for ``data``, validated. EAN/UPC go without the check digit (the printer adds it)."""
    if symbology in _GS1_DIGITS:
        body = _GS1_DIGITS[symbology]
        if not data.isascii() or not data.isdigit() or len(data) not in (body, body + 1):
            raise SymbolError(f"{symbology} takes {body} digits, or {body + 1} with the check digit; got {data!r}")
        expected = gs1_check_digit(data[:body])
        if len(data) == body + 1 and int(data[-1]) != expected:
            raise SymbolError(f"{symbology} check digit of {data!r} should be {expected}")
        return data[:body].encode("ascii")
    if symbology == "CODE39":
        wrong = sorted(set(data) - _CODE39_CHARS)
        if wrong:
            raise SymbolError(f"CODE39 cannot encode {''.join(wrong)!r} (digits, A-Z, space and -.$/+%)")
        return data.encode("ascii")
    if symbology == "ITF":
        if not data.isascii() or not data.isdigit() or len(data) % 2:
            raise SymbolError(f"ITF takes an even number of digits; got {data!r}")
        return data.encode("ascii")
    return _code128_payload(data)


def _code128_payload(data: str) -> bytes:
    if not data.isascii() or not data.isprintable():
        raise SymbolError("CODE128 data must be printable ASCII")
    if data.isdigit() and len(data) % 2 == 0:
        # Code set C: two digits per symbol, sent as one byte each (values 0–99) — unless that byte stream
        # would hold a real-time command sequence, which the printer would act on.
        packed = b"{C" + bytes(int(data[i : i + 2]) for i in range(0, len(data), 2))
        if not any(prefix in packed for prefix in REALTIME_PREFIXES):
            return packed
    return b"{B" + data.replace("{", "{{").encode("ascii")


def decode_code128_payload(payload: bytes) -> str:
    """The text a printer encodes for a GS k 73 payload ({A/{B/{C code sets, {{ for a brace)."""
    out: list[str] = []
    code_set = "B"
    i = 0
    while i < len(payload):
        byte = payload[i]
        if byte == ord("{") and i + 1 < len(payload):
            following = chr(payload[i + 1])
            if following in "ABC":
                code_set = following
            elif following == "{":
                out.append("{")
            i += 2
            continue
        if code_set == "C":
            out.append(f"{byte:02d}")
        else:
            out.append(chr(byte))
        i += 1
    return "".join(out)


_LIBRARY_NAMES = {"CODE128": "code128", "EAN13": "ean13", "EAN8": "ean8", "UPCA": "upca", "CODE39": "code39"}
_LIBRARY_NAMES |= {"ITF": "itf", "CODABAR": "codabar"}


def bars(symbology: str, payload: bytes) -> tuple[str, str] | None:
    """The bar pattern ('1' = one module of bar) of a GS k payload and its human-readable text; None if unknown."""
    name = _LIBRARY_NAMES.get(symbology)
    if name is None:
        return None
    from barcode.errors import BarcodeError

    try:
        text = decode_code128_payload(payload) if symbology == "CODE128" else payload.decode("ascii")
        if symbology in _GS1_DIGITS:  # the printer computes the check digit from the first digits
            text = text[: _GS1_DIGITS[symbology]]
            return _pattern(name, text), text + str(gs1_check_digit(text))
        text = text.strip("*") if symbology == "CODE39" else text
        return _pattern(name, text), text
    except (UnicodeDecodeError, ValueError, KeyError, BarcodeError):
        return None


_LIBRARY_OPTIONS: dict[str, dict[str, object]] = {"code39": {"add_checksum": False}, "itf": {"narrow": 1, "wide": 3}}


@functools.lru_cache(maxsize=256)
def _pattern(name: str, text: str) -> str:
    # CODE39 without the optional check character (printers add none); ITF wide bars three modules wide.
    import barcode

    options = _LIBRARY_OPTIONS.get(name, {})
    symbol = barcode.get_barcode_class(name)(text, **options)
    pattern: str = "".join(symbol.build())
    return pattern


def width_dots(symbology: Symbology, payload: bytes, module: int) -> int:
    """Width of the printed bars in dots at ``module`` dots per narrow bar (what must fit the paper)."""
    if symbology == "CODE128":
        # Start symbol + one symbol per byte after the code-set selector + check symbol, then the 13-module stop.
        return (len(payload) * 11 + 13) * module
    if symbology in ("EAN13", "UPCA"):
        return 95 * module
    if symbology == "EAN8":
        return 67 * module
    if symbology == "CODE39":
        return (len(payload) + 2) * 16 * module
    return (len(payload) * 9 + 9) * module  # ITF, wide bars three modules


# -- QR ------------------------------------------------------------------------------------------------
def qr_capacity(ecc: EccLevel, version: int) -> int:
    """Bytes of data (byte mode) a QR code of this version and error-correction level holds (ISO/IEC 18004)."""
    from qrcode.util import BIT_LIMIT_TABLE

    bits: int = BIT_LIMIT_TABLE[_qr_ecc_constant(ecc)][version]
    return (bits - 4 - (8 if version < 10 else 16)) // 8


def qr_version(length: int, ecc: EccLevel) -> int:
    """The smallest version holding ``length`` bytes in byte mode (an upper bound on what a printer picks)."""
    for version in range(1, 41):
        if qr_capacity(ecc, version) >= length:
            return version
    raise SymbolError(
        f"{length} bytes do not fit in a QR code at error correction {ecc} (at most {qr_capacity(ecc, 40)})"
    )


def qr_matrix(data: bytes, ecc: EccLevel, border: int = 4) -> list[list[bool]]:
    """The QR code's modules (True = dark), quiet zone included."""
    import qrcode

    code = qrcode.QRCode(error_correction=_qr_ecc_constant(ecc), border=border)
    code.add_data(data)
    code.make(fit=True)
    matrix: list[list[bool]] = code.get_matrix()
    return matrix
