"""train.py under torchrun: DDP on CPU (gloo), 2 processes, with the tiny model and channels.

One 2-process run (2 x 16, odd-sized validation split) is shared by the checks of its log and
outputs, and compared with a 1-process run of the same global batch (1 x 32); a third run makes
rank 1 fail. Every test name contains "distributed" (``pytest tests/training -k distributed``).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hfst_train.distributed import World, shard, shard_bounds, world_from_env
from hfst_train.errors import HyperparameterError
from hypothesis import given
from hypothesis import strategies as st

from tests.training.conftest import TRAINING_DIR, container_env, metric_regex

#: Same global batch (32), same seed, same data, dropout 0: 2 x 16 and 1 x 32 end within this relative
#: tolerance. Measured (torch 2.13 CPU, gloo): eval_loss and train_loss within 5e-8 relative (float32
#: sums in another order), accuracy and macro F1 identical.
RELATIVE_TOLERANCE = 1e-5
VALIDATION_EXAMPLES = 31  # odd: the two ranks score 15 and 16 examples
ARGS = {
    "epochs": 2,
    "eval_steps": 2,
    "learning_rate": 1e-3,
    "dropout": 0,
    "seed": 7,
    "eval_max_samples": VALIDATION_EXAMPLES,
    "per_device_eval_batch_size": 8,
}


@dataclass(frozen=True)
class Run:
    returncode: int
    output: str
    base: Path
    seconds: float

    def report(self) -> dict[str, Any]:
        return dict(json.loads((self.base / "output" / "data" / "metrics.json").read_text()))


def _argv(model: Path, per_device: int, extra: dict[str, Any]) -> list[str]:
    argv = ["--model_name_or_path", str(model), "--per_device_train_batch_size", str(per_device)]
    for name, value in {**ARGS, **extra}.items():
        argv += [f"--{name}", json.dumps(value)]
    return argv


def _run(
    base: Path,
    channels: dict[str, Path],
    model: Path,
    processes: int,
    per_device: int,
    extra: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
) -> Run:
    environ = container_env(base, channels)
    environ.update(env or {})
    argv = _argv(model, per_device, extra or {})
    if processes == 1:
        command = [sys.executable, "train.py", *argv]
    else:  # torchrun of this venv's torch; --tee 3 prefixes every line with its rank ([default0]:)
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(processes)]
        command += ["--tee", "3", "--log_dir", str(base / "torchrun-logs"), "train.py", *argv]
    started = time.monotonic()
    result = subprocess.run(
        command, cwd=TRAINING_DIR, env=environ, capture_output=True, text=True, timeout=240, check=False
    )
    return Run(result.returncode, result.stdout + result.stderr, base, time.monotonic() - started)


@pytest.fixture(scope="module")
def two_by_16(tmp_path_factory: pytest.TempPathFactory, channels: dict[str, Path], tiny_model: Path) -> Run:
    run = _run(tmp_path_factory.mktemp("ddp-2x16"), channels, tiny_model, processes=2, per_device=16)
    assert run.returncode == 0, run.output[-4000:]
    return run


@pytest.fixture(scope="module")
def one_by_32(tmp_path_factory: pytest.TempPathFactory, channels: dict[str, Path], tiny_model: Path) -> Run:
    run = _run(tmp_path_factory.mktemp("single-1x32"), channels, tiny_model, processes=1, per_device=32)
    assert run.returncode == 0, run.output[-4000:]
    return run


def _metric_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if re.search(metric_regex("eval_loss"), line)]


def _steps(output: str) -> list[float]:
    found = [re.search(metric_regex("step"), line) for line in _metric_lines(output)]
    return [float(match.group(1)) for match in found if match is not None]


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_distributed_run_prints_one_metric_line_per_evaluation_and_the_global_batch(two_by_16: Run) -> None:
    lines = _metric_lines(two_by_16.output)
    # 64 examples / global batch 32 = 2 steps per epoch; 2 epochs, eval every 2 steps: 2 evaluations + the kept line
    assert len(lines) == 3, two_by_16.output[-4000:]
    assert all(line.startswith("[default0]:hfst_metric ") for line in lines)  # rank 0 only
    assert _steps(two_by_16.output) == [2.0, 4.0, float(two_by_16.report()["final"]["step"])]
    batch_lines = [line for line in two_by_16.output.splitlines() if "hfst: global batch" in line]
    assert batch_lines == [
        "[default0]:hfst: global batch 32 = per_device_train_batch_size 16 x 2 process(es) x "
        "gradient_accumulation_steps 1 (backend gloo, timeout 600 s)"
    ]


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_distributed_run_saves_on_rank_0_only_and_scores_every_validation_example_once(two_by_16: Run) -> None:
    saved = [line for line in two_by_16.output.splitlines() if "hfst: saved the model" in line]
    assert saved == [f"[default0]:hfst: saved the model to {two_by_16.base / 'model'} (rank 0)"]
    assert (two_by_16.base / "model" / "model.safetensors").is_file()
    assert (two_by_16.base / "checkpoints" / "state.pt").is_file()
    assert not (two_by_16.base / "output" / "failure").exists()
    report = two_by_16.report()
    assert report["validation"] == {
        "examples": VALIDATION_EXAMPLES,
        "scored_per_evaluation": [VALIDATION_EXAMPLES, VALIDATION_EXAMPLES],
        "processes": 2,
    }
    effective = json.loads((two_by_16.base / "output" / "data" / "effective_config.json").read_text())
    assert effective["distributed"] == {"world_size": 2, "rank": 0, "backend": "gloo", "timeout_seconds": 600.0}
    assert effective["steps"]["effective_train_batch_size"] == 32
    assert effective["steps"]["steps_per_epoch"] == 2
    assert len(effective["data"]["epoch0_first_batch"]) == 16  # rank 0's half of the first global batch


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_distributed_2x16_matches_single_process_1x32(two_by_16: Run, one_by_32: Run) -> None:
    ddp, single = two_by_16.report(), one_by_32.report()
    assert single["validation"]["processes"] == 1
    assert [e["step"] for e in ddp["evaluations"]] == [e["step"] for e in single["evaluations"]] == [2, 4]
    for got, want in zip(ddp["evaluations"], single["evaluations"], strict=True):
        assert got["eval_loss"] == pytest.approx(want["eval_loss"], rel=RELATIVE_TOLERANCE)
        assert got["train_loss"] == pytest.approx(want["train_loss"], rel=RELATIVE_TOLERANCE)
        assert got["eval_accuracy"] == want["eval_accuracy"]
        assert got["eval_macro_f1"] == pytest.approx(want["eval_macro_f1"], rel=RELATIVE_TOLERANCE)
    lines = _metric_lines(one_by_32.output)
    assert len(lines) == 3
    assert "hfst: global batch 32 = per_device_train_batch_size 32 x 1 process(es)" in one_by_32.output


def _failed_run(base: Path, channels: dict[str, Path], model: Path, fail_rank_at: str, timeout_seconds: int) -> str:
    """A 2 x 16 run whose rank fails or hangs (``HFST_TEST_FAIL_RANK_AT_STEP``) under a collective timeout.

    Asserts the run failed well within the subprocess bound (no rank waited for ever); returns the
    failure file's text.
    """
    env = {"HFST_TEST_FAIL_RANK_AT_STEP": fail_rank_at, "HFST_DISTRIBUTED_TIMEOUT_SECONDS": str(timeout_seconds)}
    run = _run(base, channels, model, processes=2, per_device=16, env=env)
    assert run.returncode != 0
    assert run.seconds < 200, run.output[-4000:]  # torchrun stopped the other rank (or its collective timed out)
    assert not _metric_lines(run.output)
    return (base / "output" / "failure").read_text()


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_distributed_failing_rank_ends_the_run_with_its_reason(
    tmp_path: Path, channels: dict[str, Path], tiny_model: Path
) -> None:
    failure = _failed_run(tmp_path, channels, tiny_model, "1:1", timeout_seconds=60)
    assert failure.startswith("rank 1 of 2: RuntimeError: injected failure on rank 1 after step 1"), failure
    assert not (tmp_path / "model" / "model.safetensors").exists()


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_distributed_hanging_rank_meets_the_collective_timeout(
    tmp_path: Path, channels: dict[str, Path], tiny_model: Path
) -> None:
    # rank 1 sleeps for an hour: rank 0's collective timed out, torchrun stopped rank 1
    failure = _failed_run(tmp_path, channels, tiny_model, "1:1:hang", timeout_seconds=10)
    assert failure.startswith("rank 0 of 2: "), failure
    assert "timed out" in failure.lower() or "timeout" in failure.lower(), failure


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_distributed_checkpoint_is_not_resumed_by_another_number_of_processes(
    two_by_16: Run, channels: dict[str, Path], tiny_model: Path, tmp_path: Path
) -> None:
    shutil.copytree(two_by_16.base / "checkpoints", tmp_path / "checkpoints")
    run = _run(tmp_path, channels, tiny_model, processes=1, per_device=16)
    assert run.returncode != 0
    failure = (tmp_path / "output" / "failure").read_text()
    assert "written by 2 training process(es) and this run has 1" in failure


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_distributed_resume_continues_where_the_interrupted_run_stopped(
    two_by_16: Run, channels: dict[str, Path], tiny_model: Path, tmp_path: Path
) -> None:
    stopped = _run(tmp_path, channels, tiny_model, 2, 16, env={"HFST_TEST_STOP_AFTER_STEP": "2"})
    assert stopped.returncode != 0  # a spot interruption right after the step-2 checkpoint
    assert (tmp_path / "checkpoints" / "state.pt").is_file()
    assert not (tmp_path / "model" / "config.json").exists()
    resumed = _run(tmp_path, channels, tiny_model, 2, 16)
    assert resumed.returncode == 0, resumed.output[-4000:]
    assert "[default0]:hfst: resumed from the checkpoint" in resumed.output
    assert _steps(resumed.output)[0] == 4.0  # continues: does not redo steps 1-2
    got, want = resumed.report()["evaluations"], two_by_16.report()["evaluations"]
    assert [e["step"] for e in got] == [e["step"] for e in want] == [2, 4]
    for mine, theirs in zip(got, want, strict=True):  # every rank read the checkpoint: same end as uninterrupted
        assert mine["eval_loss"] == pytest.approx(theirs["eval_loss"], rel=1e-6)
        assert mine["train_loss"] == pytest.approx(theirs["train_loss"], rel=1e-6)


@given(size=st.integers(0, 500), world_size=st.integers(1, 9))
def test_distributed_shards_tile_the_split_without_duplicates(size: int, world_size: int) -> None:
    bounds = [shard_bounds(size, rank, world_size) for rank in range(world_size)]
    covered = [index for start, end in bounds for index in range(start, end)]
    assert covered == list(range(size))  # contiguous, disjoint, nothing dropped
    sizes = [end - start for start, end in bounds]
    assert max(sizes) - min(sizes) <= 1
    items = list(range(size))
    joined = [item for rank in range(world_size) for item in shard(items, World(rank, world_size))]
    assert joined == items


def test_distributed_world_is_read_from_torchrun_variables() -> None:
    assert world_from_env({}) == World()
    assert not world_from_env({"WORLD_SIZE": "1", "RANK": "0"}).enabled
    torchrun = {"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "29500"}
    world = world_from_env({**torchrun, "HFST_DISTRIBUTED_TIMEOUT_SECONDS": "45"})
    assert (world.rank, world.world_size, world.local_rank, world.timeout_seconds) == (1, 2, 1, 45.0)
    assert world.enabled
    assert not world.is_main
    with pytest.raises(HyperparameterError, match="MASTER_ADDR, MASTER_PORT are not set: start distributed"):
        world_from_env({"RANK": "0", "WORLD_SIZE": "2", "LOCAL_RANK": "0"})
    with pytest.raises(HyperparameterError, match="HFST_DISTRIBUTED_TIMEOUT_SECONDS='soon' is not a positive"):
        world_from_env({"HFST_DISTRIBUTED_TIMEOUT_SECONDS": "soon"})


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_distributed_token_classification_gathers_ragged_predictions_like_one_process(
    tmp_path: Path, ner_channels: dict[str, Path], tiny_model: Path
) -> None:
    """NER outputs are one list per text (ragged): the ranks' slices gather into the single-process scores."""
    extra = {"eval_steps": 2, "epochs": 1}
    ddp = _run(tmp_path / "ddp", ner_channels, tiny_model, processes=2, per_device=16, extra=extra)
    single = _run(tmp_path / "one", ner_channels, tiny_model, processes=1, per_device=32, extra=extra)
    assert ddp.returncode == 0, ddp.output[-4000:]
    assert single.returncode == 0, single.output[-4000:]
    got, want = ddp.report(), single.report()
    assert got["validation"]["scored_per_evaluation"] == [VALIDATION_EXAMPLES] * len(got["evaluations"])
    assert len(got["evaluations"]) == len(want["evaluations"]) >= 1
    # Token-level losses are float32 sums over ragged texts: the two runs add them in another order (per
    # rank, then all-reduced), which moves the 5th significant digit (seen: 1.6e-5 relative with one
    # OpenMP thread per process). The random model's tags are near ties, so that rounding can flip one
    # predicted entity of about 135 (seen: precision 1/136 against 1/135): entity scores agree to 0.01.
    for a, b in zip(got["evaluations"], want["evaluations"], strict=True):
        assert a["eval_loss"] == pytest.approx(b["eval_loss"], rel=10 * RELATIVE_TOLERANCE)
        for key in ("eval_precision", "eval_recall", "eval_f1", "eval_official", "eval_f1_person"):
            assert a[key] == pytest.approx(b[key], abs=0.01), key
