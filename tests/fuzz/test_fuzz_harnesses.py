"""Run every atheris harness briefly (2,000 inputs each, in parallel) so CI exercises them."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.fuzz.seeds import SEEDS

pytest.importorskip("atheris")

HERE = Path(__file__).resolve().parent
HARNESSES = sorted(HERE.glob("fuzz_*.py"))
RUNS = 2000


def run(harness: Path, corpus: Path) -> subprocess.CompletedProcess[str]:
    """One harness over its seed corpus (real frames to mutate), then RUNS generated inputs."""
    corpus.mkdir()
    for index, seed in enumerate(SEEDS.get(harness.stem.removeprefix("fuzz_"), [])):
        (corpus / f"seed{index}").write_bytes(b"\x00" + seed)  # first byte: "no cuts"
    env = {**os.environ, "PYTHONPATH": str(HERE)}
    return subprocess.run(
        [sys.executable, str(harness), f"-runs={RUNS}", "-seed=1", "-max_len=512", str(corpus)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def test_there_is_a_harness_and_seeds_for_every_scale_codec() -> None:
    names = {path.stem.removeprefix("fuzz_") for path in HARNESSES}
    assert names == set(SEEDS)
    assert names >= {
        "toledo_scp",
        "toledo_continuous",
        "toledo_prix",
        "nci",
        "mtsics",
        "urano",
        "cas_dc1",
        "cas_dc2",
        "hidscale",
    }


@pytest.mark.timeout(120)
def test_every_harness_runs_clean(tmp_path: Path) -> None:
    corpora = [tmp_path / path.stem for path in HARNESSES]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = dict(zip(HARNESSES, pool.map(run, HARNESSES, corpora), strict=True))
    failed = {path.name: result.stderr[-2000:] for path, result in results.items() if result.returncode != 0}
    assert not failed, failed
    for path, result in results.items():
        assert f"Done {RUNS} runs" in result.stderr, (path.name, result.stderr[-500:])
