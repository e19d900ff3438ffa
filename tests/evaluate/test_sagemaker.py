"""``evaluate`` / ``hfst evaluate`` on the SageMaker backend under moto: one evaluation-only training job.

The CreateTrainingJob request is checked against botocore's model of the API; the evaluation
run's output (as ``training/evaluate.py`` prints it) is written to moto's CloudWatch Logs,
where the backend reads the metrics back from the log lines.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from hf_sagemaker_tuning.cli import app
from hf_sagemaker_tuning.compile import compile_request
from hf_sagemaker_tuning.contract import format_metric_line
from hf_sagemaker_tuning.evaluate import evaluate, latest_evaluation
from hf_sagemaker_tuning.evaluate._store import evaluation_key
from tests.backends.moto_amt import LOG_GROUP
from tests.backends.sagemaker_env import MotoSageMaker, example_spec, moto_sagemaker, new_session

pytestmark = [pytest.mark.aws, pytest.mark.timeout(60)]

LABELS = ["negative", "neutral", "positive"]
MATRIX = [[5, 2, 1], [1, 6, 2], [0, 1, 7]]
METRICS = {
    "eval_loss": 0.71,
    "eval_accuracy": 0.72,
    "eval_macro_f1": 0.7012,
    "eval_macro_recall": 0.7123,
    "eval_weighted_f1": 0.7201,
    "eval_official": 0.7123,
}


class EvaluationContainer:
    """Plays the training container for evaluation jobs: checks the request, writes the run's log lines."""

    def __init__(self, env: MotoSageMaker) -> None:
        self.requests: list[dict[str, Any]] = []
        self._logs = new_session().client("logs")
        event = "before-parameter-build.sagemaker.CreateTrainingJob"
        env.backend.client.meta.events.register(event, self._created)  # a client copies the session's handlers
        env.session.events.register(event, self._created)  # ... when it is made: clients made from now on

    def _created(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        from botocore.validate import validate_parameters

        validate_parameters(params, model.input_shape)  # raises ParamValidationError on a malformed request
        if params["HyperParameters"].get("sagemaker_program") != "evaluate.py":
            return
        self.requests.append(params)
        per_class = [
            {"label": name, "precision": 0.7, "recall": 0.7, "f1": 0.7, "support": sum(MATRIX[i])}
            for i, name in enumerate(LABELS)
        ]
        payload = {
            "split": params["HyperParameters"]["split"],
            "examples": 25,
            "label_names": LABELS,
            "metrics": METRICS,
            "official_metric": {"task": "tweet_eval/sentiment", "name": "macro-averaged recall", "score": "recall"},
            "per_class": per_class,
            "confusion_matrix": MATRIX,
            "device": "cuda",
        }
        lines = [
            "Invoking script with the following command: /opt/conda/bin/python evaluate.py --split test",
            "hfst: evaluating the model in /tmp/hfst-model-x on 25 test examples on cuda (bf16)",
            format_metric_line(METRICS),
            "hfst_evaluation " + json.dumps(payload),
        ]
        with contextlib.suppress(Exception):  # the group exists after the first job
            self._logs.create_log_group(logGroupName=LOG_GROUP)
        stream = f"{params['TrainingJobName']}/algo-1-{int(time.time())}"
        self._logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=stream)
        now = int(time.time() * 1000)
        events = [{"timestamp": now + i, "message": line} for i, line in enumerate(lines)]
        self._logs.put_log_events(logGroupName=LOG_GROUP, logStreamName=stream, logEvents=events)


@pytest.fixture
def env() -> Iterator[MotoSageMaker]:
    with moto_sagemaker() as env:
        yield env


def test_evaluate_runs_one_evaluation_only_training_job_and_reads_its_log(env: MotoSageMaker, tmp_path: Path) -> None:
    container = EvaluationContainer(env)
    job = env.backend.submit(compile_request(example_spec(), job_name="sm-eval"))
    best = env.backend.best_model(job)
    evaluation = evaluate(job, env.backend, jobs_dir=tmp_path, poll_seconds=0.01, timeout=10)

    (request,) = container.requests
    channels = {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in request["InputDataConfig"]}
    data = "s3://my-bucket/hpo/data/tweet-eval-distilbert"
    assert channels == {"test": f"{data}/test", "model": best.location}  # train and validation are not downloaded
    hps = request["HyperParameters"]
    assert hps["sagemaker_program"] == "evaluate.py"
    assert hps["split"] == "test"
    assert hps["sagemaker_submit_directory"].endswith("/source/sourcedir.tar.gz")
    assert not {"learning_rate", "epochs", "model_name_or_path", "metric_for_best_model"} & set(hps)
    assert request["AlgorithmSpecification"]["MetricDefinitions"]  # SageMaker reads the same metric line

    assert evaluation.metrics == METRICS  # read back from the log line with the generated regexes
    assert evaluation.score == ("macro-averaged recall", 0.7123)
    assert evaluation.model == best.location
    assert evaluation.model_job == best.training_job_name
    assert evaluation.examples == 25
    assert evaluation.confusion_matrix == tuple(map(tuple, MATRIX))
    assert evaluation.validation is not None  # the trial's own validation figures, side by side
    assert set(evaluation.validation) <= set(METRICS)
    assert latest_evaluation(env.backend, job) == evaluation
    kept = env.session.client("s3").list_objects_v2(Bucket="my-bucket", Prefix=f"hpo/{job}/evaluations/")
    key = evaluation_key("test", best.location)
    assert [o["Key"] for o in kept["Contents"]] == [f"hpo/{job}/evaluations/{key}.json"]  # next to the spec

    assert env.backend.best_model(job).training_job_name == best.training_job_name  # not the evaluation job
    again = evaluate(job, env.backend, jobs_dir=tmp_path, poll_seconds=0.01, timeout=10)
    assert again == evaluation
    assert len(container.requests) == 1  # scored once per model and split


def test_hfst_evaluate_on_sagemaker_with_a_given_model(
    env: MotoSageMaker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    container = EvaluationContainer(env)
    job = env.backend.submit(compile_request(example_spec(), job_name="sm-eval-cli"))
    monkeypatch.setattr(boto3, "Session", lambda **_: env.session)  # the CLI's backend on the bridged session
    model = "s3://my-bucket/models/mine/model.tar.gz"
    args = ["evaluate", job, "--backend", "sagemaker", "--model", model, "--jobs-dir", str(tmp_path)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "Test score of s3://my-bucket/models/mine/model.tar.gz (folder): macro-averaged recall 0.7123" in (
        result.output
    )
    assert "on 25 test examples" in result.output
    (request,) = container.requests
    assert {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in request["InputDataConfig"]}[
        "model"
    ] == model
    status = CliRunner().invoke(app, ["status", job, "--backend", "sagemaker", "--jobs-dir", str(tmp_path)])
    assert status.exit_code == 0, status.output
    assert "Test score of" in status.output
    local_folder = CliRunner().invoke(app, ["evaluate", job, "--backend", "sagemaker", "--model", str(tmp_path)])
    assert local_folder.exit_code == 2
    assert "give the model as an s3://" in local_folder.output
