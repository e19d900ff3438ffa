"""Real finished local jobs (on the backend tests' fake training script) for the results tests."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from moto import mock_aws

from hf_sagemaker_tuning.backends.local import LocalBackend
from hf_sagemaker_tuning.compile import TuningJobRequest, compile_request
from hf_sagemaker_tuning.specs import parse_job_spec
from tests.backends.conftest import DECLARED, fake_spec

RunJob = Callable[..., Path]


@pytest.fixture(scope="session")
def session_channels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("prepared")
    for name in ("train", "validation"):
        (data / name).mkdir(parents=True)
    return data


def make_request(channels: Path, job_name: str = "fake-job", **overrides: Any) -> TuningJobRequest:
    overrides.setdefault("training.declared_hyperparameters", [*DECLARED, "z"])
    spec = parse_job_spec(fake_spec(**overrides))
    return compile_request(spec, target="local", job_name=job_name, data_uri=channels.as_uri())


def run_job(root: Path, channels: Path, job_name: str = "fake-job", **overrides: Any) -> Path:
    """Run a fake local tuning job to the end; return its folder."""
    request = make_request(channels, job_name, **overrides)
    LocalBackend(root, poll_seconds=0.02, grace_seconds=2).run(request)
    return root / job_name


@pytest.fixture(scope="session")
def finished_job(tmp_path_factory: pytest.TempPathFactory, session_channels: Path) -> Path:
    """20 seeded random trials (parallel 2) of x, y (log), opt and z; objective ``score``, maximize.

    The fake objective depends a lot on x and y, a little on opt, and not at all on z (the
    script reads z and ignores it).
    """
    root = tmp_path_factory.mktemp("jobs")
    space = {**fake_spec()["search_space"], "z": {"kind": "continuous", "min": 0.0, "max": 1.0}}
    overrides: dict[str, Any] = {"search_space": space, "tuning.max_jobs": 20, "tuning.max_parallel_jobs": 2}
    return run_job(root, session_channels, **overrides)


@pytest.fixture(scope="session")
def failing_job(tmp_path_factory: pytest.TempPathFactory, session_channels: Path) -> Path:
    """8 seeded random trials of opt, mode and epochs (integer); ``mode=crash`` trials fail; ``eval_loss``, minimize."""
    root = tmp_path_factory.mktemp("jobs")
    return run_job(
        root,
        session_channels,
        "failing-job",
        search_space={
            "opt": {"kind": "categorical", "values": ["a", "b", "c"]},
            "mode": {"kind": "categorical", "values": ["ok", "crash"]},
            "epochs": {"kind": "integer", "min": 1, "max": 3},
        },
        objective={
            "metric": "eval_loss",
            "direction": "minimize",
            "regex": _regex("eval_loss"),
            "extra_metrics": [{"name": "score", "regex": _regex("score")}],
        },
        tuning={"strategy": "random", "max_jobs": 8, "max_parallel_jobs": 2, "random_seed": 5},
        **{"training.hyperparameters": {"seed": 1}},
    )


def _regex(name: str) -> str:
    from hf_sagemaker_tuning.contract import metric_regex

    return metric_regex(name)


# -- SageMaker under moto, with the one call moto lacks bridged through botocore's events


def quote(value: str) -> str:
    """A categorical value as SDK v2 sends it (JSON-quoted)."""
    return json.dumps(value)


def sagemaker_twin(
    job: Path, page_size: int = 5, *, quote_categoricals: bool = True, with_logs: bool = True
) -> Iterator[tuple[boto3.Session, list[dict[str, Any]]]]:
    """Create ``job``'s request as a moto tuning job; ListTrainingJobsForHyperParameterTuningJob answers
    with ``job``'s own trials (categoricals quoted as SDK v2 does), ``page_size`` a page.

    Yields the boto3 session to pass as ``boto_session`` and the list of captured list-call bodies.
    """
    local = LocalBackend(job.parent)
    request = local.folder(job).request()
    trials = [t.to_summary() for t in local.list_trials(str(job))]
    categorical = {r.Name for r in request.HyperParameterTuningJobConfig.ParameterRanges.CategoricalParameterRanges}
    body = request.to_api()
    if quote_categoricals:
        for r in body["HyperParameterTuningJobConfig"]["ParameterRanges"]["CategoricalParameterRanges"]:
            r["Values"] = [quote(v) for v in r["Values"]]
        for t in trials:
            t["TunedHyperParameters"] = {
                k: quote(v) if k in categorical else v for k, v in t["TunedHyperParameters"].items()
            }
    calls: list[dict[str, Any]] = []

    def list_trials(params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        sent = json.loads(params["body"])
        calls.append(sent)
        assert sent["HyperParameterTuningJobName"] == body["HyperParameterTuningJobName"]
        start = int(sent.get("NextToken", "0"))
        page: dict[str, Any] = {"TrainingJobSummaries": trials[start : start + page_size]}
        if start + page_size < len(trials):
            page["NextToken"] = str(start + page_size)
        return AWSResponse("https://sagemaker.us-east-1.amazonaws.com/", 200, {}, None), page

    def strip_empty(parsed: Any, **_: Any) -> None:
        if isinstance(parsed, dict):
            for key in [k for k, v in parsed.items() if v == {}]:
                del parsed[key]
            for v in parsed.values():
                strip_empty(v)
        elif isinstance(parsed, list):
            for v in parsed:
                strip_empty(v)

    session = boto3.Session(region_name="us-east-1")
    session.events.register("before-call.sagemaker.ListTrainingJobsForHyperParameterTuningJob", list_trials)
    session.events.register("after-call.sagemaker.*", strip_empty)
    with mock_aws():
        session.client("sagemaker").create_hyper_parameter_tuning_job(**body)
        if with_logs:  # what each trial printed, in CloudWatch Logs where SageMaker puts it (moto holds it)
            logs = session.client("logs")
            group = "/aws/sagemaker/TrainingJobs"
            logs.create_log_group(logGroupName=group)
            now_ms = int(time.time() * 1000)  # CloudWatch refuses events older than 14 days
            for trial in trials:
                stream = f"{trial['TrainingJobName']}/algo-1-1700000000"
                logs.create_log_stream(logGroupName=group, logStreamName=stream)
                lines = local.logs(str(job), trial["TrainingJobName"]).splitlines()
                events = [{"timestamp": now_ms + i, "message": line} for i, line in enumerate(lines)]
                if events:  # a trial that printed nothing (a crash before its first line) has an empty stream
                    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)
        yield session, calls


@pytest.fixture
def sagemaker_job(finished_job: Path) -> Iterator[tuple[boto3.Session, list[dict[str, Any]]]]:
    """``finished_job``'s twin on (moto) SageMaker, under the same name."""
    yield from sagemaker_twin(finished_job)
