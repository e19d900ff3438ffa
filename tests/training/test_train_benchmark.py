"""The throughput benchmark runs end to end in its CPU smoke mode."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.training.conftest import REPO, SUBPROCESS_SECONDS, SUBPROCESS_TEST_SECONDS


@pytest.mark.slow
@pytest.mark.timeout(SUBPROCESS_TEST_SECONDS)
def test_benchmark_smoke_mode(tmp_path: Path, tweeteval: Path) -> None:
    script = REPO / "benchmarks" / "training" / "bench_train_throughput.py"
    out = tmp_path / "bench.json"
    env = {"OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    args = ["--model-size", "tiny", "--steps", "3", "--device", "cpu", "--max-texts", "512", "--json", str(out)]
    result = subprocess.run(
        [sys.executable, str(script), *args, "--data", str(tweeteval / "sentiment" / "test.jsonl")],
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_SECONDS,
        env={**env, "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(out.read_text())
    names = list(report["samples_per_second"])
    assert names[0].startswith("(a) ours")
    assert names[-1].startswith("(c) article")
    assert all(value > 0 for value in report["samples_per_second"].values())
    assert "a/c" in report["ratios"]
    if any(name.startswith("(b)") for name in names):
        assert "a/b" in report["ratios"]
    else:
        assert "Trainer skipped" in result.stdout
    assert "ratio a/c" in result.stdout
    assert report["torch"] in result.stdout
    assert report["machine"]
