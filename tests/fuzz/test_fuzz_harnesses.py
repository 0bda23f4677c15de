"""Run every atheris harness briefly (2,000 inputs each, in parallel) so CI exercises them."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

pytest.importorskip("atheris")

HERE = Path(__file__).resolve().parent
HARNESSES = sorted(HERE.glob("fuzz_*.py"))
RUNS = 2000


def run(harness: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(HERE)}
    return subprocess.run(
        [sys.executable, str(harness), f"-runs={RUNS}", "-seed=1", "-max_len=512"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def test_there_is_a_harness_for_every_scale_codec() -> None:
    names = {path.stem.removeprefix("fuzz_") for path in HARNESSES}
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
def test_every_harness_runs_clean() -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = dict(zip(HARNESSES, pool.map(run, HARNESSES), strict=True))
    failed = {path.name: result.stderr[-2000:] for path, result in results.items() if result.returncode != 0}
    assert not failed, failed
    for path, result in results.items():
        assert f"Done {RUNS} runs" in result.stderr, (path.name, result.stderr[-500:])
