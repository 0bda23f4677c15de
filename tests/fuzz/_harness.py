"""Shared body of the atheris harnesses: one per scale codec, each a few lines calling :func:`fuzz`.

The fuzzer's bytes are split into a payload and cut points; the payload is fed whole to one decoder and in
the cut pieces to another. Checked on every input: no exception escapes; both feeds give the same items;
every reading is a well-formed ScaleReading with a finite value in a known unit.

Run one for real: ``.venv/bin/python tests/fuzz/fuzz_nci.py -max_total_time=60``; CI runs each for 2,000
inputs (tests/fuzz/test_fuzz_harnesses.py).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

with atheris.instrument_imports(include=["drivers"]):
    from drivers.scale_codec import UNITS, BadFrame, ScaleReading


def fuzz(new_decoder: Callable[[], Any], reading_of: Callable[[Any], ScaleReading | None], stream: bool = True) -> None:
    def one_input(data: bytes) -> None:
        provider = atheris.FuzzedDataProvider(data)
        cuts = sorted(provider.ConsumeIntListInRange(provider.ConsumeIntInRange(0, 8), 0, 512))
        payload = provider.ConsumeBytes(provider.remaining_bytes())
        whole = new_decoder().feed(payload)
        if stream:
            decoder = new_decoder()
            pieces: list[Any] = []
            for start, end in zip([0, *cuts], [*cuts, len(payload)], strict=True):
                pieces += decoder.feed(payload[start:end])
            if pieces != whole:
                raise AssertionError(f"split feed differs: {pieces!r} != {whole!r}")
        for item in whole:
            if isinstance(item, BadFrame):
                continue
            reading = reading_of(item)
            if reading is None:
                continue
            if not isinstance(reading, ScaleReading):
                raise AssertionError(f"not a reading: {reading!r}")
            if reading.value is not None and not reading.value.is_finite():
                raise AssertionError(f"non-finite weight: {reading!r}")
            if reading.unit is not None and reading.unit not in UNITS:
                raise AssertionError(f"unknown unit: {reading!r}")

    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
