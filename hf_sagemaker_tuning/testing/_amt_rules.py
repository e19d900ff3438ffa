"""AMT's documented rules, written here on their own (never with ``hf_sagemaker_tuning.trials``).

From the API reference: ``BestTrainingJob`` is "the training job that completed with the best
current HyperParameterTuningJobObjective" (DescribeHyperParameterTuningJob); a trial's value is
"the latest objective metric emitted" (FinalHyperParameterTuningJobObjectiveMetric); best means
"either the highest or lowest value for this metric, depending on the value you specify for the
Type parameter" (HyperParameterTuningJobObjective). How AMT breaks a tie is not documented:
the earliest created trial wins here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

#: ListTrainingJobsForHyperParameterTuningJob's documented default page size.
DEFAULT_MAX_RESULTS = 10

_SORT_KEYS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "Name": lambda s: s["TrainingJobName"],
    "CreationTime": lambda s: s["CreationTime"],
    "Status": lambda s: s["TrainingJobStatus"],
    "FinalObjectiveMetricValue": lambda s: s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"],
}


def best_training_job(summaries: Sequence[dict[str, Any]], maximize: bool) -> dict[str, Any] | None:
    """The completed trial with the best final objective by ``Type``; a tie goes to the earliest created."""
    done = [
        (position, s)
        for position, s in enumerate(summaries)
        if s["TrainingJobStatus"] == "Completed" and "FinalHyperParameterTuningJobObjectiveMetric" in s
    ]
    if not done:
        return None
    sign = -1.0 if maximize else 1.0

    def rank(item: tuple[int, dict[str, Any]]) -> tuple[float, float, int]:
        position, s = item
        return (sign * s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"], s["CreationTime"], position)

    return min(done, key=rank)[1]


def list_page(summaries: list[dict[str, Any]], params: dict[str, Any], page_size: int) -> dict[str, Any]:
    """One ListTrainingJobsForHyperParameterTuningJob answer: filtered, sorted and paged as documented.

    ``StatusEquals`` filters; ``SortBy`` defaults to ``Name`` and ``SortOrder`` to ``Ascending``;
    sorting by ``FinalObjectiveMetricValue`` leaves out trials without an objective; ``MaxResults``
    defaults to 10 (and ``page_size`` caps it, so tests can make callers follow ``NextToken``).
    """
    if "StatusEquals" in params:
        summaries = [s for s in summaries if s["TrainingJobStatus"] == params["StatusEquals"]]
    sort_by = params.get("SortBy", "Name")
    if sort_by == "FinalObjectiveMetricValue":
        summaries = [s for s in summaries if "FinalHyperParameterTuningJobObjectiveMetric" in s]
    summaries = sorted(summaries, key=_SORT_KEYS[sort_by], reverse=params.get("SortOrder", "Ascending") == "Descending")
    start = int(params.get("NextToken", "0"))
    size = min(int(params.get("MaxResults", DEFAULT_MAX_RESULTS)), page_size)
    body: dict[str, Any] = {"TrainingJobSummaries": summaries[start : start + size]}
    if start + size < len(summaries):
        body["NextToken"] = str(start + size)
    return body
