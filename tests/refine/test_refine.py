"""Retrain and narrow: the next steps after a tuning job, on both backends."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from hf_sagemaker_tuning.backends.local import LocalBackend
from hf_sagemaker_tuning.cli import app
from hf_sagemaker_tuning.compile import TuningJobRequest, compile_request
from hf_sagemaker_tuning.errors import BackendError, TuningError
from hf_sagemaker_tuning.refine import narrow_spec, retrain, retrain_hyperparameters
from hf_sagemaker_tuning.specs import dump_yaml, load_job_spec, parse_job_spec
from hf_sagemaker_tuning.trials import Trial

from ..conftest import EXAMPLE_SPEC
from ..fakejob import fake_spec

pytestmark = pytest.mark.timeout(120)
MakeRequest = Callable[..., TuningJobRequest]


def _finished_job(tmp_path: Path, make_request: MakeRequest, **overrides: Any) -> tuple[LocalBackend, Path]:
    backend = LocalBackend(tmp_path / "jobs", poll_seconds=0.02, grace_seconds=2)
    settings = {"tuning": {"strategy": "random", "max_jobs": 10, "max_parallel_jobs": 2, "random_seed": 4}}
    settings.update(overrides)
    request = make_request("parent", **settings)
    backend.run(request)
    folder = tmp_path / "jobs" / "parent"
    (folder / "spec.yaml").write_text(dump_yaml(parse_job_spec(fake_spec(**settings))))
    return backend, folder


def _summary(hps: dict[str, str], value: float) -> Trial:
    return Trial(name=f"t-{value}", status="Completed", hyperparameters=hps, objective=value, objective_metric="m")


def test_narrow_shrinks_ranges_around_the_top_trials_in_their_own_scale() -> None:
    spec = parse_job_spec(fake_spec())
    trials = [
        _summary({"x": "0.30", "y": "0.10", "opt": "c"}, 0.9),
        _summary({"x": "0.35", "y": "0.20", "opt": "c"}, 0.8),
        _summary({"x": "0.25", "y": "0.15", "opt": "b"}, 0.7),
        _summary({"x": "0.90", "y": "0.90", "opt": "a"}, 0.1),
        _summary({"x": "0.05", "y": "0.02", "opt": "a"}, 0.2),
    ]
    new = narrow_spec(spec, trials, parent_job="parent", minimum=3)
    x, y, opt = new.search_space["x"], new.search_space["y"], new.search_space["opt"]
    assert 0.2 <= x.min < 0.25 and 0.35 < x.max <= 0.4  # type: ignore[union-attr]
    assert 0.08 < y.min < 0.1 and 0.2 < y.max < 0.25  # type: ignore[union-attr]  # margin taken in log space
    assert y.scaling == "logarithmic"  # type: ignore[union-attr]
    assert opt.values == ["b", "c"]  # type: ignore[union-attr]
    assert new.tuning.warm_start is not None and new.tuning.warm_start.parents == ["parent"]
    assert new.tuning.warm_start.type == "transfer_learning"
    assert new.name == "fake-narrow"
    compile_request(new, target="local", job_name="n")  # still a valid, compilable job


def test_narrow_needs_two_completed_trials() -> None:
    with pytest.raises(TuningError, match="at least two completed trials"):
        narrow_spec(parse_job_spec(fake_spec()), [_summary({"x": "0.3", "y": "0.1", "opt": "a"}, 1.0)], parent_job="p")


def _parent_and_narrowed_child(
    tmp_path: Path, make_request: MakeRequest, channels: Path
) -> tuple[LocalBackend, Path, TuningJobRequest]:
    """A finished job ``parent``, and the request of ``child``: narrowed from it, warm-starting from it."""
    backend, folder = _finished_job(tmp_path, make_request)
    new = narrow_spec(load_job_spec(folder / "spec.yaml"), backend.list_trials("parent"), parent_job="parent")
    request = compile_request(new, target="local", job_name="child", data_uri=channels.as_uri())
    return backend, folder, request


def test_narrowed_job_warm_starts_from_its_parent_locally(
    tmp_path: Path, make_request: MakeRequest, channels: Path
) -> None:
    backend, _, request = _parent_and_narrowed_child(tmp_path, make_request, channels)
    answer = backend.run(request)
    assert answer["HyperParameterTuningJobStatus"] == "Completed"
    assert len(backend.list_trials("child")) == 10
    log = (tmp_path / "jobs" / "child" / "coordinator.log").read_text()
    assert "warm start: " in log and "trials from parent" in log
    seeded = int(log.split("warm start: ")[1].split(" ")[0])
    assert seeded >= 2


def test_a_warm_start_refuses_a_parent_whose_trial_json_disagrees_with_its_log(
    tmp_path: Path, make_request: MakeRequest, channels: Path
) -> None:
    backend, folder, request = _parent_and_narrowed_child(tmp_path, make_request, channels)
    record_file = next(p for p in sorted((folder / "trials").glob("*/trial.json")) if '"Completed"' in p.read_text())
    record = json.loads(record_file.read_text())
    logged = record["FinalObjectiveValue"]
    record["FinalObjectiveValue"] = 99.5  # edited by hand: the log still says otherwise
    record_file.write_text(json.dumps(record))
    with pytest.raises(BackendError, match="warm start") as refused:
        backend.run(request)
    message = str(refused.value)
    assert record["TrainingJobName"] in message and "99.5" in message and f"{logged:g}" in message
    assert "parent" in message


def test_retrain_local_runs_the_best_configuration_longer(tmp_path: Path, make_request: MakeRequest) -> None:
    backend, folder = _finished_job(tmp_path, make_request)
    best = backend.describe("parent")["BestTrainingJob"]
    result = retrain(folder, epochs=6)
    assert result.status == "Completed", result.failure_reason
    assert len(backend.metric_history(str(folder), result.training_job_name)["score"]) == 6
    assert result.hyperparameters["x"] == best["TunedHyperParameters"]["x"]
    assert result.objective is not None
    assert result.objective > best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]  # more epochs
    assert result.model is not None and Path(result.model, "config.json").is_file()


def test_the_retrained_model_is_what_deploy_picks_up(tmp_path: Path, make_request: MakeRequest) -> None:
    backend, folder = _finished_job(tmp_path, make_request)
    before = backend.best_model(str(folder))
    assert before.source == "trial"
    result = retrain(folder, epochs=5)
    after = backend.best_model(str(folder))
    assert (after.source, after.training_job_name) == ("retrain", result.training_job_name)
    assert Path(after.location) == Path(str(result.model))
    from hf_sagemaker_tuning.deploy._local import resolve_model_dir

    (Path(after.location) / "code").mkdir(exist_ok=True)
    (Path(after.location) / "code" / "inference.py").write_text("# serving code\n")
    assert resolve_model_dir(folder) == Path(after.location).resolve()


def _description(tuned: dict[str, str], static: dict[str, str] | None = None) -> dict[str, Any]:
    request = compile_request(load_job_spec(EXAMPLE_SPEC), job_name="tuned-1").to_api()
    if static is not None:
        request["TrainingJobDefinition"]["StaticHyperParameters"].update(static)
    return {
        **request,
        "BestTrainingJob": {
            "TrainingJobName": "best-1",
            "TrainingJobStatus": "Completed",
            "TunedHyperParameters": tuned,
        },
    }


def test_a_longer_retrain_keeps_its_last_model_unless_told_otherwise() -> None:
    tuned = {"learning_rate": "3e-05", "warmup_steps": "10", "optimizer": "adamw", "weight_decay": "0.01"}
    longer = retrain_hyperparameters(_description(tuned), epochs=6)
    assert longer["save_model"] == "last" and longer["epochs"] == "6"
    best = retrain_hyperparameters(_description(tuned), epochs=6, keep="best")
    assert best["save_model"] == "best"
    assert best["metric_for_best_model"] == "eval_macro_recall"  # the tuned objective picks the checkpoint


def test_retrain_checks_the_hyperparameters_it_reads_back() -> None:
    tuned = {"learning_rate": "3e-05", "warmup_steps": "10", "optimizer": '"adamw"', "weight_decay": "0.01"}
    assert retrain_hyperparameters(_description(tuned))["optimizer"] == "adamw"  # SDK v2's quotes removed
    with pytest.raises(TuningError, match=r"hyperparameters\.optimizer: is 'rmsprop'"):
        retrain_hyperparameters(_description({**tuned, "optimizer": "rmsprop"}))
    with pytest.raises(TuningError, match=r"hyperparameters\.lr_typo: is not"):
        retrain_hyperparameters(_description(tuned, static={"lr_typo": "1"}))


def test_narrow_from_the_cli_uses_the_spec_kept_with_a_job_started_from_python(
    tmp_path: Path, make_request: MakeRequest
) -> None:
    backend = LocalBackend(tmp_path / "jobs", poll_seconds=0.02, grace_seconds=2)
    settings = {"tuning": {"strategy": "random", "max_jobs": 6, "max_parallel_jobs": 2, "random_seed": 4}}
    spec = parse_job_spec(fake_spec(**settings))
    backend.submit(make_request("from-python", **settings), spec)
    backend.wait("from-python", poll_seconds=0.05, timeout=100)
    result = CliRunner().invoke(app, ["narrow", "from-python", "--jobs-dir", str(tmp_path / "jobs")])
    assert result.exit_code == 0, result.output
    assert yaml.safe_load(result.output)["tuning"]["warm_start"]["parents"] == ["from-python"]


def test_cli_narrow_and_retrain(tmp_path: Path, make_request: MakeRequest) -> None:
    _, folder = _finished_job(tmp_path, make_request)
    runner = CliRunner()
    out = tmp_path / "narrow.yaml"
    result = runner.invoke(app, ["narrow", str(folder), "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert yaml.safe_load(out.read_text())["tuning"]["warm_start"]["parents"] == ["parent"]
    result = runner.invoke(app, ["retrain", str(folder), "--epochs", "4"])
    assert result.exit_code == 0, result.output
    assert "Completed" in result.output and "objective = " in result.output
    result = runner.invoke(app, ["narrow", str(tmp_path / "nope")])
    assert result.exit_code == 2 and "is not a local tuning job folder" in result.output


@pytest.mark.aws
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_retrain_on_sagemaker_creates_a_training_job_with_the_best_hyperparameters() -> None:
    from ..backends.sagemaker_env import example_spec, moto_sagemaker

    captured: dict[str, Any] = {}
    with moto_sagemaker() as env:
        env.backend.client.meta.events.register(  # the backend's client copied the session's hooks already
            "provide-client-params.sagemaker.CreateTrainingJob", lambda params, **_: captured.update(params)
        )
        env.backend.submit(compile_request(example_spec(), job_name="tuned-1"))
        best = env.backend.best_trial("tuned-1")
        assert best is not None
        result = retrain("tuned-1", env.backend, epochs=5, wait=False)
        assert result.status in ("InProgress", "Completed")  # moto finishes training jobs at once
        tags = env.session.client("sagemaker").list_tags(
            ResourceArn=captured_arn(env.session, result.training_job_name)
        )
    assert captured["TrainingJobName"] == result.training_job_name
    assert {"Key": "hfst-retrain-of", "Value": "tuned-1"} in tags["Tags"]
    hps = captured["HyperParameters"]
    assert hps["epochs"] == "5"
    assert {k: hps[k] for k in best.hyperparameters} == best.hyperparameters
    assert hps["model_name_or_path"] == "distilbert-base-uncased"
    assert "_tuning_objective_metric" not in hps
    assert hps["save_model"] == "last"
    assert captured["AlgorithmSpecification"]["TrainingImage"].endswith("gpu-py312-cu129-ubuntu22.04")


def captured_arn(session: Any, name: str) -> str:
    return str(session.client("sagemaker").describe_training_job(TrainingJobName=name)["TrainingJobArn"])


def test_retrain_of_a_running_job_is_refused_unless_allowed(
    tmp_path: Path, make_request: MakeRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A running job has only a best trial *so far*: refused by default, named loudly when allowed."""
    import time

    from hf_sagemaker_tuning import TuningJob
    from hf_sagemaker_tuning.errors import BackendError

    monkeypatch.setenv("HFST_TEST_EPOCH_SECONDS", "0.4")
    backend = LocalBackend(tmp_path / "jobs", poll_seconds=0.05, grace_seconds=2)
    settings = {"tuning": {"strategy": "random", "max_jobs": 30, "max_parallel_jobs": 1, "random_seed": 4}}
    job = backend.submit(make_request("running", **settings))
    try:
        deadline = time.monotonic() + 90
        while not backend.describe(job).get("BestTrainingJob"):
            assert time.monotonic() < deadline, "no trial completed in time"
            time.sleep(0.1)
        so_far = backend.describe(job)["BestTrainingJob"]["TrainingJobName"]
        with pytest.raises(BackendError, match=r"is still running \(InProgress, \d+ of 30 trials completed\)") as no:
            retrain(job, backend)
        assert "best trial so far is" in str(no.value) and "allow_running=True" in str(no.value)
        assert not (tmp_path / "jobs" / "running" / "retrain").exists()  # nothing was started

        cli = CliRunner().invoke(app, ["retrain", str(tmp_path / "jobs" / "running")])
        assert cli.exit_code == 2 and "--allow-running" in cli.output and "Traceback" not in cli.output

        monkeypatch.setenv("HFST_TEST_EPOCH_SECONDS", "0")
        result = TuningJob(backend, job).retrain(epochs=2, allow_running=True)
        assert result.status == "Completed" and result.job_status == "InProgress"
        assert result.trial is not None and result.trial.startswith("running-")
        assert backend.describe(job)["HyperParameterTuningJobStatus"] == "InProgress"
        assert so_far.startswith("running-")
        time.sleep(1.1)  # default retrain names are per second
        cli = CliRunner().invoke(
            app, ["retrain", str(tmp_path / "jobs" / "running"), "--epochs", "1", "--allow-running"]
        )
        assert cli.exit_code == 0, cli.output
        assert "the job is still InProgress: this is its best trial SO FAR" in cli.stderr.splitlines()[0]
    finally:
        backend.stop(job)
        backend.wait(job, poll_seconds=0.1, timeout=60)


def test_cli_retrain_prints_its_progress_off_a_terminal(tmp_path: Path, make_request: MakeRequest) -> None:
    """Started (which trial), one line per evaluation, done: a long retrain never prints nothing."""
    backend, folder = _finished_job(tmp_path, make_request)
    best = backend.describe("parent")["BestTrainingJob"]
    result = CliRunner().invoke(app, ["retrain", str(folder), "--epochs", "4"])
    assert result.exit_code == 0, result.output
    err = result.stderr.splitlines()
    assert err[0].startswith(f"retraining trial {best['TrainingJobName']} (objective ")
    assert err[0].endswith("of tuning job parent: epochs=4")  # the fake script has no save_model; not running
    evaluations = [line for line in err if line.startswith("evaluation ")]
    assert [line.split(":")[0] for line in evaluations] == [f"evaluation {i}" for i in range(1, 5)]
    assert all(line.split(": ")[1].startswith("score = ") for line in evaluations)
    assert err[-1] == "retrain ended after 4 evaluation(s)"


def test_a_model_artifact_says_which_model_it_is() -> None:
    from hf_sagemaker_tuning.backends.base import ModelArtifact

    retrained = ModelArtifact(
        "parent-retrain-1", "/m", source="retrain", objective=0.8, kept="last evaluation (step 9)"
    )
    assert retrained.summary == "retrain parent-retrain-1 (kept: last evaluation (step 9); objective 0.8)"
    assert ModelArtifact("parent-003", "/m", objective=0.75).summary == "trial parent-003 (objective 0.75)"
