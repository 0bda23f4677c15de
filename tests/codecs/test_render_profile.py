"""Printer profiles (drivers/escpos/profile.py): python-escpos's capability database plus local facts and overrides."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest
from pydantic import ValidationError

from drivers.escpos.document import Document
from drivers.escpos.driver import EscposOptions
from drivers.escpos.interpreter import EscposInterpreter
from drivers.escpos.profile import SIMULATED_PROFILE_NAME, get_profile, preferred_code_pages, profile_names
from drivers.escpos.render import render_document


def database() -> dict[str, dict[str, object]]:
    data: dict[str, dict[str, object]] = json.loads(
        resources.files("escpos").joinpath("capabilities.json").read_text(encoding="utf-8")
    )["profiles"]
    return data


def test_epson_80mm_profile_from_the_database() -> None:
    profile = get_profile("TM-T20II")
    # protocols.md §2 [DB]: 80 mm TM-T20II → 576 dots, 48/64 columns; Epson numbering CP860 3, WPC1252 16, CP858 19.
    assert (profile.width_dots, profile.columns_a, profile.columns_b, profile.dpi) == (576, 48, 64, 203)
    assert (profile.code_pages["cp860"], profile.code_pages["cp1252"], profile.code_pages["cp858"]) == (3, 16, 19)
    assert profile.double_byte is None
    assert (profile.full_cut, profile.partial_cut, profile.native_qr, profile.native_barcodes) == (
        True,
        True,
        True,
        True,
    )


def test_58mm_clone_profile() -> None:
    profile = get_profile("POS-5890")
    assert (profile.width_dots, profile.columns_a, profile.columns_b) == (384, 32, 42)
    # Local facts the database lacks: a GB18030 font, and Chinese mode on after ESC @.
    assert (profile.double_byte, profile.double_byte_default) == ("gb18030", True)
    # The database gives it no cutter and no native QR or barcodes.
    assert (profile.has_cutter, profile.native_qr, profile.native_barcodes) == (False, False, False)
    # It lists CP858 under 19 and 53: the lower, Epson-compatible number is used; the interpreter knows both.
    assert profile.code_pages["cp858"] == 19
    assert profile.code_page_numbers[53] == "cp858"


def test_simulated_profile_is_80mm_latin_and_gb18030() -> None:
    profile = get_profile(SIMULATED_PROFILE_NAME)
    assert (profile.width_dots, profile.columns_a, profile.double_byte, profile.double_byte_default) == (
        576,
        48,
        "gb18030",
        False,
    )
    assert {"cp437", "cp850", "cp858", "cp860", "cp1252"} <= set(profile.code_pages)


def test_every_listed_profile_loads_and_matches_the_database() -> None:
    profiles = database()
    for name in profile_names():
        profile = get_profile(name)
        source = profiles.get(name)
        if source is None:
            continue  # a posd-only profile
        media = source["media"]
        assert isinstance(media, dict)
        assert profile.width_dots == media["width"]["pixels"], name
        assert profile.columns_a >= 16, name


def test_names_are_case_insensitive_and_unknown_ones_are_key_errors() -> None:
    assert get_profile("tm-t88v").width_dots == 512
    with pytest.raises(KeyError, match="unknown printer profile 'TM-X'"):
        get_profile("TM-X")


def test_preferred_code_pages_put_the_euro_and_portuguese_pages_first() -> None:
    assert preferred_code_pages(get_profile("TM-T20II"))[:5] == ["cp858", "cp1252", "cp850", "cp860", "cp437"]


def test_overrides() -> None:
    profile = get_profile(
        "POS-5890",
        {"code_pages": {"CP858": 53, "cp860": 55}, "double_byte": "none", "width_dots": 360, "full_cut": True},
    )
    assert profile.code_pages == {"cp858": 53, "cp860": 55}
    assert profile.code_page_numbers == {53: "cp858", 55: "cp860"}
    assert profile.double_byte is None
    assert (profile.width_dots, profile.columns_a, profile.full_cut) == (360, 30, True)


def test_a_renumbered_clone_round_trips_through_its_own_numbering() -> None:
    profile = get_profile("POS-5890", {"code_pages": {"cp858": 53, "cp860": 55, "cp1252": 71}})
    data = render_document(Document(blocks=[{"type": "text", "text": "Pão — €"}]), profile)
    assert b"\x1bt\x35" in data  # ESC t 53
    printer = EscposInterpreter.for_profile(profile)
    printer.feed(data)
    assert printer.lines == ["Pão — €"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"colums_a": 40}, "Extra inputs are not permitted"),
        ({"code_pages": {"nonsense": 3}}, "unknown code page"),
        ({"code_pages": {"utf-16": 3}}, "not a printer code page"),
        ({"code_pages": {"cp858": 300}}, "0-255"),
        ({"double_byte": "big5"}, "double_byte"),
    ],
)
def test_bad_overrides_are_value_errors(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        get_profile("TM-T20II", overrides)


def test_driver_options_name_the_bad_key() -> None:
    with pytest.raises(ValidationError) as caught:
        EscposOptions.model_validate({"profile": "TM-X"})
    assert caught.value.errors()[0]["loc"] == ("profile",)
    with pytest.raises(ValidationError) as caught:
        EscposOptions.model_validate({"profile_overrides": {"columns_a": 2}})
    assert caught.value.errors()[0]["loc"] == ("profile_overrides", "columns_a")
    options = EscposOptions.model_validate({"profile": "POS-5890", "profile_overrides": {"columns_a": 30}})
    assert options.printer_profile().columns_a == 30


def test_loading_profiles_has_no_side_effects() -> None:
    # python-escpos's own loader calls logging.basicConfig() and makes a temporary directory for a pickle cache;
    # reading the database through posd does neither. Checked in a fresh interpreter.
    script = (
        "import logging, os, tempfile\n"
        "before = set(os.listdir(tempfile.gettempdir()))\n"
        "from drivers.escpos.profile import get_profile\n"
        "assert get_profile('TM-T88V').width_dots == 512\n"
        "assert logging.getLogger().handlers == [], logging.getLogger().handlers\n"
        "assert set(os.listdir(tempfile.gettempdir())) == before\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, cwd=Path(__file__).parents[2], timeout=60)
