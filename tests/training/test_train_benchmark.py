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


@pytest.mark.slow
@pytest.mark.timeout(3 * SUBPROCESS_SECONDS + 120)
def test_scaling_benchmark_smoke_mode(tmp_path: Path, tweeteval: Path) -> None:
    """1 and 2 gloo processes and a LoRA run of the tiny model: the table, the JSON, the machine named."""
    pytest.importorskip("peft")
    script = REPO / "benchmarks" / "training" / "bench_scaling.py"
    out = tmp_path / "scaling.json"
    env = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"), "PATH": "/usr/bin:/bin"}
    args = ["--model-size", "tiny", "--steps", "2", "--device", "cpu", "--max-texts", "256", "--json", str(out)]
    args += [
        "--data",
        str(tweeteval / "sentiment" / "test.jsonl"),
        "--lora-r",
        "4",
        "--timeout",
        str(SUBPROCESS_SECONDS),
    ]
    result = subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        timeout=3 * SUBPROCESS_SECONDS + 60,
        env=env,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads(out.read_text())
    assert [row["processes"] for row in report["scaling"]] == [1, 2]
    assert all(row["samples_per_second"] > 0 and row["peak_memory_bytes"] > 0 for row in report["scaling"])
    single, double = report["scaling"]
    assert single["efficiency"] == pytest.approx(1.0)
    assert double["efficiency"] == pytest.approx(double["samples_per_second"] / (2 * single["samples_per_second"]))
    lora = report["lora"]
    assert lora["r"] == 4 and 0 < lora["lora"]["trainable_parameters"] < lora["full"]["trainable_parameters"]
    assert "Data-parallel scaling (torchrun + DDP, gloo)" in result.stdout
    assert "LoRA (r=4) vs full fine-tuning" in result.stdout
    assert f"machine: {report['machine']}" in result.stdout and report["device"] == "cpu"
