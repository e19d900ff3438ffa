"""The local backend's distributed trials: ``local:`` section, slots, torchrun launch, stopping every rank.

The fake training job (tests/backends/fake/fake_train.py) runs under the venv's real torchrun here
(``processes_per_trial`` on CPU); the bundled package's real DDP run is in
tests/test_end_to_end_local.py.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hf_sagemaker_tuning import _process
from hf_sagemaker_tuning.backends.local import LocalBackend
from hf_sagemaker_tuning.backends.local.slots import plan_slots, threads_per_process
from hf_sagemaker_tuning.backends.local.trial import Launch, command, environment, start, terminate
from hf_sagemaker_tuning.compile import TuningJobRequest, compile_request
from hf_sagemaker_tuning.errors import BackendError, SpecError
from hf_sagemaker_tuning.specs import TuningJobSpec, parse_job_spec

from ..helpers import kill_coordinator, wait_for
from .conftest import fake_spec

MakeRequest = Callable[..., TuningJobRequest]
pytestmark = pytest.mark.timeout(180)
DISTRIBUTED = {"training.distribution": "torch_distributed"}


def _spec(**overrides: Any) -> TuningJobSpec:
    return parse_job_spec(fake_spec(**{**DISTRIBUTED, **overrides}))


def test_distributed_slots_give_each_trial_gpus_of_its_own(caplog: pytest.LogCaptureFixture) -> None:
    gpus = [str(i) for i in range(8)]
    assert plan_slots(gpus, 4, cpus=16, gpus_per_trial=4) == [("0,1,2,3", 8), ("4,5,6,7", 8)]
    assert plan_slots(gpus, 1, cpus=16, gpus_per_trial=4) == [("0,1,2,3", 16)]
    with caplog.at_level(logging.WARNING, logger="hf_sagemaker_tuning.local"):
        assert plan_slots(gpus[:6], 3, cpus=6, gpus_per_trial=4) == [("0,1,2,3", 6)]
    assert "2 GPU(s) left unused (4,5)" in caplog.text
    with pytest.raises(BackendError, match="gpus_per_trial 4 needs 4 GPUs; this machine shows 2"):
        plan_slots(gpus[:2], 1, gpus_per_trial=4)
    # gpus_per_trial 1 is today's one GPU per trial, trials_per_gpu still packs
    assert plan_slots(gpus[:2], 4, 2, cpus=8, gpus_per_trial=1) == [("0", 2), ("0", 2), ("1", 2), ("1", 2)]


@pytest.mark.parametrize("cores", [1, 2, 3, 8, 16])
@pytest.mark.parametrize("parallel", [1, 2, 3, 5])
@pytest.mark.parametrize("processes", [2, 3, 4])
def test_processes_per_trial_split_the_cores(cores: int, parallel: int, processes: int) -> None:
    slots = plan_slots([], parallel, cpus=cores, processes_per_trial=processes)
    assert len(slots) == parallel
    per_process = [threads_per_process(threads, processes, cores) for _, threads in slots]
    assert all(gpu is None for gpu, _ in slots)
    assert all(t is not None and t >= 1 for t in per_process)
    total = sum(t or 0 for t in per_process) * processes
    assert total <= max(cores, parallel * processes)  # one thread each when processes outnumber the cores


def test_distributed_trial_is_launched_under_torchrun(tmp_path: Path, make_request: MakeRequest) -> None:
    request = make_request()
    hps = dict(request.TrainingJobDefinition.StaticHyperParameters, x="0.5")
    launch = Launch("t-1", tmp_path / "t-1", hps, cuda_devices="2,3", threads=8, processes=2)
    args, _ = command(request, launch, python="/venv/bin/python")
    assert args[:8] == [
        "/venv/bin/python",
        *("-m", "torch.distributed.run", "--standalone", "--nnodes", "1", "--nproc_per_node", "2"),
    ]
    assert args[8].endswith("fake_train.py")
    assert args[-2:] == ["--x", "0.5"]  # the hyperparameters follow the entry point, as without torchrun
    env = environment(request, launch)
    assert (env["CUDA_VISIBLE_DEVICES"], env["SM_NUM_GPUS"], env["OMP_NUM_THREADS"]) == ("2,3", "2", "4")
    assert env["SM_HOSTS"] == '["algo-1"]'
    single = Launch("t-2", tmp_path / "t-2", hps, threads=8)
    assert "torch.distributed.run" not in command(request, single)[0]
    assert environment(request, single)["OMP_NUM_THREADS"] == "8"


def test_distributed_local_section_is_checked() -> None:
    with pytest.raises(SpecError, match=r"local\.trials_per_gpu: gpus_per_trial 2 and trials_per_gpu 3"):
        _spec(local={"gpus_per_trial": 2, "trials_per_gpu": 3})
    with pytest.raises(SpecError, match=r"local\.processes_per_trial: 2 processes .*torch_distributed"):
        parse_job_spec(fake_spec(local={"processes_per_trial": 2}))
    with pytest.raises(SpecError, match=r"local\.gpus_per_trial"):
        parse_job_spec(fake_spec(local={"gpus_per_trial": 0}))
    assert _spec(local={"processes_per_trial": 2}).local is not None


def test_processes_per_trial_flags_override_the_spec(tmp_path: Path) -> None:
    spec = _spec(local={"processes_per_trial": 2, "trials_per_gpu": 3})
    assert LocalBackend(tmp_path).options_for(spec).processes_per_trial == 2
    assert LocalBackend(tmp_path).options_for(spec).trials_per_gpu == 3
    given = LocalBackend(tmp_path, processes_per_trial=4, trials_per_gpu=1).options_for(spec)
    assert (given.processes_per_trial, given.trials_per_gpu) == (4, 1)
    assert LocalBackend(tmp_path).options_for(None).processes_per_trial == 1
    with pytest.raises(BackendError, match="gpus_per_trial 2 and trials_per_gpu 3"):
        LocalBackend(tmp_path, gpus_per_trial=2).options_for(spec)


def test_processes_per_trial_job_runs_each_trial_under_torchrun(tmp_path: Path, channels: Path) -> None:
    spec = _spec(local={"processes_per_trial": 2}, **{"tuning.max_jobs": 2, "tuning.max_parallel_jobs": 1})
    request = compile_request(spec, target="local", job_name="fake-job", data_uri=channels.as_uri())
    be = LocalBackend(tmp_path / "jobs", poll_seconds=0.05, grace_seconds=5, gpus=[])
    answer = be.run(request, spec)
    assert answer["HyperParameterTuningJobStatus"] == "Completed", answer
    folder = be.folder("fake-job")
    assert folder.state().Options.processes_per_trial == 2
    for record in folder.trial_records():
        assert record.Processes == 2
        data = folder.trial_dir(record.TrainingJobName) / "output" / "data"
        ranks = [json.loads((data / name).read_text()) for name in ("seen.json", "seen-rank1.json")]
        assert [(r["rank"], r["world_size"]) for r in ranks] == [(0, "2"), (1, "2")]
        assert ranks[0]["pid"] != ranks[1]["pid"]
        series = be.metric_history("fake-job", record.TrainingJobName)
        assert len(series["score"]) == 3  # rank 0's line per epoch, once
        log = (folder.trial_dir(record.TrainingJobName) / "log.txt").read_text()
        assert log.count("hfst_metric") == 3


def test_stopping_a_distributed_trial_leaves_no_process_behind(tmp_path: Path, make_request: MakeRequest) -> None:
    """Both ranks ignore SIGTERM: torchrun (which starts them in sessions of their own) outlives the
    grace, is SIGKILLed with the trial's group, and the ranks must not be left running."""
    request = make_request()
    hps = dict(request.TrainingJobDefinition.StaticHyperParameters, x="0.5", y="0.5", opt="a", mode="stubborn")
    folder = tmp_path / "trial"
    process = start(request, Launch("t-1", folder, hps, threads=1, processes=2))
    data = folder / "output" / "data"
    wait_for(lambda: (data / "seen.json").is_file() and (data / "seen-rank1.json").is_file(), timeout=90)
    ranks = [json.loads((data / name).read_text())["pid"] for name in ("seen.json", "seen-rank1.json")]
    assert all(_process.is_alive(pid) for pid in ranks)
    terminate(process, grace_seconds=1.0)
    wait_for(lambda: not any(_process.is_alive(pid) for pid in ranks), timeout=15)
    assert _process.find_by_environ("SAGEMAKER_BASE_DIR", folder) == {}


def test_stopping_a_distributed_job_ends_every_rank(tmp_path: Path, channels: Path) -> None:
    """``hfst stop`` through the detached coordinator: every rank of the running trial ends too."""
    spec = _spec(
        local={"processes_per_trial": 2},
        **{"tuning.max_jobs": 2, "tuning.max_parallel_jobs": 1, "training.hyperparameters.mode": "stubborn"},
    )
    request = compile_request(spec, target="local", job_name="fake-job", data_uri=channels.as_uri())
    be = LocalBackend(tmp_path / "jobs", poll_seconds=0.05, grace_seconds=1, gpus=[])
    job = be.submit(request, spec)
    folder = be.folder(job)
    wait_for(lambda: len(folder.trial_records()) == 1, timeout=90)
    data = folder.trial_dir(folder.trial_records()[0].TrainingJobName) / "output" / "data"
    wait_for(lambda: (data / "seen.json").is_file() and (data / "seen-rank1.json").is_file(), timeout=90)
    ranks = [json.loads((data / name).read_text())["pid"] for name in ("seen.json", "seen-rank1.json")]
    be.stop(job)
    wait_for(lambda: be.describe(job)["HyperParameterTuningJobStatus"] == "Stopped", timeout=90)
    wait_for(lambda: not any(_process.is_alive(pid) for pid in ranks), timeout=15)
    assert _process.find_by_environ("SAGEMAKER_BASE_DIR", folder.trials_dir) == {}
    assert [r.TrainingJobStatus for r in folder.trial_records()] == ["Stopped"]


def test_distributed_cli_flag_clashing_with_the_spec_is_one_line(tmp_path: Path) -> None:
    """``--gpus-per-trial 2`` over a spec's ``trials_per_gpu: 3``: exit 2 naming both, before any data step."""
    import yaml
    from typer.testing import CliRunner

    from hf_sagemaker_tuning.cli import app

    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(fake_spec(**DISTRIBUTED, local={"trials_per_gpu": 3})))
    args = ["tune", str(path), "--jobs-dir", str(tmp_path / "jobs"), "--gpus-per-trial", "2"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "gpus_per_trial 2 and trials_per_gpu 3" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "jobs" / "fake").exists()


def test_a_distributed_trial_outliving_its_coordinator_is_adopted_with_every_rank(
    tmp_path: Path, channels: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """torchrun's workers run in sessions of their own: a resume must count them as the adopted
    trial's, not as orphans to end (which would fail the trial it adopted)."""
    monkeypatch.setenv("HFST_TEST_EPOCH_SECONDS", "1.5")
    spec = _spec(local={"processes_per_trial": 2}, **{"tuning.max_jobs": 1, "tuning.max_parallel_jobs": 1})
    request = compile_request(spec, target="local", job_name="fake-job", data_uri=channels.as_uri())
    be = LocalBackend(tmp_path / "jobs", poll_seconds=0.05, grace_seconds=2, gpus=[])
    job = be.submit(request, spec)
    folder = be.folder(job)
    wait_for(lambda: bool(folder.trial_records()) and folder.trial_records()[0].Pid is not None, timeout=90)
    data = folder.trial_dir(folder.trial_records()[0].TrainingJobName) / "output" / "data"
    wait_for(lambda: (data / "seen.json").is_file() and (data / "seen-rank1.json").is_file(), timeout=90)
    kill_coordinator(folder)
    groups = _process.find_by_environ("SAGEMAKER_BASE_DIR", folder.trials_dir)
    assert len(groups) == 3  # the wrapper's (wrapper + torchrun) and one session per rank
    be.resume(job, background=False)
    records = folder.trial_records()
    assert [(r.Superseded, r.TrainingJobStatus) for r in records] == [(False, "Completed")], records
    assert (be.logs(job, records[0].TrainingJobName)).count("hfst_metric") == 3  # never started again
    assert _process.find_by_environ("SAGEMAKER_BASE_DIR", folder.trials_dir) == {}
