"""Chaos: the coordinator is SIGKILLed at every step of a trial's launch and end, and resumed each time.

The kill is not left to timing (on a loaded machine a timed kill lands where it lands): the
coordinator's test hook ``HFST_TEST_KILL_AT=<checkpoint>[@<n>]`` makes a detached coordinator
SIGKILL itself the n-th time it reaches that checkpoint. The job must end exactly as if it
never was: no finished trial trained again, no configuration tried twice, none lost, and the
study agreeing with every trial's own file.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from hf_sagemaker_tuning import _process
from hf_sagemaker_tuning.backends.local import LocalBackend
from hf_sagemaker_tuning.backends.local.coordinator import CHECKPOINTS, KILL_AT
from hf_sagemaker_tuning.backends.local.jobs import JobFolder
from hf_sagemaker_tuning.compile import TuningJobRequest

from ..helpers import wait_for

MakeRequest = Callable[..., TuningJobRequest]
MAX_JOBS = 12
#: Every step of a trial's launch and end, some on a later trial (``@2``), then the job's end.
LAUNCH_AND_END = [
    "started",
    "launch.asked",
    "end.recorded",
    "launch.recorded",
    "end.judged",
    "launch.started",
    "end.told",
    "end.recorded@2",
    "end.judged@2",
    "concluding",
]
STRATEGIES: dict[str, dict[str, Any]] = {
    "random": {"tuning": {"strategy": "random"}},
    "hyperband": {"tuning": {"strategy": "hyperband", "hyperband": {"min_resource": 1, "max_resource": 2}}},
}
needs_proc = pytest.mark.skipif(not _process.has_proc(), reason="needs /proc (Linux)")
pytestmark = pytest.mark.usefixtures("no_process_left")


def run_with_kills(
    root: Path, request: TuningJobRequest, points: list[str], monkeypatch: pytest.MonkeyPatch
) -> tuple[JobFolder, dict[str, tuple[object, object]], list[str]]:
    """Submit ``request``, the coordinator killing itself at ``points[0]``; resume with each next point.

    Returns the folder, every completed trial seen between kills (objective, end time) and the
    points at which a coordinator really died before the job ended.
    """
    be = LocalBackend(root, poll_seconds=0.02, grace_seconds=1)
    monkeypatch.setenv(KILL_AT, points[0])
    job = be.submit(request)
    folder = be.folder(job)
    finished: dict[str, tuple[object, object]] = {}
    killed: list[str] = []
    for point, following in zip(points, [*points[1:], None], strict=True):
        state = folder.state()
        pid, started = state.CoordinatorPid, state.CoordinatorStarted
        assert pid is not None, state
        wait_for(lambda: not _process.is_alive(pid, started), 60)  # noqa: B023 - called at once
        state = folder.state()
        if state.HyperParameterTuningJobStatus == "Completed":
            break
        killed.append(point)
        for record in folder.trial_records():
            if record.TrainingJobStatus == "Completed" and not record.Superseded:
                finished.setdefault(record.TrainingJobName, (record.FinalObjectiveValue, record.TrainingEndTime))
        if following is None:
            monkeypatch.delenv(KILL_AT)
        else:
            monkeypatch.setenv(KILL_AT, following)
        be.resume(job)
    answer = be.wait(job, poll_seconds=0.05, timeout=120)
    log = (folder.path / "coordinator.log").read_text(errors="replace").splitlines()
    assert answer["HyperParameterTuningJobStatus"] == "Completed", "\n".join(log[-30:])
    return folder, finished, killed


def assert_exact(
    folder: JobFolder, finished: dict[str, tuple[object, object]], expected: int, pruning: bool = False
) -> None:
    """Exactly ``expected`` finished trials, none repeated, none trained twice, none lost; the study agrees.

    ``pruning``: trials may also end early-stopped (Hyperband).
    """
    records = folder.trial_records()
    kept = [r for r in records if not r.Superseded]
    assert len(kept) == expected  # the exact count
    ends = {r.TrainingJobName: (r.TrainingJobStatus, r.StopReason) for r in kept}
    allowed = {("Completed", None), ("Stopped", "EarlyStopping")} if pruning else {("Completed", None)}
    assert set(ends.values()) <= allowed, ends
    configs = [json.dumps(r.TunedHyperParameters, sort_keys=True) for r in kept]
    assert len(set(configs)) == expected, "a configuration was tried twice"
    # none re-run: a trial its coordinator was launching is picked up under its own name too
    assert not [r.TrainingJobName for r in records if r.Superseded], "a trial was re-run"
    by_name = {r.TrainingJobName: r for r in kept}
    for name, (objective, ended) in finished.items():  # no completed trial lost or changed
        assert name in by_name, f"completed trial {name} was lost"
        assert (by_name[name].FinalObjectiveValue, by_name[name].TrainingEndTime) == (objective, ended)
    assert sorted(folder.state().Trials or []) == sorted(r.TrainingJobName for r in records)
    with closing(sqlite3.connect(folder.path / "study.db")) as db:  # one study, told what every trial.json says
        assert db.execute("SELECT count(*) FROM studies").fetchone() == (1,)
        told = {  # optuna keeps a pruned trial's last intermediate value: only its state is compared
            number: (state, value if state == "COMPLETE" else None)
            for number, state, value in db.execute(
                "SELECT t.number, t.state, v.value FROM trials t LEFT JOIN trial_values v ON v.trial_id = t.trial_id"
            ).fetchall()
        }
    expected_told = [
        ("COMPLETE", r.FinalObjectiveValue) if r.TrainingJobStatus == "Completed" else ("PRUNED", None) for r in kept
    ]
    assert [told.get(-1 if r.TrialNumber is None else r.TrialNumber) for r in kept] == expected_told
    assert not _process.find_by_environ("SAGEMAKER_BASE_DIR", folder.trials_dir), "a trial process was left"
    state = folder.state()
    assert state.CoordinatorPid is None

    def coordinators() -> list[int]:
        pids = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and int(p.name) != os.getpid()]
        return [pid for pid in pids if str(folder.path) in (_process.cmdline(pid) or "") and _process.is_alive(pid)]

    wait_for(lambda: not coordinators(), 20)  # the last one exits right after writing its state


@pytest.mark.slow
@pytest.mark.timeout(300)
@needs_proc
# Every step under random search (the trial bookkeeping, the same for every strategy) and Hyperband (its
# trials also end stopped, with two more steps). Bayesian search is killed at random points below and,
# with parallel trials, at the steps of several trials; a resumed grid is test_local_resume.py's.
@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
def test_killing_the_coordinator_at_every_step_loses_and_repeats_nothing(
    tmp_path: Path, make_request: MakeRequest, monkeypatch: pytest.MonkeyPatch, strategy: str
) -> None:
    monkeypatch.setenv("HFST_TEST_EPOCH_SECONDS", "0.05")
    setup = STRATEGIES[strategy]
    # One trial at a time: each kill ends at most two trials, so every checkpoint is reached.
    tuning = {**setup["tuning"], "max_jobs": MAX_JOBS, "max_parallel_jobs": 1, "random_seed": 4}
    request = make_request(**{**setup, "tuning": tuning})
    points = list(LAUNCH_AND_END)
    if strategy == "hyperband":  # its trials end by being stopped at MaxResource
        points[1:1] = ["stop.marked", "stop.marked@2"]
    folder, finished, killed = run_with_kills(tmp_path / "jobs", request, points, monkeypatch)
    assert killed == points, "a checkpoint was never reached"
    assert_exact(folder, finished, MAX_JOBS, pruning=strategy == "hyperband")


@pytest.mark.slow
@pytest.mark.timeout(300)
@needs_proc
def test_killing_a_coordinator_of_parallel_trials_loses_and_repeats_nothing(
    tmp_path: Path, make_request: MakeRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HFST_TEST_EPOCH_SECONDS", "0.1")
    tuning = {"strategy": "bayesian", "max_jobs": MAX_JOBS, "max_parallel_jobs": 3, "random_seed": 4}
    points = ["end.recorded", "launch.started@2", "end.judged@2", "end.told", "stop.marked", "concluding"]
    folder, finished, killed = run_with_kills(tmp_path / "jobs", make_request(tuning=tuning), points, monkeypatch)
    assert len(killed) >= 3, killed
    assert_exact(folder, finished, MAX_JOBS)


@pytest.mark.slow
@pytest.mark.timeout(300)
@needs_proc
@pytest.mark.parametrize("strategy", ["random", "bayesian"])
def test_a_seeded_search_killed_at_random_points_proposes_what_an_uninterrupted_one_does(
    tmp_path: Path, make_request: MakeRequest, monkeypatch: pytest.MonkeyPatch, strategy: str
) -> None:
    monkeypatch.setenv("HFST_TEST_EPOCH_SECONDS", "0.02")
    tuning = {"strategy": strategy, "max_jobs": MAX_JOBS, "max_parallel_jobs": 1, "random_seed": 7}
    calm = LocalBackend(tmp_path / "calm", poll_seconds=0.02, grace_seconds=1)
    calm.run(make_request(tuning=tuning))
    expected = [r.TunedHyperParameters for r in calm.folder("fake-job").trial_records()]

    rng = random.Random(f"reproducible-{strategy}")
    steps = [c for c in CHECKPOINTS if c.startswith(("launch.", "end."))]
    points = sorted({f"{rng.choice(steps)}@{rng.randint(1, 2)}" for _ in range(4)})
    folder, finished, _ = run_with_kills(tmp_path / "jobs", make_request(tuning=tuning), points, monkeypatch)
    assert_exact(folder, finished, MAX_JOBS)
    resumed = [r.TunedHyperParameters for r in folder.trial_records() if not r.Superseded]
    assert resumed == expected, f"killed at {points}"


def test_the_kill_hook_refuses_an_unknown_checkpoint(
    tmp_path: Path, make_request: MakeRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hf_sagemaker_tuning.backends.local.coordinator import kill_point
    from hf_sagemaker_tuning.backends.local.run_coordinator import main

    assert kill_point({KILL_AT: "end.told@3"}) == ("end.told", 3)
    assert kill_point({}) is None
    with pytest.raises(ValueError, match=r"end\.recorded"):
        kill_point({KILL_AT: "end.nowhere"})
    be = LocalBackend(tmp_path / "jobs")
    folder = be.create(make_request())
    monkeypatch.setenv(KILL_AT, "nowhere")
    assert main([str(folder.path)]) == 2
    assert not (folder.path / "study.db").exists()  # refused before anything was touched
