"""AMT's side of a tuning job, played in front of moto at botocore's ``before-send`` events.

moto 5 stores a tuning job but runs no trials: it reports ``Completed`` at once, names a
``BestTrainingJob`` that does not exist (``FakeTrainingJobName``), overwrites every training
job's metric definitions with its own (``test:dcg``), answers ``{}`` where AWS omits a
structure, and does not implement ``ListTrainingJobsForHyperParameterTuningJob`` or
``StopHyperParameterTuningJob``. ``AmtBridge`` plays AMT's part:

* the trials are **real moto training jobs**, created with moto's ``CreateTrainingJob`` from
  the tuning job's ``TrainingJobDefinition`` (static + tuned hyperparameters, named as AMT
  names them: ``<tuning job>-<NNN>-<8 hex>``); each trial's metric lines (the training
  package's ``hfst_metric`` format) go to moto's CloudWatch Logs, where a client reads them
  (the trials are simulated in ``_amt_trials.py``);
* the answers it gives are HTTP responses whose body is JSON in the API's documented shape
  (timestamps as epoch numbers), which botocore's own parser reads; moto's own answers to
  every other SageMaker call pass through with the empty structures and ``null`` members
  that AWS omits pruned.

``BestTrainingJob`` follows AMT's documentation, computed here from the trials' summaries:
"the training job that completed with the best current HyperParameterTuningJobObjective"
(DescribeHyperParameterTuningJob), where a trial's value is "the latest objective metric
emitted" (FinalHyperParameterTuningJobObjectiveMetric) and best means highest or lowest by the
objective's ``Type`` (HyperParameterTuningJobObjective). How AMT breaks a tie is not
documented: this bridge picks the earliest created trial.

botocore calls every ``before-send`` handler and uses the first answer; moto's own handler
runs after ours, so a request this bridge answers is pointed away from AWS (``ANSWERED``),
which moto passes on.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from ._amt_rules import best_training_job, list_page
from ._amt_trials import EPOCHS, LOG_GROUP, TrialOutcome, TrialSimulation, _Job
from ._wire import ANSWERED, error, moto_answer, prune, response

# ``TrialOutcome``, ``LOG_GROUP`` and ``EPOCHS`` live in ``_amt_trials``; named here too
# because callers import them from ``_amt``.
__all__ = ["EPOCHS", "LOG_GROUP", "AmtBridge", "TrialOutcome"]

Handler = Callable[..., Any]


class AmtBridge(TrialSimulation):
    """AMT's side of tuning jobs on top of moto (handlers for botocore's ``before-send`` events).

    Args:
        moto_session: a ``boto3.Session`` without the bridge, to reach moto directly.
        page_size: the most trials one listing page holds, whatever ``MaxResults`` asks
            (lower it to make callers follow ``NextToken``).
    """

    def __init__(self, moto_session: Any, *, page_size: int = 100) -> None:
        self.page_size = page_size
        self.jobs: dict[str, _Job] = {}
        self.held: set[str] = set()
        self.plans: dict[str, list[TrialOutcome]] = {}
        #: The CreateHyperParameterTuningJob bodies as sent on the wire, by job name.
        self.sent: dict[str, dict[str, Any]] = {}
        #: The metric definitions each CreateTrainingJob sent (moto overwrites them), by training job name.
        self._metric_definitions: dict[str, list[dict[str, str]]] = {}
        #: False once the fake is closed: handlers left on sessions that outlive it then stay silent.
        self.active = True
        #: The session without the bridge: moto's own answers, as a test may want to compare.
        self.moto_session = moto_session
        self._moto = moto_session.client("sagemaker")
        self._logs = moto_session.client("logs")

    # ------------------------------------------------------------------ what a test sets up
    def hold(self, job: str) -> None:
        """Keep ``job`` (not yet submitted) ``InProgress`` with one trial launched, until it is stopped.

        The trial reads ``InProgress`` while the job does (``_Job.running``).
        """
        self.held.add(job)

    def plan(self, job: str, outcomes: Iterable[TrialOutcome | float]) -> None:
        """How the first trials of ``job`` (not yet submitted) end, in launch order; a number is a completed trial."""
        self.plans[job] = [o if isinstance(o, TrialOutcome) else TrialOutcome(objective=float(o)) for o in outcomes]

    # ------------------------------------------------------------------ where the handlers go
    def handlers(self) -> list[tuple[str, Handler]]:
        """``(event, handler)`` pairs; the most specific events come first in botocore's calling order."""
        return [
            ("before-send.sagemaker.CreateHyperParameterTuningJob", self._capture),
            ("before-send.sagemaker.CreateTrainingJob", self._capture_training),
            ("before-send.sagemaker.DescribeHyperParameterTuningJob", self._describe),
            ("before-send.sagemaker.ListTrainingJobsForHyperParameterTuningJob", self._list),
            ("before-send.sagemaker.StopHyperParameterTuningJob", self._stop),
            ("before-send.sagemaker.DescribeTrainingJob", self._describe_training),
            ("before-send.sagemaker", self._pass_through),
        ]

    def install(self, events: Any) -> None:
        """Register the handlers on a botocore event emitter (``session.events``, ``client.meta.events``)."""
        for event, handler in self.handlers():
            events.register(event, handler)

    def uninstall(self, events: Any) -> None:
        for event, handler in self.handlers():
            events.unregister(event, handler)

    # ------------------------------------------------------------------ the bridged operations
    def _capture(self, request: Any, **_: Any) -> None:
        if self.active:
            body = json.loads(request.body)
            self.sent.setdefault(body["HyperParameterTuningJobName"], body)  # moto answers the call itself

    def _capture_training(self, request: Any, **_: Any) -> None:
        if self.active:
            body = json.loads(request.body)
            definitions = (body.get("AlgorithmSpecification") or {}).get("MetricDefinitions", [])
            self._metric_definitions.setdefault(body["TrainingJobName"], definitions)

    def _pass_through(self, request: Any, event_name: str, **_: Any) -> Any:
        """moto's answer to any other SageMaker call, with what AWS omits pruned."""
        if not self.active or request.url == ANSWERED:
            return None
        answer = moto_answer(request, event_name)
        if answer.status_code != 200 or not answer.content:
            request.url = ANSWERED
            return answer
        return response(request, 200, prune(json.loads(answer.content)))

    def _describe(self, request: Any, event_name: str, **_: Any) -> Any:
        if not self.active:
            return None
        name = json.loads(request.body)["HyperParameterTuningJobName"]
        job = self._job(name)
        if job is None:
            return None  # the pass-through gives moto's answer: ResourceNotFound
        body: dict[str, Any] = json.loads(moto_answer(request, event_name).content)
        status = job.status
        if status == "Stopping":
            job.status = "Stopped"  # AMT takes a moment to stop the job's trials
        body["HyperParameterTuningJobStatus"] = status
        if status in ("InProgress", "Stopping"):
            body.pop("HyperParameterTuningEndTime", None)
        summaries = [self._summary(job, trial) for trial in job.trials]
        states = [s["TrainingJobStatus"] for s in summaries]
        objectives = [s["ObjectiveStatus"] for s in summaries]
        body["TrainingJobStatusCounters"] = {
            "Completed": states.count("Completed"),
            "InProgress": states.count("InProgress"),
            "RetryableError": 0,
            "NonRetryableError": states.count("Failed"),
            "Stopped": states.count("Stopped"),
        }
        body["ObjectiveStatusCounters"] = {
            "Succeeded": objectives.count("Succeeded"),
            "Pending": objectives.count("Pending"),
            "Failed": objectives.count("Failed"),
        }
        for fake in ("BestTrainingJob", "OverallBestTrainingJob", "TuningJobCompletionDetails", "ConsumedResources"):
            body.pop(fake, None)  # moto's invented values (``FakeTrainingJobName``, 123 s, ...)
        best = best_training_job(summaries, job.maximize)
        if best is not None:
            body["BestTrainingJob"] = best
        if job.parents:  # IdenticalDataAndAlgorithm warm start: the best of this job and its parents
            family = list(summaries)
            for parent in job.parents:
                known = self._job(parent)
                family += [self._summary(known, trial) for trial in known.trials] if known else []
            overall = best_training_job(sorted(family, key=lambda s: s["CreationTime"]), job.maximize)
            if overall is not None:
                body["OverallBestTrainingJob"] = overall
        return response(request, 200, prune(body))

    def _list(self, request: Any, **_: Any) -> Any:
        if not self.active:
            return None
        params = json.loads(request.body)
        name = params["HyperParameterTuningJobName"]
        job = self._job(name)
        if job is None:
            return error(request, "ResourceNotFound", f"Amazon SageMaker can't find a tuning job named {name}.")
        summaries = [self._summary(job, trial) for trial in job.trials]
        body = list_page(summaries, params, self.page_size)
        return response(request, 200, body)

    def _stop(self, request: Any, **_: Any) -> Any:
        if not self.active:
            return None
        name = json.loads(request.body)["HyperParameterTuningJobName"]
        job = self._job(name)
        if job is None:
            return error(request, "ResourceNotFound", f"Amazon SageMaker can't find a tuning job named {name}.")
        if job.status != "InProgress":
            return error(request, "ValidationException", f"The tuning job {name} is {job.status}; it can't be stopped.")
        job.status = "Stopping"
        return response(request, 200, {})

    def _describe_training(self, request: Any, event_name: str, **_: Any) -> Any:
        """moto's DescribeTrainingJob with the metric definitions it was sent, and a trial's own outcome."""
        if not self.active:
            return None
        answer = moto_answer(request, event_name)
        if answer.status_code != 200:
            request.url = ANSWERED
            return answer
        body: dict[str, Any] = json.loads(answer.content)
        name = body.get("TrainingJobName", "")
        algorithm = body.get("AlgorithmSpecification") or {}
        algorithm.pop("MetricDefinitions", None)  # moto's own ``test:dcg``
        body.pop("FinalMetricDataList", None)  # moto's invented ``train:progress``
        if self._metric_definitions.get(name):
            algorithm["MetricDefinitions"] = self._metric_definitions[name]
        job = next((j for j in self.jobs.values() if name in j.outcomes), None)
        if job is not None and job.running:  # its tuning job is held: it trains until the job is stopped
            body["TrainingJobStatus"], body["SecondaryStatus"] = "InProgress", "Training"
            body.pop("TrainingEndTime", None)
        elif job is not None:
            outcome = job.outcomes[name]
            body["TrainingJobStatus"] = body["SecondaryStatus"] = outcome.status
            when = body.get("TrainingEndTime") or body.get("CreationTime")
            body["FinalMetricDataList"] = [
                {"MetricName": metric, "Value": values[-1], "Timestamp": when}
                for metric, values in job.written[name].items()
                if values
            ]
            if outcome.status == "Failed":
                body["FailureReason"] = outcome.failure_reason
                body.pop("ModelArtifacts", None)
        return response(request, 200, prune(body))
