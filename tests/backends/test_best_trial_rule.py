"""A tuning service whose own best pick differs from the library's rule changes nothing.

The service's ``BestTrainingJob`` may follow another rule than ``trials.best_trial`` (or, an
emulator's, name a training job that is no trial at all: bug 12, ``hfst tune -b sagemaker``
printed moto's canned ``FakeTrainingJobName``). Whatever it names, ``best_trial``,
``best_model``, ``describe``, results, status and retrain all follow the library's rule.
Self-contained: the service's pick is rewritten on the backend's own client.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from rich.console import Console

from hf_sagemaker_tuning.cli.jobs import print_result
from hf_sagemaker_tuning.compile import compile_request
from hf_sagemaker_tuning.refine import retrain
from hf_sagemaker_tuning.results import best_trial as results_best_trial
from hf_sagemaker_tuning.trials import Trial, ranked_trials
from hf_sagemaker_tuning.tuning_job import TuningJob

from .sagemaker_env import MotoSageMaker, example_spec, moto_sagemaker

pytestmark = [pytest.mark.aws, pytest.mark.timeout(120)]


@pytest.fixture
def env() -> Iterator[MotoSageMaker]:
    with moto_sagemaker() as env:
        yield env


def _service_names(env: MotoSageMaker, summary: dict[str, Any]) -> None:
    """From now on the service's DescribeHyperParameterTuningJob names ``summary`` as its best."""

    def rewrite(parsed: dict[str, Any], **_: Any) -> None:
        parsed["BestTrainingJob"] = summary

    env.backend.client.meta.events.register("after-call.sagemaker.DescribeHyperParameterTuningJob", rewrite)


def _ours_and_second(env: MotoSageMaker, job: str) -> tuple[Trial, Trial]:
    ranked = ranked_trials(env.backend.list_trials(job), maximize=True)
    assert len(ranked) >= 2 and ranked[0].objective != ranked[1].objective
    return ranked[0], ranked[1]


def test_a_service_best_that_our_rule_ranks_second_changes_nothing(env: MotoSageMaker) -> None:
    job = env.backend.submit(compile_request(example_spec(), job_name="rule-second"))
    ours, second = _ours_and_second(env, job)
    _service_names(env, second.to_summary())
    assert env.backend.best_trial(job) == ours
    assert env.backend.describe(job).get("BestTrainingJob", {}).get("TrainingJobName", ours.name) == ours.name
    assert env.backend.best_model(job).training_job_name == ours.name
    assert TuningJob(env.backend, job).best_trial()["TrainingJobName"] == ours.name
    assert results_best_trial(job, env.backend)["TrainingJobName"] == ours.name

    captured: dict[str, Any] = {}
    env.backend.client.meta.events.register(
        "provide-client-params.sagemaker.CreateTrainingJob", lambda params, **_: captured.update(params)
    )
    retrain(job, env.backend, wait=False)
    sent = captured["HyperParameters"]
    assert {k: sent[k] for k in ours.hyperparameters} == ours.hyperparameters != second.hyperparameters


def test_a_service_best_that_is_no_trial_is_never_shown(env: MotoSageMaker) -> None:
    job = env.backend.submit(compile_request(example_spec(), job_name="rule-fake"))
    ours, _ = _ours_and_second(env, job)
    canned = {  # what moto answers on its own
        "TrainingJobName": "FakeTrainingJobName",
        "TrainingJobStatus": "Completed",
        "TunedHyperParameters": {"learning_rate": "1"},
        "FinalHyperParameterTuningJobObjectiveMetric": {"MetricName": "Accuracy", "Value": 1.0},
    }
    _service_names(env, canned)
    answer = env.backend.describe(job)
    assert "FakeTrainingJobName" not in str(answer)
    console = Console(record=True, width=200)
    print_result(answer, env.backend.best_trial(job), console)  # what hfst tune and hfst status print
    shown = console.export_text()
    assert "FakeTrainingJobName" not in shown and "Accuracy" not in shown
    assert f"best trial {ours.name}: eval_macro_recall = " in shown
    assert env.backend.best_model(job).training_job_name == ours.name
