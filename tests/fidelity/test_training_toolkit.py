"""The bundled training package under AWS's own training toolkit (sagemaker-training), per container generation.

Each test compiles a real job (the quickstart, the article's), writes what AMT writes for one
trial, uploads the code with ``SageMakerBackend.upload_source`` to S3 (moto) and runs the
container's command, ``train``, in the environment of that generation (tests/fidelity/versions.json).
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from ._trial import Trial, prepare_trial, read_metrics, run_toolkit
from .conftest import TRAIN_ENVS, env_python, read_json

pytestmark = [pytest.mark.fidelity, pytest.mark.slow]

SERVING_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "code/inference.py")


@pytest.fixture(autouse=True)
def _s3(monkeypatch: pytest.MonkeyPatch, s3_endpoint: str) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)  # the library's boto3 (upload_source) reaches moto


@pytest.fixture(scope="session")
def data_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Channels prepared once per job by the library (its own datasets version), shared by the tests."""
    return tmp_path_factory.mktemp("fidelity-channels")


def _trial(tmp_path: Path, which: str, model: Path, cache: Path, **extra: str) -> Trial:
    return prepare_trial(which, tmp_path / "opt-ml", model, cache, extra=extra or None)


#: The quickstart's and the article's trials under both generations, less the quickstart's under the newer
#: one: the article's job passes more hyperparameters (optimizer, warmup, weight decay, length grouping).
COMPILED_RUNS = [("quickstart", TRAIN_ENVS[0]), ("article", TRAIN_ENVS[0]), ("article", TRAIN_ENVS[1])]


@pytest.mark.timeout(600)
@pytest.mark.parametrize(("which", "env_name"), COMPILED_RUNS)
def test_a_compiled_trial_runs_under_the_real_toolkit(
    tmp_path: Path, env_name: str, which: str, tiny_model: Path, data_cache: Path, s3_endpoint: str
) -> None:
    env_python(env_name)  # skips before any work when the environment is not built
    trial = _trial(tmp_path, which, tiny_model, data_cache)
    code, log = run_toolkit(env_name, trial, s3_endpoint)
    assert code == 0, log[-4000:]
    assert (trial.output / "success").is_file() and not (trial.output / "failure").exists()
    # the toolkit fetched the code from S3 and ran it with the trial's hyperparameters as arguments
    assert (trial.base / "code" / "train.py").is_file()
    assert f"--learning_rate {trial.hyperparameters['learning_rate']}" in log or "learning_rate" in log
    found = read_metrics(trial.request, log)
    definitions = trial.request.TrainingJobDefinition.AlgorithmSpecification.MetricDefinitions
    report = read_json(trial.output / "data" / "metrics.json")
    final = report["final"]
    for definition in definitions:
        if definition.Name == "eval_official":  # printed only for a dataset that names its task
            continue
        assert definition.Name in found, f"{definition.Name} never matched the toolkit's output"
        # the regex reads each value whole: the last match is the kept model's evaluation
        assert found[definition.Name][-1] == pytest.approx(final[definition.Name], rel=1e-9), definition.Name
        assert len(found[definition.Name]) == len(report["evaluations"]) + 1
    objective = trial.request.objective_metric
    assert math.isfinite(found[objective][-1])
    for name in SERVING_FILES:
        assert (trial.model / name).is_file(), f"model/{name} is missing"
    config = read_json(trial.model / "config.json")
    assert sorted(config["id2label"].values()) == ["negative", "neutral", "positive"]
    if (which, env_name) == ("quickstart", TRAIN_ENVS[0]):  # the default image's artifact, served
        from ._serving import assert_table_served_alike

        assert_table_served_alike(trial.model, tmp_path / "served")


#: What each problem type's saved model must say (code/serving.json) and which architecture it has.
TYPE_MODELS = {
    "goemotions": ("multi_label_classification", "BertForSequenceClassification"),
    "stsb": ("regression", "BertForSequenceClassification"),
    "wnut17": ("token_classification", "BertForTokenClassification"),
}


#: Each problem type under the default training image, one example job each (EmoBank is regression, as
#: STS-B, which also reads text pairs); token classification, whose code leans most on the tokenizer's API
#: (word ids, offsets), under the newer generation too. The other types' code paths are the same under both
#: generations and run under transformers 5 in the local end-to-end and training-package tests.
TYPE_RUNS = [(which, TRAIN_ENVS[0]) for which in ("goemotions", "stsb", "wnut17")] + [("wnut17", TRAIN_ENVS[1])]


@pytest.mark.timeout(600)
@pytest.mark.parametrize(("which", "env_name"), TYPE_RUNS)
def test_each_problem_type_trains_under_the_real_toolkit(
    tmp_path: Path, env_name: str, which: str, tiny_model: Path, data_cache: Path, s3_endpoint: str
) -> None:
    """Multi-label, regression and NER example jobs: every compiled metric (eval_official too) is read back;
    the model trained on the default training image is served by the real Hugging Face handler as locally."""
    env_python(env_name)
    trial = _trial(tmp_path, which, tiny_model, data_cache)
    code, log = run_toolkit(env_name, trial, s3_endpoint)
    assert code == 0, log[-4000:]
    assert (trial.output / "success").is_file() and not (trial.output / "failure").exists()
    found = read_metrics(trial.request, log)
    report = read_json(trial.output / "data" / "metrics.json")
    definitions = trial.request.TrainingJobDefinition.AlgorithmSpecification.MetricDefinitions
    for definition in definitions:  # each example names its task: eval_official is printed and read too
        assert definition.Name in found, f"{definition.Name} never matched the toolkit's output"
        assert found[definition.Name][-1] == pytest.approx(report["final"][definition.Name], rel=1e-9)
    problem_type, architecture = TYPE_MODELS[which]
    serving = read_json(trial.model / "code" / "serving.json")
    assert serving["problem_type"] == problem_type
    assert read_json(trial.model / "config.json")["architectures"] == [architecture]
    if env_name == TRAIN_ENVS[0]:  # the default training image's artifact, served
        from ._serving import assert_served_alike

        assert_served_alike(trial.model, problem_type, tmp_path / "served")


@pytest.mark.timeout(600)
@pytest.mark.parametrize("env_name", TRAIN_ENVS[:1])  # the folds run the same training code as any trial
def test_a_cross_validated_trial_runs_under_the_real_toolkit_and_the_regexes_read_the_fold_mean(
    tmp_path: Path, env_name: str, tiny_model: Path, data_cache: Path, s3_endpoint: str
) -> None:
    env_python(env_name)
    trial = _trial(tmp_path, "quickstart-cv", tiny_model, data_cache, max_steps="2")
    assert trial.hyperparameters["cv_folds"] == "2"
    code, log = run_toolkit(env_name, trial, s3_endpoint)
    assert code == 0, log[-4000:]
    assert (trial.output / "success").is_file() and not (trial.output / "failure").exists()
    found = read_metrics(trial.request, log)
    objective = trial.request.objective_metric
    assert objective == "eval_cv_macro_recall"
    folds = [found["eval_fold0_macro_recall"][-1], found["eval_fold1_macro_recall"][-1]]
    assert found[objective][-1] == pytest.approx(sum(folds) / 2, rel=1e-9)  # the objective AMT reads: the mean
    assert found["eval_cv_macro_recall_std"][-1] == pytest.approx(abs(folds[0] - folds[1]) / math.sqrt(2), rel=1e-9)
    assert found["eval_cv_runs"] == [2.0] and found["eval_cv_steps"] == [2.0]
    report = read_json(trial.output / "data" / "metrics.json")
    assert report["final"][objective] == found[objective][-1]
    assert [run["fold"] for run in report["cross_validation"]["runs"]] == [0, 1]
    assert (trial.model / "hfst_cross_validation.json").is_file()
    assert not (trial.model / "config.json").exists()  # no model per fold unless asked


#: The failure paths end in the toolkit's handling of our exit status and failure file, which is the same
#: sagemaker-training in both generations: run under the default training image only.
FAILURE_ENVS = TRAIN_ENVS[:1]


@pytest.mark.timeout(300)
@pytest.mark.parametrize("env_name", FAILURE_ENVS)
def test_an_unknown_hyperparameter_fails_the_job_with_the_reason(
    tmp_path: Path, env_name: str, tiny_model: Path, data_cache: Path, s3_endpoint: str
) -> None:
    env_python(env_name)
    trial = _trial(tmp_path, "quickstart", tiny_model, data_cache, learning_rat="0.001")
    code, log = run_toolkit(env_name, trial, s3_endpoint)
    assert code != 0, log[-3000:]
    failure = (trial.output / "failure").read_text(encoding="utf-8")
    assert "learning_rat" in failure and "unknown hyperparameter" in failure
    assert not (trial.output / "success").exists()


@pytest.mark.timeout(420)
@pytest.mark.parametrize("env_name", FAILURE_ENVS)
def test_a_diverging_run_fails_the_job_with_the_reason(
    tmp_path: Path, env_name: str, tiny_model: Path, data_cache: Path, s3_endpoint: str
) -> None:
    env_python(env_name)
    trial = _trial(tmp_path, "quickstart", tiny_model, data_cache)
    code, log = run_toolkit(env_name, trial, s3_endpoint, HFST_TEST_INJECT_NAN_AT_STEP="2")
    assert code != 0, log[-3000:]
    failure = (trial.output / "failure").read_text(encoding="utf-8")
    assert "nan" in failure.lower() or "finite" in failure.lower(), failure
    assert not (trial.output / "success").exists()
