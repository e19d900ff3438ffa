"""AMT's trials, simulated in moto: what ``AmtBridge`` (``_amt.py``) answers about.

A tuning job's trials are **real moto training jobs**, created with moto's
``CreateTrainingJob`` from the tuning job's ``TrainingJobDefinition`` (static + tuned
hyperparameters, named as AMT names them: ``<tuning job>-<NNN>-<8 hex>``); each trial's metric
lines (the training package's ``hfst_metric`` format) go to moto's CloudWatch Logs, where a
client reads them. How each trial ends is the test's choice (``TrialOutcome``), or drawn from a
generator seeded by the job's name, so every run of a test sees the same values.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import random
import re
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from ..contract import format_metric_line
from ..errors import TuningError
from ._wire import epoch_seconds, prune

LOG_GROUP = "/aws/sagemaker/TrainingJobs"
#: Metric lines a completed trial writes (one per epoch).
EPOCHS = 3


@dataclass(frozen=True)
class TrialOutcome:
    """How one simulated trial ends (the fake trains nothing: you choose what it reports).

    Args:
        objective: the objective value the trial emits last; ``None``: a value drawn from a
            generator seeded by the job's name and the trial's index (the same on every run).
        status: ``Completed``, ``Failed`` (it reports no final objective) or ``Stopped``
            (stopped early; it keeps the last value it emitted).
        failure_reason: the ``FailureReason`` of a ``Failed`` trial.
    """

    objective: float | None = None
    status: Literal["Completed", "Failed", "Stopped"] = "Completed"
    failure_reason: str = "AlgorithmError: the training script exited with status 1 (simulated)"

    def __post_init__(self) -> None:
        if self.objective is not None and not math.isfinite(self.objective):
            raise TuningError(f"TrialOutcome.objective must be a finite number, not {self.objective!r}")
        if self.status not in ("Completed", "Failed", "Stopped"):
            raise TuningError(f"TrialOutcome.status must be Completed, Failed or Stopped, not {self.status!r}")


@dataclass
class _Job:
    name: str
    status: str
    objective: str
    maximize: bool
    parents: list[str] = field(default_factory=list)
    trials: list[str] = field(default_factory=list)
    #: The objective each trial emitted last, or None (a failed trial).
    finals: dict[str, float | None] = field(default_factory=dict)
    #: Every metric value each trial wrote, in order.
    written: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    outcomes: dict[str, TrialOutcome] = field(default_factory=dict)
    tuned_names: list[str] = field(default_factory=list)

    @property
    def running(self) -> bool:
        """The job is held and not yet stopped: its trials run (``InProgress``) until it is released.

        A trial of a tuning job that is still ``InProgress`` has not ended: it reads
        ``InProgress`` in the listing and in ``DescribeTrainingJob``, without a final objective.
        Once the job is stopped, each trial reads how it ended (``TrialOutcome``).
        """
        return self.status in ("InProgress", "Stopping")


class TrialSimulation:
    """The trials of the tuning jobs moto holds: launched on first sight, summarized as AMT does.

    A mixin of ``AmtBridge``, which sets the attributes declared here.
    """

    jobs: dict[str, _Job]
    held: set[str]
    plans: dict[str, list[TrialOutcome]]
    _moto: Any
    _logs: Any
    _metric_definitions: dict[str, list[dict[str, str]]]

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
        warm = described.get("WarmStartConfig") or {}
        job = _Job(
            name=name,
            status="InProgress" if held else "Completed",
            objective=objective["MetricName"],
            maximize=objective["Type"] == "Maximize",
        )
        if warm.get("WarmStartType") == "IdenticalDataAndAlgorithm":
            job.parents = [p["HyperParameterTuningJobName"] for p in warm.get("ParentHyperParameterTuningJobs", [])]
        ranges = config.get("ParameterRanges", {})
        job.tuned_names = [r["Name"] for kind in ranges.values() for r in kind]
        count = 1 if held else int(config["ResourceLimits"]["MaxNumberOfTrainingJobs"])
        plan = self.plans.get(name, [])
        for index in range(1, count + 1):
            outcome = plan[index - 1] if index <= len(plan) else TrialOutcome()
            self._launch(job, described["TrainingJobDefinition"], ranges, index, outcome)
        self.jobs[name] = job
        return job

    def _launch(
        self, job: _Job, definition: dict[str, Any], ranges: dict[str, Any], index: int, outcome: TrialOutcome
    ) -> None:
        """One trial: a moto training job (as AMT creates it) and its metric lines in CloudWatch."""
        seed = f"{job.name}-{index}"
        trial = f"{job.name}-{index:03d}-{hashlib.sha256(seed.encode()).hexdigest()[:8]}"
        rng = random.Random(seed)  # the same values on every run of a test
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
        self._moto.create_training_job(**prune(request))
        self._metric_definitions[trial] = list(algorithm.get("MetricDefinitions", []))
        last = outcome.objective if outcome.objective is not None else round(rng.uniform(0.4, 0.9), 6)
        epochs = {"Completed": EPOCHS, "Stopped": EPOCHS - 1, "Failed": 1}[outcome.status]
        job.trials.append(trial)
        job.outcomes[trial] = outcome
        job.finals[trial] = None if outcome.status == "Failed" else last
        job.written[trial] = self._write_logs(
            trial, algorithm.get("MetricDefinitions", []), job.objective, last, epochs, outcome
        )

    def _write_logs(
        self,
        trial: str,
        definitions: list[dict[str, str]],
        objective: str,
        last: float,
        epochs: int,
        outcome: TrialOutcome,
    ) -> dict[str, list[float]]:
        """The trial's output as the training container prints it, in the trial's log stream."""
        from botocore.exceptions import ClientError

        with contextlib.suppress(ClientError):  # ResourceAlreadyExistsException
            self._logs.create_log_group(logGroupName=LOG_GROUP)
        stream = f"{trial}/algo-1-{int(time.time())}"
        self._logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=stream)
        names = [d["Name"] for d in definitions]
        lines = ["Invoking script with the following command: python train.py"]
        written: dict[str, list[float]] = {name: [] for name in names}
        for epoch in range(1, epochs + 1):
            values: dict[str, float] = {
                name: round(last - 0.1 * (epochs - epoch) + 0.001 * i, 6) for i, name in enumerate(names)
            }
            values[objective] = last if epoch == epochs else round(last - 0.1 * (epochs - epoch), 6)
            line = format_metric_line(values)
            for definition in definitions:  # what AMT reads: each definition's regex on each line
                match = re.search(definition["Regex"], line)
                if match is not None:
                    with contextlib.suppress(ValueError, IndexError):
                        written[definition["Name"]].append(float(match.group(1)))
            lines += [f"epoch {epoch} done", line]
        if outcome.status == "Failed":
            lines.append(outcome.failure_reason)
        now = int(time.time() * 1000)
        events = [{"timestamp": now + i, "message": message} for i, message in enumerate(lines)]
        if events:  # CloudWatch refuses an empty batch; a trial that printed nothing keeps an empty stream
            self._logs.put_log_events(logGroupName=LOG_GROUP, logStreamName=stream, logEvents=events)
        return written

    def _summary(self, job: _Job, trial: str) -> dict[str, Any]:
        """A ``HyperParameterTrainingJobSummary``, read from moto's ``DescribeTrainingJob``."""
        described = self._moto.describe_training_job(TrainingJobName=trial)
        outcome = job.outcomes[trial]
        running = job.running
        summary: dict[str, Any] = {
            "TrainingJobName": trial,
            "TrainingJobArn": described["TrainingJobArn"],
            "TuningJobName": job.name,
            "CreationTime": epoch_seconds(described["CreationTime"]),
            "TrainingJobStatus": "InProgress" if running else outcome.status,
            "TunedHyperParameters": {k: v for k, v in described["HyperParameters"].items() if k in job.tuned_names},
        }
        for key in ("TrainingStartTime", *(() if running else ("TrainingEndTime",))):
            if key in described:
                summary[key] = epoch_seconds(described[key])
        final = job.finals[trial]
        if running:  # no final objective yet
            summary["ObjectiveStatus"] = "Pending"
        elif final is not None:
            summary["FinalHyperParameterTuningJobObjectiveMetric"] = {
                "Type": "Maximize" if job.maximize else "Minimize",
                "MetricName": job.objective,
                "Value": final,
            }
            summary["ObjectiveStatus"] = "Succeeded"
        else:
            summary["FailureReason"] = outcome.failure_reason
            summary["ObjectiveStatus"] = "Failed"
        return summary
