"""Run every atheris harness briefly over its seeds (so CI exercises them), and keep a harness with seeds for every
parser that reads bytes from outside the daemon."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz._input import MAX_CUTS, corpus_entry, pieces, split_input
from tests.fuzz.seeds import SEEDS

pytest.importorskip("atheris")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
HARNESSES = sorted(HERE.glob("fuzz_*.py"))
RUNS = 2000
WORKERS = min(4, os.cpu_count() or 1)  # about 22 s for all harnesses on 2 cores

#: Every sans-I/O parser in drivers/ that sees bytes (or text) from outside the daemon: devices, API clients.
FUZZED_PARSERS = {
    # scales
    "toledo_scp",
    "toledo_continuous",
    "toledo_prix",
    "nci",
    "mtsics",
    "urano",
    "cas_dc1",
    "cas_dc2",
    "hidscale",
    # scanners, and what a label means (AIM identifier, check digits, GS1)
    "serial_scanner",
    "hidpos",
    "wedge",
    "symbology",
    # printer status, drawer status; raw print jobs from API clients
    "escpos_status",
    "serial_drawer",
    "escpos_interpreter",
    "kick_detect",
    # customer displays: the display models, and API text through each command set
    "epson_dmd",
    "logic_controls",
    "cd5220",
    "display_text",
}


def run(harness: Path, work: Path) -> subprocess.CompletedProcess[str]:
    """One harness over its seed corpus (real frames to mutate), then RUNS generated inputs."""
    name = harness.stem.removeprefix("fuzz_")
    corpus = work / "corpus"
    corpus.mkdir(parents=True)
    for index, seed in enumerate(SEEDS[name]):
        (corpus / f"seed{index}").write_bytes(seed)
    max_len = max(512, *(len(seed) for seed in SEEDS[name]))
    return subprocess.run(
        [
            sys.executable,
            "-m",
            f"tests.fuzz.{harness.stem}",
            f"-runs={RUNS}",
            "-seed=1",
            f"-max_len={max_len}",
            f"-artifact_prefix={work}/",
            str(corpus),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_there_is_a_harness_and_seeds_for_every_fuzzed_parser() -> None:
    names = {path.stem.removeprefix("fuzz_") for path in HARNESSES}
    assert names == FUZZED_PARSERS
    assert set(SEEDS) == FUZZED_PARSERS
    assert all(SEEDS.values())


@given(payload=st.binary(max_size=300), raw_cuts=st.lists(st.integers(0, 300), max_size=MAX_CUTS))
def test_a_seed_reaches_its_harness_intact(payload: bytes, raw_cuts: list[int]) -> None:
    cuts = tuple(sorted(cut % (len(payload) + 1) for cut in raw_cuts))
    assert split_input(corpus_entry(payload, cuts)) == (payload, list(cuts))
    assert b"".join(pieces(payload, list(cuts))) == payload


@pytest.mark.parametrize("data", [b"", b"\x05", b"\xff" * 3, bytes(range(256))])
def test_any_bytes_are_an_input(data: bytes) -> None:
    payload, cuts = split_input(data)
    assert data.startswith(payload)
    assert cuts == sorted(cuts)
    assert all(0 <= cut <= len(payload) for cut in cuts)


@pytest.mark.timeout(120)
def test_every_harness_runs_clean(tmp_path: Path) -> None:
    works = [tmp_path / path.stem for path in HARNESSES]
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        results = dict(zip(HARNESSES, pool.map(run, HARNESSES, works), strict=True))
    failed = {path.name: result.stderr[-3000:] for path, result in results.items() if result.returncode != 0}
    assert not failed, failed
    for path, result in results.items():
        assert f"Done {RUNS} runs" in result.stderr, (path.name, result.stderr[-500:])
