"""Chaos: the coordinator is SIGKILLed at random points and resumed; the job ends exactly as if it never was."""

from __future__ import annotations

import json
import os
import random
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hf_sagemaker_tuning import _process
from hf_sagemaker_tuning.backends.local import LocalBackend
from hf_sagemaker_tuning.compile import TuningJobRequest

from .test_local_resume import end_everything, wait_for

MakeRequest = Callable[..., TuningJobRequest]
ROUNDS = 10
MAX_JOBS = 12


@pytest.fixture(autouse=True)
def _no_process_left(tmp_path: Path) -> Iterator[None]:
    yield
    end_everything(tmp_path)


@pytest.mark.slow
@pytest.mark.timeout(180)
@pytest.mark.skipif(not _process.has_proc(), reason="needs /proc (Linux)")
@pytest.mark.parametrize("strategy", ["random", "bayesian"])
def test_killing_the_coordinator_at_random_points_loses_and_repeats_nothing(
    tmp_path: Path, make_request: MakeRequest, monkeypatch: pytest.MonkeyPatch, strategy: str
) -> None:
    monkeypatch.setenv("HFST_TEST_EPOCH_SECONDS", "0.15")
    rng = random.Random(f"chaos-{strategy}")
    be = LocalBackend(tmp_path / "jobs", poll_seconds=0.02, grace_seconds=1)
    tuning = {"strategy": strategy, "max_jobs": MAX_JOBS, "max_parallel_jobs": 3, "random_seed": 4}
    job = be.submit(make_request(tuning=tuning))
    folder = be.folder(job)
    finished: dict[str, tuple[object, object]] = {}  # every completed trial seen: (objective, end time)
    kills = 0
    for _ in range(ROUNDS):
        time.sleep(rng.uniform(0.05, 1.2))
        state = folder.state()
        if state.HyperParameterTuningJobStatus == "Completed":
            break
        if _process.send_signal(state.CoordinatorPid, state.CoordinatorStarted, signal.SIGKILL):
            kills += 1
        pid, started = state.CoordinatorPid, state.CoordinatorStarted
        wait_for(lambda: not _process.is_alive(pid, started), 20)  # noqa: B023 - called at once
        for record in folder.trial_records():
            if record.TrainingJobStatus == "Completed" and not record.Superseded:
                finished.setdefault(record.TrainingJobName, (record.FinalObjectiveValue, record.TrainingEndTime))
        be.resume(job)
    answer = be.wait(job, poll_seconds=0.05, timeout=120)

    assert kills >= ROUNDS // 2
    log = (folder.path / "coordinator.log").read_text(errors="replace").splitlines()
    assert answer["HyperParameterTuningJobStatus"] == "Completed", "\n".join(log[-30:])
    records = folder.trial_records()
    kept = [r for r in records if not r.Superseded]
    assert len(kept) == MAX_JOBS  # the exact count
    assert all(r.TrainingJobStatus == "Completed" for r in kept)
    configs = [json.dumps(r.TunedHyperParameters, sort_keys=True) for r in kept]
    assert len(set(configs)) == MAX_JOBS, "a configuration was tried twice"
    superseded = [r for r in records if r.Superseded]
    assert not [r for r in superseded if r.TrainingJobStatus == "Completed"], "a completed trial was re-run"
    by_name = {r.TrainingJobName: r for r in kept}
    for name, (objective, ended) in finished.items():  # no completed trial lost or changed
        assert name in by_name, f"completed trial {name} was lost"
        assert (by_name[name].FinalObjectiveValue, by_name[name].TrainingEndTime) == (objective, ended)
    assert sorted(folder.state().Trials or []) == sorted(r.TrainingJobName for r in records)
    assert not _process.find_by_environ("SAGEMAKER_BASE_DIR", folder.trials_dir), "a trial process was left"
    state = folder.state()
    assert state.CoordinatorPid is None

    def coordinators() -> list[int]:
        pids = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and int(p.name) != os.getpid()]
        return [pid for pid in pids if str(folder.path) in (_process.cmdline(pid) or "") and _process.is_alive(pid)]

    wait_for(lambda: not coordinators(), 20)  # the last one exits right after writing its state
