"""Printer profiles: what one printer model can print — paper width, columns, code pages, double-byte mode, features.

The data comes from python-escpos's capability database (escpos-printer-db, shipped inside the ``escpos``
package as ``capabilities.json``), plus a few local facts the database lacks (which models have a GB18030
double-byte mode, which clones start in it), plus per-device overrides from the configuration.

The database is read here as the JSON file it is. Importing ``escpos.capabilities`` instead would call
``logging.basicConfig()`` on the root logger and write a pickle cache into a new temporary directory on every
start; reading the file directly has neither side effect (``ESCPOS_CAPABILITIES_FILE`` is honoured as in
python-escpos).
"""

from __future__ import annotations

import codecs
import functools
import importlib.resources
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

DoubleByteCodec = Literal["gb18030", "gbk", "gb2312"]

#: The profile of ``posd serve --simulate``'s printer: an 80 mm Epson TM-T20II (Chinese model) — the Latin code
#: pages of the TM-T20II plus the GB18030 double-byte mode (FS & … FS .).
SIMULATED_PROFILE_NAME = "posd-simulated-80mm"
#: The profile a configured ``escpos`` printer gets unless its options name another.
DEFAULT_PROFILE_NAME = "TM-T20II"

#: When a character is in several code pages, the first of these the printer has wins (then ESC t order).
#: CP858 and WPC1252 carry the euro sign; CP860 is the Portuguese page; CP437 is every printer's page 0.
PREFERRED_CODE_PAGES = ("cp858", "cp1252", "cp850", "cp860", "cp437")

MIN_PAPER_DOTS = 256
MIN_COLUMNS = 16  # no receipt printer has fewer characters per line
#: Tallest raster image accepted, in dots (about 2 m of paper at 203 dpi): beyond this a print is a mistake.
MAX_IMAGE_HEIGHT_DOTS = 16000


@dataclass(frozen=True)
class _LocalFacts:
    """What the capability database does not say about a model (or a profile that only posd defines)."""

    base: str | None = None  # a database profile this one starts from
    description: str | None = None
    double_byte: DoubleByteCodec | None = None
    double_byte_default: bool = False
    dpi: int | None = None


_LOCAL_FACTS: dict[str, _LocalFacts] = {
    SIMULATED_PROFILE_NAME: _LocalFacts(
        base="TM-T20II",
        description="Simulated 80 mm printer: TM-T20II code pages and a GB18030 double-byte mode",
        double_byte="gb18030",
    ),
    # Zjiang POS-58 family and its many rebrands: Chinese firmware, GB18030 font, and Chinese mode on at power-up
    # and after ESC @ (protocols.md: "some 58 mm clones start in Chinese mode").
    "POS-5890": _LocalFacts(double_byte="gb18030", double_byte_default=True),
    "ZJ-5870": _LocalFacts(double_byte="gb18030", double_byte_default=True),
    "NT-5890K": _LocalFacts(double_byte="gb18030", double_byte_default=True),
}


@dataclass(frozen=True)
class PrinterProfile:
    """One printer model's abilities, as the renderer and the device-side interpreter need them."""

    name: str
    width_dots: int
    columns_a: int
    columns_b: int
    code_pages: dict[str, int]
    """Python codec name → ``ESC t`` number, one number per code page (the printer may know more numbers)."""
    double_byte: DoubleByteCodec | None
    """The double-byte encoding of the printer's FS & mode, or None if it has none."""
    double_byte_default: bool = False
    """True if the printer is in double-byte mode after power-up and ``ESC @`` (many Chinese clones)."""
    dpi: int = 203
    full_cut: bool = True
    partial_cut: bool = True
    native_qr: bool = True
    """GS ( k QR codes; without it QR codes are sent as raster images."""
    native_barcodes: bool = True
    """GS k m n (function B) barcodes; without it barcodes are sent as raster images."""
    raster: bool = True
    """GS v 0 raster images; without it images cannot be printed."""
    description: str = ""
    max_image_height_dots: int = MAX_IMAGE_HEIGHT_DOTS
    code_page_numbers: dict[int, str] = field(default_factory=dict)
    """Every ``ESC t`` number the printer knows → codec (duplicates included), for the device-side interpreter."""

    def __hash__(self) -> int:
        return hash((self.name, self.width_dots, self.columns_a, self.columns_b, tuple(self.code_pages.items())))

    @property
    def font_a_dots(self) -> int:
        """Width of one font A character cell in dots (12 on 203 dpi printers)."""
        return max(1, self.width_dots // self.columns_a)

    @property
    def font_b_dots(self) -> int:
        return max(1, self.width_dots // self.columns_b)

    @property
    def has_cutter(self) -> bool:
        return self.full_cut or self.partial_cut


class ProfileOverrides(BaseModel):
    """Local corrections to a printer profile (the database is not always right about a given unit)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    width_dots: int | None = Field(None, ge=64, le=4096, description="Printable width in dots.")
    columns_a: int | None = Field(None, ge=8, le=200, description="Characters per line in font A.")
    columns_b: int | None = Field(None, ge=8, le=255, description="Characters per line in font B.")
    dpi: int | None = Field(None, ge=60, le=600, description="Print resolution, dots per inch.")
    code_pages: dict[str, int] | None = Field(
        None,
        description="Code pages the printer really has, as Python codec name → ESC t number "
        '(e.g. {"cp860" = 3, "cp858" = 19}); replaces the profile\'s list.',
    )
    double_byte: DoubleByteCodec | Literal["none"] | None = Field(
        None, description='Encoding of the printer\'s FS & double-byte mode ("gb18030", "gbk", "gb2312") or "none".'
    )
    double_byte_default: bool | None = Field(
        None, description="The printer is in double-byte mode after ESC @ (many Chinese clones)."
    )
    full_cut: bool | None = Field(None, description="The cutter can cut fully.")
    partial_cut: bool | None = Field(None, description="The cutter can cut partially.")
    native_qr: bool | None = Field(None, description="The printer draws QR codes itself (GS ( k).")
    native_barcodes: bool | None = Field(None, description="The printer draws 1-D barcodes itself (GS k).")
    max_image_height_dots: int | None = Field(
        None, ge=8, le=65535, description="Tallest image accepted, in dots; taller ones are refused."
    )

    @field_validator("code_pages")
    @classmethod
    def _known_code_pages(cls, value: dict[str, int] | None) -> dict[str, int] | None:
        if value is None:
            return None
        checked: dict[str, int] = {}
        for name, number in value.items():
            if not 0 <= number <= 255:
                raise ValueError(f"ESC t number for {name!r} must be 0-255, not {number}")
            checked[_single_byte_codec(name)] = number
        return checked


def _single_byte_codec(name: str) -> str:
    """The canonical Python name of a single-byte codec; ValueError if there is no such codec."""
    try:
        canonical = codecs.lookup(name).name
    except LookupError:
        raise ValueError(f"unknown code page {name!r} (give a Python codec name such as 'cp858')") from None
    try:
        bytes(range(0x20, 0x7F)).decode(canonical)
    except UnicodeDecodeError:
        raise ValueError(f"{name!r} is not a printer code page") from None
    return canonical


@functools.cache
def _capabilities() -> dict[str, Any]:
    path = os.environ.get("ESCPOS_CAPABILITIES_FILE")
    if path:
        with open(path, encoding="utf-8") as file:
            data: dict[str, Any] = json.load(file)
        return data
    text = importlib.resources.files("escpos").joinpath("capabilities.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def profile_names() -> list[str]:
    """Every profile name :func:`get_profile` accepts (database profiles without a paper width are left out)."""
    # Customer displays share the database; they are narrower than any receipt paper.
    names = {name for name, data in _capabilities()["profiles"].items() if (_width(data) or 0) >= MIN_PAPER_DOTS}
    return sorted(names | set(_LOCAL_FACTS))


def _width(data: Mapping[str, Any]) -> int | None:
    pixels = data.get("media", {}).get("width", {}).get("pixels")
    return pixels if isinstance(pixels, int) else None


def _code_pages(data: Mapping[str, Any]) -> tuple[dict[str, int], dict[int, str]]:
    encodings = _capabilities()["encodings"]
    by_number: dict[int, str] = {}
    for number_text, encoding in data.get("codePages", {}).items():
        python_name = encodings.get(encoding, {}).get("python_encode")
        if not python_name:
            continue  # "Unknown" or a table Python has no codec for: never used
        try:
            by_number[int(number_text)] = _single_byte_codec(python_name)
        except ValueError:
            continue
    by_codec: dict[str, int] = {}
    for number in sorted(by_number):  # the lowest number wins: the Epson-compatible one on clones that have both
        by_codec.setdefault(by_number[number], number)
    return by_codec, by_number


def _columns(value: object, width: int, cell_dots: int) -> int:
    if not isinstance(value, int) or value <= 0:
        return width // cell_dots
    if value < MIN_COLUMNS:  # some entries give the cell width in dots instead (NT-80-V-UL: 12 and 9)
        return width // value
    return value


@functools.cache
def _base_profile(name: str) -> PrinterProfile:
    facts = _LOCAL_FACTS.get(name, _LocalFacts())
    profiles: dict[str, Any] = _capabilities()["profiles"]
    data = profiles.get(facts.base or name)
    if data is None:
        lowered = {key.lower(): key for key in profiles}
        key = lowered.get(name.lower())
        if key is None:
            raise KeyError(f"unknown printer profile {name!r}; known: {', '.join(profile_names())}")
        return _base_profile(key)
    width = _width(data)
    if width is None:
        raise KeyError(f"printer profile {name!r} has no paper width in the database; give width_dots")
    fonts = data.get("fonts", {})
    columns_a = _columns(fonts.get("0", {}).get("columns"), width, 12)
    columns_b = _columns(fonts.get("1", {}).get("columns"), width, 9)
    features = data.get("features", {})
    by_codec, by_number = _code_pages(data)
    dpi = data.get("media", {}).get("dpi")
    return PrinterProfile(
        name=name,
        width_dots=width,
        columns_a=columns_a,
        columns_b=columns_b,
        code_pages=by_codec,
        double_byte=facts.double_byte,
        double_byte_default=facts.double_byte_default,
        dpi=facts.dpi or (dpi if isinstance(dpi, int) else 203),
        full_cut=bool(features.get("paperFullCut")),
        partial_cut=bool(features.get("paperPartCut")),
        native_qr=bool(features.get("qrCode")),
        native_barcodes=bool(features.get("barcodeB")),
        raster=bool(features.get("bitImageRaster")),
        description=facts.description or f"{data.get('vendor', '')} {data.get('name', name)}".strip(),
        code_page_numbers=by_number,
    )


def get_profile(name: str, overrides: Mapping[str, Any] | ProfileOverrides | None = None) -> PrinterProfile:
    """The profile called ``name`` with ``overrides`` applied.

    Raises KeyError for an unknown name and ValueError (pydantic's ValidationError) for a bad override.
    """
    profile = _base_profile(name)
    if overrides is None:
        return profile
    checked = overrides if isinstance(overrides, ProfileOverrides) else ProfileOverrides.model_validate(overrides)
    return _with_overrides(profile, checked)


def _with_overrides(profile: PrinterProfile, overrides: ProfileOverrides) -> PrinterProfile:
    changes: dict[str, Any] = {
        key: value for key, value in overrides.model_dump(exclude_none=True).items() if key != "code_pages"
    }
    if changes.get("double_byte") == "none":
        changes["double_byte"] = None
    if overrides.code_pages is not None:
        changes["code_pages"] = dict(overrides.code_pages)
        changes["code_page_numbers"] = {number: codec for codec, number in overrides.code_pages.items()}
    if "width_dots" in changes and "columns_a" not in changes:
        changes["columns_a"] = max(8, changes["width_dots"] // profile.font_a_dots)
    if "width_dots" in changes and "columns_b" not in changes:
        changes["columns_b"] = max(8, changes["width_dots"] // profile.font_b_dots)
    return replace(profile, **changes)


def preferred_code_pages(profile: PrinterProfile) -> list[str]:
    """The profile's code pages, most preferred first."""
    ranked = [name for name in PREFERRED_CODE_PAGES if name in profile.code_pages]
    rest = sorted((number, name) for name, number in profile.code_pages.items() if name not in ranked)
    return ranked + [name for _, name in rest]
