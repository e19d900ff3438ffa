"""What moto's SageMaker lacks for tuning jobs, answered at the HTTP level (reference/sagemaker-v3.md §3-4).

moto 5 stores a tuning job but runs no trials: it reports ``Completed`` at once, names a
``BestTrainingJob`` that does not exist, and does not implement
``ListTrainingJobsForHyperParameterTuningJob`` or ``StopHyperParameterTuningJob``.
``MotoAmt`` plays AMT's part in front of moto:

* the trials are **real moto training jobs**, created with moto's ``CreateTrainingJob`` from
  the tuning job's ``TrainingJobDefinition`` (static + tuned hyperparameters), so
  ``DescribeTrainingJob`` and ``ModelArtifacts`` come from moto; each trial's metric lines
  (the training package's ``hfst_metric`` format) are written to moto's CloudWatch Logs, where
  ``SageMakerBackend.logs`` and ``metric_history`` read them;
* only three things are bridged, on the session's ``before-send.sagemaker.<Operation>`` events,
  as ``AWSResponse`` objects whose raw body is JSON shaped like the API's documented answer
  (timestamps as epoch numbers), which botocore's own parser reads:
  the tuning job -> trials listing, ``BestTrainingJob`` (and the status counters) in moto's
  own ``DescribeHyperParameterTuningJob`` answer, and the stop state.

A job is ``Completed`` with all of ``MaxNumberOfTrainingJobs`` trials launched, unless
``hold(name)`` was called before it was submitted: then it launches one trial and stays
``InProgress`` until it is stopped (``Stopping`` on the next describe, then ``Stopped``).

botocore calls every ``before-send`` handler and uses the first answer; moto's own handler
runs after ours, so a request this bridge answers is pointed away from AWS (``_ANSWERED``),
which moto passes on.
"""

from __future__ import annotations

import contextlib
import io
import json
import random
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from hf_sagemaker_tuning.contract import format_metric_line

#: Where a request the bridge answered is pointed, so moto's own handler leaves it alone.
_ANSWERED = "https://hfst-moto-amt.invalid/"
LOG_GROUP = "/aws/sagemaker/TrainingJobs"
#: Metric lines each trial writes (one per epoch).
EPOCHS = 3


@dataclass
class _Job:
    name: str
    status: str
    objective: str
    maximize: bool
    trials: list[str] = field(default_factory=list)
    #: The objective each trial reported last (what AMT reads from the trial's logs).
    finals: dict[str, float] = field(default_factory=dict)
    #: Every metric value each trial wrote, in order.
    written: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    tuned_names: list[str] = field(default_factory=list)


def _epoch(value: Any) -> float:
    return float(value.timestamp())


def _prune(node: Any) -> Any:
    """Drop what real AWS omits: ``null`` members and empty structures (moto answers ``{}``)."""
    if isinstance(node, dict):
        pruned = {k: _prune(v) for k, v in node.items() if v is not None}
        return {k: v for k, v in pruned.items() if v != {}}
    if isinstance(node, list):
        return [_prune(v) for v in node]
    return node


def _response(request: Any, status: int, body: dict[str, Any]) -> Any:
    """An HTTP answer botocore parses itself: a urllib3 response with a JSON 1.1 body."""
    import urllib3
    from botocore.awsrequest import AWSResponse

    data = json.dumps(body).encode("utf-8")
    headers = {
        "Content-Type": "application/x-amz-json-1.1",
        "Content-Length": str(len(data)),
        "x-amzn-RequestId": str(uuid.uuid4()),
    }
    raw = urllib3.HTTPResponse(body=io.BytesIO(data), status=status, headers=headers, preload_content=False)
    url = request.url
    request.url = _ANSWERED  # moto's handler, called after ours, must not answer it too
    return AWSResponse(url, status, headers, raw)


def _error(request: Any, code: str, message: str) -> Any:
    return _response(request, 400, {"__type": code, "Message": message})


class MotoAmt:
    """AMT's side of a tuning job on top of moto (install on a session before making clients).

    Args:
        session: the ``boto3.Session`` the backend uses (inside ``moto.mock_aws()``).
        moto_session: a session without the bridge, to reach moto directly (default: a new one).
        page_size: the most trials one listing page holds (small, so callers must follow ``NextToken``).
    """

    def __init__(self, session: Any, *, moto_session: Any | None = None, page_size: int = 2) -> None:
        import boto3

        self.page_size = page_size
        self.jobs: dict[str, _Job] = {}
        self.held: set[str] = set()
        #: The CreateHyperParameterTuningJob bodies as sent on the wire, by job name.
        self.sent: dict[str, dict[str, Any]] = {}
        plain = moto_session or boto3.Session(region_name=session.region_name)
        self._moto = plain.client("sagemaker")
        self._logs = plain.client("logs")
        events = session.events
        events.register("before-send.sagemaker.CreateHyperParameterTuningJob", self._capture)
        events.register("before-send.sagemaker.DescribeHyperParameterTuningJob", self._describe)
        events.register("before-send.sagemaker.ListTrainingJobsForHyperParameterTuningJob", self._list)
        events.register("before-send.sagemaker.StopHyperParameterTuningJob", self._stop)

    def hold(self, job: str) -> None:
        """Keep ``job`` (not yet submitted) ``InProgress`` with one trial launched, until it is stopped."""
        self.held.add(job)

    # ------------------------------------------------------------------ AMT's trials, in moto
    def _job(self, name: str) -> _Job | None:
        """The bridge's view of a tuning job moto holds (its trials launched on first sight)."""
        if name in self.jobs:
            return self.jobs[name]
        from botocore.exceptions import ClientError

        try:
            described = self._moto.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
        except ClientError:
            return None
        config = described["HyperParameterTuningJobConfig"]
        objective = config["HyperParameterTuningJobObjective"]
        held = name in self.held
        job = _Job(
            name=name,
            status="InProgress" if held else "Completed",
            objective=objective["MetricName"],
            maximize=objective["Type"] == "Maximize",
        )
        ranges = config.get("ParameterRanges", {})
        job.tuned_names = [r["Name"] for kind in ranges.values() for r in kind]
        count = 1 if held else int(config["ResourceLimits"]["MaxNumberOfTrainingJobs"])
        for index in range(1, count + 1):
            self._launch(job, described["TrainingJobDefinition"], ranges, index)
        self.jobs[name] = job
        return job

    def _launch(self, job: _Job, definition: dict[str, Any], ranges: dict[str, Any], index: int) -> None:
        """One trial: a moto training job (as AMT creates it) and its metric lines in CloudWatch."""
        trial = f"{job.name}-{index:03d}-{uuid.uuid4().hex[:8]}"
        rng = random.Random(trial)
        tuned: dict[str, str] = {}
        for r in ranges.get("IntegerParameterRanges", []):
            tuned[r["Name"]] = str(rng.randint(int(r["MinValue"]), int(r["MaxValue"])))
        for r in ranges.get("ContinuousParameterRanges", []):
            tuned[r["Name"]] = repr(rng.uniform(float(r["MinValue"]), float(r["MaxValue"])))
        for r in ranges.get("CategoricalParameterRanges", []):
            tuned[r["Name"]] = rng.choice(r["Values"])
        algorithm = definition["AlgorithmSpecification"]
        request: dict[str, Any] = {
            "TrainingJobName": trial,
            "AlgorithmSpecification": {
                k: algorithm[k] for k in ("TrainingImage", "TrainingInputMode", "MetricDefinitions") if k in algorithm
            },
            "HyperParameters": {
                **definition.get("StaticHyperParameters", {}),
                **tuned,
                "_tuning_objective_metric": job.objective,
            },
        }
        for key in ("RoleArn", "InputDataConfig", "OutputDataConfig", "ResourceConfig", "StoppingCondition"):
            if key in definition:
                request[key] = definition[key]
        self._moto.create_training_job(**_prune(request))
        final = round(rng.uniform(0.4, 0.9), 6)
        job.trials.append(trial)
        job.finals[trial] = final
        job.written[trial] = self._write_logs(trial, algorithm.get("MetricDefinitions", []), job.objective, final)

    def _write_logs(
        self, trial: str, definitions: list[dict[str, str]], objective: str, final: float
    ) -> dict[str, list[float]]:
        """The trial's output as the training container prints it, in the trial's log stream."""
        import re

        from botocore.exceptions import ClientError

        with contextlib.suppress(ClientError):  # ResourceAlreadyExistsException
            self._logs.create_log_group(logGroupName=LOG_GROUP)
        stream = f"{trial}/algo-1-{int(time.time())}"
        self._logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=stream)
        names = [d["Name"] for d in definitions]
        lines = ["Invoking script with the following command: python train.py"]
        written: dict[str, list[float]] = {name: [] for name in names}
        for epoch in range(1, EPOCHS + 1):
            values: dict[str, float] = {
                name: round(final - 0.1 * (EPOCHS - epoch) + 0.001 * i, 6) for i, name in enumerate(names)
            }
            values[objective] = round(final - 0.1 * (EPOCHS - epoch), 6)
            line = format_metric_line(values)
            for definition in definitions:  # every metric must be readable by its own regex
                match = re.search(definition["Regex"], line)
                assert match is not None, (definition, line)
                written[definition["Name"]].append(float(match.group(1)))
            lines += [f"epoch {epoch} done", line]
        now = int(time.time() * 1000)
        events = [{"timestamp": now + i, "message": message} for i, message in enumerate(lines)]
        self._logs.put_log_events(logGroupName=LOG_GROUP, logStreamName=stream, logEvents=events)
        return written

    def _summary(self, job: _Job, trial: str) -> dict[str, Any]:
        """A ``HyperParameterTrainingJobSummary``, read from moto's ``DescribeTrainingJob``."""
        described = self._moto.describe_training_job(TrainingJobName=trial)
        summary: dict[str, Any] = {
            "TrainingJobName": trial,
            "TrainingJobArn": described["TrainingJobArn"],
            "TuningJobName": job.name,
            "CreationTime": _epoch(described["CreationTime"]),
            "TrainingJobStatus": described["TrainingJobStatus"],
            "TunedHyperParameters": {k: v for k, v in described["HyperParameters"].items() if k in job.tuned_names},
        }
        for key in ("TrainingStartTime", "TrainingEndTime"):
            if key in described:
                summary[key] = _epoch(described[key])
        if described["TrainingJobStatus"] == "Completed":
            summary["FinalHyperParameterTuningJobObjectiveMetric"] = {
                "Type": "Maximize" if job.maximize else "Minimize",
                "MetricName": job.objective,
                "Value": job.finals[trial],
            }
            summary["ObjectiveStatus"] = "Succeeded"
        return summary

    # ------------------------------------------------------------------ the bridged operations
    def _capture(self, request: Any, **_: Any) -> None:
        body = json.loads(request.body)
        self.sent.setdefault(body["HyperParameterTuningJobName"], body)  # moto answers the call itself

    def _describe(self, request: Any, event_name: str, **_: Any) -> Any:
        from moto.core.models import botocore_stubber

        name = json.loads(request.body)["HyperParameterTuningJobName"]
        job = self._job(name)
        if job is None:
            return None  # moto answers: ResourceNotFound
        answer = botocore_stubber(event_name=event_name, request=request)  # moto's own HTTP answer
        assert answer is not None, "moto is not active"
        body: dict[str, Any] = json.loads(answer.content)
        status = job.status
        if status == "Stopping":
            job.status = "Stopped"  # AMT takes a moment to stop the job's trials
        body["HyperParameterTuningJobStatus"] = status
        if status in ("InProgress", "Stopping"):
            body.pop("HyperParameterTuningEndTime", None)
        summaries = [self._summary(job, trial) for trial in job.trials]
        states = [s["TrainingJobStatus"] for s in summaries]
        body["TrainingJobStatusCounters"] = {
            "Completed": states.count("Completed"),
            "InProgress": states.count("InProgress"),
            "RetryableError": 0,
            "NonRetryableError": states.count("Failed"),
            "Stopped": states.count("Stopped"),
        }
        body["ObjectiveStatusCounters"] = {"Succeeded": states.count("Completed"), "Pending": 0, "Failed": 0}
        for fake in ("BestTrainingJob", "OverallBestTrainingJob", "TuningJobCompletionDetails", "ConsumedResources"):
            body.pop(fake, None)  # moto's invented values (``FakeTrainingJobName``, 123 s, ...)
        scored = [s for s in summaries if "FinalHyperParameterTuningJobObjectiveMetric" in s]
        if scored:
            sign = 1 if job.maximize else -1
            best = max(scored, key=lambda s: sign * s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"])
            body["BestTrainingJob"] = best
        return _response(request, 200, _prune(body))

    def _list(self, request: Any, **_: Any) -> Any:
        params = json.loads(request.body)
        name = params["HyperParameterTuningJobName"]
        job = self._job(name)
        if job is None:
            return _error(request, "ResourceNotFound", f"Amazon SageMaker can't find a tuning job named {name}.")
        start = int(params.get("NextToken", "0"))
        size = min(int(params.get("MaxResults", 100)), self.page_size)
        page = job.trials[start : start + size]
        body: dict[str, Any] = {"TrainingJobSummaries": [self._summary(job, trial) for trial in page]}
        if start + size < len(job.trials):
            body["NextToken"] = str(start + size)
        return _response(request, 200, body)

    def _stop(self, request: Any, **_: Any) -> Any:
        name = json.loads(request.body)["HyperParameterTuningJobName"]
        job = self._job(name)
        if job is None:
            return _error(request, "ResourceNotFound", f"Amazon SageMaker can't find a tuning job named {name}.")
        if job.status != "InProgress":
            return _error(
                request, "ValidationException", f"The tuning job {name} is {job.status}; it can't be stopped."
            )
        job.status = "Stopping"
        return _response(request, 200, {})
